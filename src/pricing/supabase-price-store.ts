/**
 * The PriceStore on Supabase (`mai.imagen_pricing*`, supabase/migrations) through supabase-js.
 * A price change is the SQL function mai.imagen_pricing_apply (`.rpc()`), one transaction that
 * closes the current row and opens the new one; the rest are plain PostgREST reads and inserts:
 *
 *   GET  /rest/v1/imagen_pricing?select=*&effective_to=is.null&order=id.asc
 *   POST /rest/v1/rpc/imagen_pricing_apply
 *   POST /rest/v1/imagen_pricing_held?on_conflict=provider,model,unit,quality,size,new_rate   (merge duplicates)
 *   GET  /rest/v1/imagen_pricing_held?select=*&order=id.asc
 *   POST /rest/v1/rpc/imagen_pricing_supersede_held
 *   POST /rest/v1/rpc/imagen_pricing_approve_held
 *   POST /rest/v1/rpc/imagen_pricing_reject_held
 *   POST /rest/v1/imagen_pricing_runs
 *   GET  /rest/v1/imagen_pricing_runs?select=*&order=started_at.desc,id.desc&limit=1
 *
 * @example
 *   const store = new SupabasePriceStore(createMaiClient({ url, key }));
 */
import { type Clock, systemClock } from "../lib/clock";
import { canonicalTime } from "../lib/iso-time";
import { dataApiError, type MaiClient } from "../supabase/client";
import { toHeldChange, toPriceRow, toRefreshRun } from "./price-rows";
import type { HeldChange, NewHeldChange, NewPrice, PriceKey, PriceRow, PriceStore, RefreshRun } from "./store";

/** PostgREST answers at most max_rows (1000 by default) rows per read; far above our line count. */
export class SupabasePriceStore implements PriceStore {
  constructor(
    private readonly client: MaiClient,
    private readonly clock: Clock = systemClock,
  ) {}

  async current(): Promise<readonly PriceRow[]> {
    const { data, error, status } = await this.client.from("imagen_pricing").select("*").is("effective_to", null).order("id", { ascending: true });
    if (error) throw dataApiError("Supabase price store current", error, status);
    return (data ?? []).map(toPriceRow);
  }

  async apply(price: NewPrice): Promise<PriceRow> {
    const { data, error, status } = await this.client.rpc("imagen_pricing_apply", {
      p_provider: price.provider,
      p_model: price.model,
      p_unit: price.unit,
      p_quality: price.quality,
      p_size: price.size,
      p_usd_rate: price.usd_rate,
      p_source: price.source,
      p_fetched_at: canonicalTime(price.fetched_at),
      // The Worker's clock, not the database's, so both stores date a change alike (and tests can drive it).
      p_effective_from: canonicalTime(price.effective_from ?? new Date(this.clock.now()).toISOString()),
    });
    if (error) throw dataApiError(`Supabase price store apply ${price.provider}/${price.model}`, error, status);
    return toPriceRow(data);
  }

  async hold(change: NewHeldChange): Promise<void> {
    const { error, status } = await this.client.from("imagen_pricing_held").upsert(
      { ...change, detected_at: canonicalTime(change.detected_at), superseded_at: null, rejected_at: null },
      // The table's imagen_pricing_held_once constraint (NULLS NOT DISTINCT) on exactly these columns;
      // a re-proposal updates the row (fresh detected_at, revived if it was superseded or rejected;
      // the refresh does not re-propose a standing rejected one).
      { onConflict: "provider,model,unit,quality,size,new_rate" },
    );
    if (error) throw dataApiError("Supabase price store hold", error, status);
  }

  async supersede(key: PriceKey, rate: number, at: string): Promise<void> {
    const { error, status } = await this.client.rpc("imagen_pricing_supersede_held", {
      p_provider: key.provider,
      p_model: key.model,
      p_unit: key.unit,
      p_quality: key.quality,
      p_size: key.size,
      p_rate: rate,
      p_at: canonicalTime(at),
    });
    if (error) throw dataApiError("Supabase price store supersede", error, status);
  }

  async approveHeld(id: number, effectiveFrom: string): Promise<PriceRow | null> {
    const { data, error, status } = await this.client.rpc("imagen_pricing_approve_held", {
      p_id: id,
      p_effective_from: canonicalTime(effectiveFrom),
    });
    if (error) throw dataApiError(`Supabase price store approve held change ${id}`, error, status);
    const row = (data as unknown[] | null)?.[0];
    return row ? toPriceRow(row) : null;
  }

  async rejectHeld(id: number, at: string): Promise<boolean> {
    const { data, error, status } = await this.client.rpc("imagen_pricing_reject_held", { p_id: id, p_at: canonicalTime(at) });
    if (error) throw dataApiError(`Supabase price store reject held change ${id}`, error, status);
    return data === true;
  }

  async held(): Promise<readonly HeldChange[]> {
    const { data, error, status } = await this.client.from("imagen_pricing_held").select("*").order("id", { ascending: true });
    if (error) throw dataApiError("Supabase price store held", error, status);
    return (data ?? []).map(toHeldChange);
  }

  async recordRun(run: Omit<RefreshRun, "id">): Promise<void> {
    const { error, status } = await this.client.from("imagen_pricing_runs").insert({
      started_at: canonicalTime(run.started_at),
      finished_at: canonicalTime(run.finished_at),
      ok: run.ok,
      report: run.report,
    });
    if (error) throw dataApiError("Supabase price store recordRun", error, status);
  }

  async lastRun(): Promise<RefreshRun | null> {
    const { data, error, status } = await this.client
      .from("imagen_pricing_runs")
      .select("*")
      .order("started_at", { ascending: false })
      .order("id", { ascending: false })
      .limit(1);
    if (error) throw dataApiError("Supabase price store lastRun", error, status);
    const row = data?.[0];
    return row ? toRefreshRun(row) : null;
  }
}
