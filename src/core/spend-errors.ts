/**
 * Why the spend guard refused an attempt or a request. Transport-neutral, and in core because the
 * runner's AttemptGuard (./attempt-guard.ts) throws them and problemFor (./problem.ts) renders them.
 */
import type { Usd } from "../lib/money";
import type { BudgetPeriod } from "../spend/periods";

/** The attempt's worst-case cost does not fit a spend cap: nothing was called, nothing spent. */
export class BudgetExceededError extends Error {
  override readonly name = "BudgetExceededError";
  constructor(
    readonly period: BudgetPeriod,
    readonly capUsd: Usd,
    readonly spentUsd: Usd,
    readonly reservedUsd: Usd,
    readonly requestedUsd: Usd,
    /** ISO 8601: when the cap starts afresh. */
    readonly resetsAt: string,
    /** ISO 8601: when held money comes back at the latest (the earliest lapse of a reservation in flight, else the reset). */
    readonly moneyBackAt: string,
    /** Seconds until `moneyBackAt`, at least 1: the answer's Retry-After. */
    readonly retryAfterS: number,
  ) {
    super(
      `the ${period} spend cap of $${capUsd} would be exceeded: $${spentUsd} spent, $${reservedUsd} reserved by requests in flight or of unknown cost, ` +
        `this attempt may cost up to $${requestedUsd}; ` +
        (moneyBackAt === resetsAt
          ? `the cap resets at ${resetsAt}`
          : `reserved money comes back by ${moneyBackAt} at the latest, and the cap resets at ${resetsAt}`),
    );
  }
}

/** The request exceeds a per-request limit of the caller (images per request, megapixels per image). */
export class RequestLimitError extends Error {
  override readonly name = "RequestLimitError";
  constructor(
    readonly field: "n" | "size",
    readonly limit: number,
    readonly actual: number,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
