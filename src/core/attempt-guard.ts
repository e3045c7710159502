/**
 * The spend seam: the runner asks the guard before every attempt (fallback attempts too) and
 * tells it what the attempt cost once it ended. The guard itself lives elsewhere; NO_GUARD is
 * the default until one is configured.
 */
import { type Usd, ZERO_USD } from "../lib/money";
import type { Caller } from "../lib/caller";

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
}

export interface SpendTicket {
  readonly reservedUsd: Usd;
  /** The attempt ended; `chargedUsd` is what the provider bills for it (0 when nothing was charged). */
  settle(chargedUsd: Usd): Promise<void>;
}

export interface AttemptGuard {
  /** Reserve before the backend is called; throws a typed error to refuse the attempt. */
  reserve(charge: AttemptCharge): Promise<SpendTicket>;
  /**
   * Settle an attempt whose ticket is gone (a job resumed in a fresh instance after eviction):
   * the reservation is found by its attempt id, or, when its lease already ran out, the charge
   * is still counted.
   */
  settleLost(caller: string, attemptId: string, chargedUsd: Usd): Promise<void>;
}

const NOTHING_RESERVED: SpendTicket = { reservedUsd: ZERO_USD, settle: async () => {} };

/** Reserves nothing, settles nothing. */
export const NO_GUARD: AttemptGuard = { reserve: async () => NOTHING_RESERVED, settleLost: async () => {} };
