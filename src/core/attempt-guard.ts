/**
 * The spend seam: the runner asks the guard before every paid attempt (fallback attempts too),
 * under the attempt's id, and settles by the same id once the attempt ended. The guard itself
 * lives in src/spend; NO_GUARD is the default until one is configured.
 */
import { type Usd, ZERO_USD } from "../lib/money";
import type { Caller } from "../lib/caller";
import type { Settlement } from "../spend/caller-spend";

/** What one attempt is about to spend, priced the way its provider bills. */
export interface AttemptCharge {
  readonly requestId: string;
  readonly attemptId: string; // the usage event id of this attempt
  readonly caller: Caller;
  readonly instance: string; // backend instance name
  readonly provider: string;
  readonly model: string;
  readonly width: number;
  readonly height: number;
  readonly n: number;
  /** Worst case for this attempt; null = free (mock, home box at cost 0) or unpriced. */
  readonly worstCaseUsd: Usd | null;
  /** How long the reservation counts unless settled first (src/spend/lapse.ts). */
  readonly lapseAfterMs: number;
}

/** The attempt a settlement is about. */
export interface SettledAttempt {
  readonly requestId: string;
  readonly attemptId: string;
  readonly caller: string;
  readonly instance: string;
  /** What was reserved for it (0 = nothing: a free or unpriced attempt). */
  readonly reservedUsd: Usd;
}

/** How an attempt ended: what the provider charged, or that nobody knows yet (the worst case stands). The book's own type. */
export type AttemptSettlement = Settlement;

export interface AttemptGuard {
  /** Reserve before the backend is called; throws a typed error to refuse the attempt. Returns what was reserved (0 = nothing). */
  reserve(charge: AttemptCharge): Promise<Usd>;
  /** The attempt ended. Idempotent: a repeated settlement of the same attempt changes nothing. */
  settle(attempt: SettledAttempt, settlement: AttemptSettlement): Promise<void>;
}

/** Reserves nothing, settles nothing. */
export const NO_GUARD: AttemptGuard = { reserve: async () => ZERO_USD, settle: async () => {} };
