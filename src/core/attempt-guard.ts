import { type Usd, ZERO_USD } from "../lib/money";
import type { Caller } from "./request";
/** What one attempt is about to spend, priced the way its provider bills. */
export interface AttemptCharge {
  readonly requestId: string;
  readonly attemptId: string;      // the usage event id of this attempt
  readonly caller: Caller;
  readonly instance: string;       // backend instance name
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
}
export const NO_GUARD: AttemptGuard = { async reserve() { return { reservedUsd: ZERO_USD, async settle() {} }; } };
