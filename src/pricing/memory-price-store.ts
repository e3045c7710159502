/**
 * A PriceStore held in memory: for tests, the Edge Function's tests, and local experiments. It
 * keeps the same rules as the real stores (one current row per key; apply closes the old row;
 * a new rate must start after the current one; a held change for the same key and rate is not
 * duplicated and a re-proposal clears its rejection; only a standing held change is approved or rejected; held-change times come out canonical), so logic tested against it behaves the same against D1 or Supabase.
 */
import type { Clock } from "../lib/clock";
import { canonicalTime } from "../lib/iso-time";
import { priceKeyId, roundRate } from "./model-key";
import type { HeldChange, NewHeldChange, NewPrice, PriceKey, PriceRow, PriceStore, RefreshRun } from "./store";

export class MemoryPriceStore implements PriceStore {
  private rows: PriceRow[] = [];
  private heldChanges: HeldChange[] = [];
  private runs: RefreshRun[] = [];
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    seed: readonly NewPrice[] = [],
  ) {
    for (const price of seed) this.open(price);
  }

  async current(): Promise<readonly PriceRow[]> {
    return this.rows.filter((r) => r.effective_to === null);
  }

  /** Every row ever written, closed ones included (tests inspect history). */
  history(): readonly PriceRow[] {
    return [...this.rows];
  }

  async apply(price: NewPrice): Promise<PriceRow> {
    return this.open(price);
  }

  async hold(proposed: NewHeldChange): Promise<void> {
    const change = { ...proposed, detected_at: canonicalTime(proposed.detected_at) };
    const key = priceKeyId(change);
    const same = (h: HeldChange) => priceKeyId(h) === key && roundRate(h.new_rate) === roundRate(change.new_rate);
    const existing = this.heldChanges.find(same);
    if (!existing) {
      this.heldChanges.push({ ...change, id: this.nextId++, superseded_at: null, rejected_at: null });
      return;
    }
    this.heldChanges = this.heldChanges.map((h) => (h === existing ? { ...h, ...change, superseded_at: null, rejected_at: null } : h));
  }

  async supersede(key: PriceKey, rate: number, at: string): Promise<void> {
    const line = priceKeyId(key);
    this.heldChanges = this.heldChanges.map((h) =>
      h.superseded_at === null && priceKeyId(h) === line && roundRate(h.new_rate) !== roundRate(rate) ? { ...h, superseded_at: canonicalTime(at) } : h,
    );
  }

  async approveHeld(id: number, effectiveFrom: string): Promise<PriceRow | null> {
    const change = this.heldChanges.find((h) => h.id === id && h.superseded_at === null && h.rejected_at === null);
    if (!change) return null;
    const { provider, model, unit, quality, size, new_rate, source, detected_at } = change;
    const row = this.open({
      provider,
      model,
      unit,
      quality,
      size,
      usd_rate: new_rate,
      source,
      fetched_at: detected_at,
      effective_from: canonicalTime(effectiveFrom),
    });
    this.heldChanges = this.heldChanges.filter((h) => h !== change);
    return row;
  }

  async rejectHeld(id: number, at: string): Promise<boolean> {
    const change = this.heldChanges.find((h) => h.id === id && h.superseded_at === null && h.rejected_at === null);
    if (!change) return false;
    this.heldChanges = this.heldChanges.map((h) => (h === change ? { ...h, rejected_at: canonicalTime(at) } : h));
    return true;
  }

  async held(): Promise<readonly HeldChange[]> {
    return [...this.heldChanges];
  }

  async recordRun(run: Omit<RefreshRun, "id">): Promise<void> {
    // Stored as JSON, like the real stores: a report that does not survive serialisation fails here too.
    this.runs.push({ ...run, report: JSON.parse(JSON.stringify(run.report)) as unknown, id: this.nextId++ });
  }

  async lastRun(): Promise<RefreshRun | null> {
    return this.runs.at(-1) ?? null;
  }

  private open(price: NewPrice): PriceRow {
    const now = new Date(this.clock.now()).toISOString();
    const effectiveFrom = price.effective_from ?? now;
    const key = priceKeyId(price);
    const previous = this.rows.find((r) => r.effective_to === null && priceKeyId(r) === key);
    if (previous && previous.effective_from >= effectiveFrom) {
      // Same rule as mai.imagen_pricing_apply: history only moves forward.
      throw new RangeError(`new rate for ${key} must start after ${previous.effective_from}, not ${effectiveFrom}`);
    }
    this.rows = this.rows.map((r) => (r.effective_to === null && priceKeyId(r) === key ? { ...r, effective_to: effectiveFrom } : r));
    const row: PriceRow = { ...price, id: this.nextId++, effective_from: effectiveFrom, effective_to: null };
    this.rows.push(row);
    return row;
  }
}
