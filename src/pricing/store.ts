/**
 * Prices with history (DESIGN: pricing). A rate is valid from `effective_from` until
 * `effective_to` (null = current); applying a change closes the old row and opens a new one, so
 * every usage row can point at the exact price it used.
 */
export type PriceUnit = "image" | "megapixel" | "second";

/** What identifies one price line: the same key can only have one current row. */
export interface PriceKey {
  readonly provider: string;
  readonly model: string;
  readonly unit: PriceUnit;
  /** Extra dimensions some providers price by (OpenAI: quality and size); null when not used. */
  readonly quality: string | null;
  readonly size: string | null;
}

export interface PriceRow extends PriceKey {
  readonly id: number;
  readonly usd_rate: number;
  /** Where the rate came from, e.g. "bundled-snapshot-2026-11-22", "portkey", "replicate-page". */
  readonly source: string;
  readonly fetched_at: string;
  readonly effective_from: string;
  readonly effective_to: string | null;
}

export type NewPrice = Omit<PriceRow, "id" | "effective_to" | "effective_from"> & { readonly effective_from?: string };

export interface HeldChange extends PriceKey {
  readonly id: number;
  readonly old_rate: number | null;
  readonly new_rate: number;
  readonly source: string;
  readonly reason: string;
  readonly detected_at: string;
}

export interface RefreshRun {
  readonly id: number;
  readonly started_at: string;
  readonly finished_at: string;
  readonly ok: boolean;
  /** Per-source outcome and counts (applied, held, unchanged, errors), JSON. */
  readonly report: unknown;
}

export interface PriceStore {
  /** Current rows (effective_to is null). */
  current(): Promise<readonly PriceRow[]>;
  /** Close the current row for the key (if any) and open a new one, atomically. Returns the new row. */
  apply(price: NewPrice): Promise<PriceRow>;
  /** Record a change held for review; a held change for the same key and rate is not duplicated. */
  hold(change: Omit<HeldChange, "id">): Promise<void>;
  held(): Promise<readonly HeldChange[]>;
  recordRun(run: Omit<RefreshRun, "id">): Promise<void>;
  lastRun(): Promise<RefreshRun | null>;
}
