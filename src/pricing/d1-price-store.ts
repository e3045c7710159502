/**
 * The PriceStore on Cloudflare D1 (tables from migrations/d1), the embedded default beside the
 * D1 ledger. Applying a price is one D1 batch, so one transaction: close the current row, open
 * the new one. A start that is not after the current row's start breaks the table's
 * `imagen_pricing_period` check and the whole batch rolls back, as in mai.imagen_pricing_apply.
 *
 * @example
 *   const store = new D1PriceStore(env.LEDGER);
 *   await store.apply({ ...key, usd_rate: 0.03, source: "replicate-page", fetched_at });
 */
import { type Clock, systemClock } from "../lib/clock";
import { canonicalTime } from "../lib/iso-time";
import { toHeldChange, toPriceRow, toRefreshRun } from "./price-rows";
import type { HeldChange, NewHeldChange, NewPrice, PriceKey, PriceRow, PriceStore, RefreshRun } from "./store";

/** The row's key, matched with the same expressions as the imagen_pricing_one_current index. */
const SAME_LINE = `provider = ?1 AND model = ?2 AND unit = ?3
  AND coalesce(quality, '') = coalesce(?4, '') AND coalesce(size, '') = coalesce(?5, '')`;

/** A held change that still stands: `?1` is its id. */
const STANDING_HELD = "SELECT * FROM imagen_pricing_held WHERE id = ?1 AND superseded_at IS NULL AND rejected_at IS NULL";

export class D1PriceStore implements PriceStore {
  constructor(
    private readonly db: D1Database,
    private readonly clock: Clock = systemClock,
  ) {}

  async current(): Promise<readonly PriceRow[]> {
    const { results } = await this.run("current", () => this.db.prepare("SELECT * FROM imagen_pricing WHERE effective_to IS NULL ORDER BY id").all());
    return results.map(toPriceRow);
  }

  async apply(price: NewPrice): Promise<PriceRow> {
    const from = canonicalTime(price.effective_from ?? new Date(this.clock.now()).toISOString());
    const key = [price.provider, price.model, price.unit, price.quality, price.size] as const;
    const [, opened] = await this.run(`apply ${price.provider}/${price.model}`, () =>
      this.db.batch([
        this.db.prepare(`UPDATE imagen_pricing SET effective_to = ?6 WHERE ${SAME_LINE} AND effective_to IS NULL`).bind(...key, from),
        this.db
          .prepare(
            `INSERT INTO imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING *`,
          )
          .bind(...key, price.usd_rate, price.source, canonicalTime(price.fetched_at), from),
      ]),
    );
    const row = opened?.results[0];
    if (!row) throw new Error("D1 price store apply: the insert returned no row");
    return toPriceRow(row);
  }

  async hold(change: NewHeldChange): Promise<void> {
    await this.run("hold", () =>
      this.db
        .prepare(
          `INSERT INTO imagen_pricing_held (provider, model, unit, quality, size, old_rate, new_rate, source, reason, detected_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (provider, model, unit, coalesce(quality, ''), coalesce(size, ''), new_rate) DO UPDATE SET
             old_rate = excluded.old_rate, source = excluded.source, reason = excluded.reason,
             detected_at = excluded.detected_at, superseded_at = NULL, rejected_at = NULL`,
        )
        .bind(
          change.provider,
          change.model,
          change.unit,
          change.quality,
          change.size,
          change.old_rate,
          change.new_rate,
          change.source,
          change.reason,
          canonicalTime(change.detected_at),
        )
        .run(),
    );
  }

  async supersede(key: PriceKey, rate: number, at: string): Promise<void> {
    await this.run("supersede", () =>
      this.db
        .prepare(`UPDATE imagen_pricing_held SET superseded_at = ?7 WHERE ${SAME_LINE} AND new_rate <> ?6 AND superseded_at IS NULL`)
        .bind(key.provider, key.model, key.unit, key.quality, key.size, rate, canonicalTime(at))
        .run(),
    );
  }

  /** One batch (one transaction); every statement is conditional on the held change still standing. */
  async approveHeld(id: number, effectiveFrom: string): Promise<PriceRow | null> {
    const from = canonicalTime(effectiveFrom);
    const [, opened] = await this.run(`approve held change ${id}`, () =>
      this.db.batch([
        this.db
          .prepare(
            `UPDATE imagen_pricing SET effective_to = ?2 WHERE effective_to IS NULL
               AND (provider, model, unit, coalesce(quality, ''), coalesce(size, '')) =
                   (SELECT provider, model, unit, coalesce(quality, ''), coalesce(size, '') FROM (${STANDING_HELD}))`,
          )
          .bind(id, from),
        this.db
          .prepare(
            `INSERT INTO imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from)
             SELECT provider, model, unit, quality, size, new_rate, source, detected_at, ?2 FROM (${STANDING_HELD}) RETURNING *`,
          )
          .bind(id, from),
        this.db.prepare("DELETE FROM imagen_pricing_held WHERE id = ?1 AND superseded_at IS NULL AND rejected_at IS NULL").bind(id),
      ]),
    );
    const row = opened?.results[0];
    return row ? toPriceRow(row) : null;
  }

  async rejectHeld(id: number, at: string): Promise<boolean> {
    const row = await this.run(`reject held change ${id}`, () =>
      this.db
        .prepare("UPDATE imagen_pricing_held SET rejected_at = ?2 WHERE id = ?1 AND superseded_at IS NULL AND rejected_at IS NULL RETURNING id")
        .bind(id, canonicalTime(at))
        .first(),
    );
    return row !== null;
  }

  async held(): Promise<readonly HeldChange[]> {
    const { results } = await this.run("held", () => this.db.prepare("SELECT * FROM imagen_pricing_held ORDER BY id").all());
    return results.map(toHeldChange);
  }

  async recordRun(run: Omit<RefreshRun, "id">): Promise<void> {
    await this.run("recordRun", () =>
      this.db
        .prepare("INSERT INTO imagen_pricing_runs (started_at, finished_at, ok, report) VALUES (?, ?, ?, ?)")
        .bind(canonicalTime(run.started_at), canonicalTime(run.finished_at), run.ok ? 1 : 0, JSON.stringify(run.report))
        .run(),
    );
  }

  async lastRun(): Promise<RefreshRun | null> {
    const row = await this.run("lastRun", () => this.db.prepare("SELECT * FROM imagen_pricing_runs ORDER BY started_at DESC, id DESC LIMIT 1").first());
    return row ? toRefreshRun(row) : null;
  }

  private async run<T>(operation: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      const hint = detail.includes("imagen_pricing_period") ? " (a new rate must start after the current one)" : "";
      throw new Error(`D1 price store ${operation} failed: ${detail}${hint}`, { cause: error });
    }
  }
}
