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
  /** The latest refresh that proposed this rate (a re-proposal refreshes it; expiry counts from here). */
  readonly detected_at: string;
  /**
   * When a later refresh read another value for the same line (applied, proposed, or confirmed
   * the current rate): the proposal is outdated and cannot be approved. Null while it stands.
   */
  readonly superseded_at: string | null;
  /**
   * When an operator rejected it (POST /v1/pricing/held/{id}/reject). A rejected proposal is not
   * proposed again while the source keeps publishing the same rate; once a refresh reads another
   * rate it is superseded, and the rejected rate, if published again later, is a new proposal.
   */
  readonly rejected_at: string | null;
}

/** A change as a refresh proposes it; the store fills in id, supersession and rejection. */
export type NewHeldChange = Omit<HeldChange, "id" | "superseded_at" | "rejected_at">;

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
  /**
   * Record a change held for review. The same key and rate is held once: proposing it again
   * refreshes its `detected_at`, reason and old rate, and revives it if it was superseded (a
   * revived proposal is no longer rejected: the refresh skips a standing rejected one, held.ts).
   */
  hold(change: NewHeldChange): Promise<void>;
  /** Every held change, superseded ones included, oldest id first. */
  held(): Promise<readonly HeldChange[]>;
  /** Mark the line's standing held changes for any rate other than `rate` superseded at `at`. */
  supersede(key: PriceKey, rate: number, at: string): Promise<void>;
  /**
   * Install a held change as the line's current price from `effectiveFrom` and remove it from the
   * held list, atomically, only if it still stands (exists and is not superseded). Returns the new
   * row, or null when it did not stand. Age and current-rate checks are the caller's (approve.ts).
   */
  approveHeld(id: number, effectiveFrom: string): Promise<PriceRow | null>;
  /**
   * Mark a standing held change rejected at `at` (not approved, not proposed again for the same
   * rate). False when it did not stand (unknown id, superseded, or already rejected).
   */
  rejectHeld(id: number, at: string): Promise<boolean>;
  recordRun(run: Omit<RefreshRun, "id">): Promise<void>;
  lastRun(): Promise<RefreshRun | null>;
}
