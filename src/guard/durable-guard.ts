/**
 * The attempt guard backed by the caller's Durable Object (./caller-guard.ts, its spend methods
 * in src/spend/caller-spend.ts): every paid attempt — sync, async, OpenAI-compatible — reserves
 * its worst case there under its attempt id before the provider is called (one round trip; on a
 * request, the first attempt's reservation travels with the request's admission, ./admission.ts,
 * so rate limit, Idempotency-Key, reuse and reservation are one round trip together), and
 * settles there by the same id after it. On a sync request the settlement is sent before the
 * answer and finishes after it (`waitUntil`): until it lands the reservation keeps counting, and
 * if it never lands the reservation lapses at its attempt's deadline plus a grace. A job awaits
 * each settlement.
 */
import type { AttemptCharge, AttemptGuard, AttemptSettlement, SettledAttempt } from "../core/attempt-guard";
import { effectiveLimits, type GuardConfig, type Limits } from "../config/guard";
import { BudgetExceededError } from "../core/spend-errors";
import { requestLimitViolation } from "./request-limits";
import type { CallerGuard } from "./caller-guard";
import type { Admission } from "./admission";
import type { Logger } from "../lib/log";
import { type Usd, ZERO_USD } from "../lib/money";
import type { ReserveAnswer, SpendCaps } from "../spend/caller-spend";

export interface AfterAnswer {
  readonly waitUntil: (work: Promise<unknown>) => void;
  readonly log: Logger;
}

export interface DurableObjectAttemptGuardOptions {
  readonly namespace: DurableObjectNamespace<CallerGuard>;
  /** The request's effective limits (effectiveLimits() of config and API key). */
  readonly limits: Limits;
  /**
   * A request's execution context: settlements then finish after the answer is sent. Absent — an
   * async job's Durable Object — each settlement is awaited.
   */
  readonly afterAnswer?: AfterAnswer;
  /** The request's admission, not yet sent: the first attempt (paid or free) sends it, with its reservation. */
  readonly admission?: Admission;
}

export function callerGuard(namespace: DurableObjectNamespace<CallerGuard>, caller: string): DurableObjectStub<CallerGuard> {
  return namespace.get(namespace.idFromName(caller));
}

export function spendCaps(limits: Limits): SpendCaps {
  return {
    ...(limits.daily_usd !== undefined && { daily: limits.daily_usd }),
    ...(limits.monthly_usd !== undefined && { monthly: limits.monthly_usd }),
  };
}

export class DurableObjectAttemptGuard implements AttemptGuard {
  constructor(private readonly options: DurableObjectAttemptGuardOptions) {}

  async reserve(charge: AttemptCharge): Promise<Usd> {
    const violation = requestLimitViolation(charge, this.options.limits);
    if (violation) throw violation;
    const paid = charge.worstCaseUsd !== null && charge.worstCaseUsd > 0;
    const reservation = paid && {
      attemptId: charge.attemptId,
      requestId: charge.requestId,
      instance: charge.instance,
      usd: charge.worstCaseUsd!,
      lapseAfterMs: charge.lapseAfterMs,
      caps: spendCaps(this.options.limits),
    };
    const admission = this.options.admission;
    // No provider call before the request is admitted: its first attempt carries the admission, paid or free.
    if (admission?.pending) {
      const answer = await admission.admit(reservation || undefined);
      if (answer && !answer.ok) throw budgetExceeded(answer);
      return answer?.ok ? answer.reservedUsd : ZERO_USD;
    }
    if (!reservation) return ZERO_USD;
    const answer = await callerGuard(this.options.namespace, charge.caller.name).reserve(reservation);
    if (!answer.ok) throw budgetExceeded(answer);
    return answer.reservedUsd;
  }

  settle(attempt: SettledAttempt, settlement: AttemptSettlement): Promise<void> {
    // Nothing reserved and nothing charged: there is nothing in the book to settle.
    if (settlement.kind === "charged" && settlement.usd === 0 && attempt.reservedUsd === 0) return Promise.resolve();
    const sent = callerGuard(this.options.namespace, attempt.caller).settle(
      { attemptId: attempt.attemptId, requestId: attempt.requestId, instance: attempt.instance },
      settlement,
    );
    const after = this.options.afterAnswer;
    if (!after) return sent;
    after.waitUntil(
      sent.catch((error: unknown) =>
        after.log.error("settling the spend reservation failed; it lapses at its attempt's deadline plus grace", {
          attempt_id: attempt.attemptId,
          error: error instanceof Error ? error.message : String(error),
        }),
      ),
    );
    return Promise.resolve();
  }
}

function budgetExceeded(answer: Extract<ReserveAnswer, { ok: false }>): BudgetExceededError {
  const { refusedBy, requestedUsd, retryAfterS } = answer;
  return new BudgetExceededError(
    refusedBy.period,
    refusedBy.capUsd!,
    refusedBy.spentUsd,
    refusedBy.reservedUsd,
    requestedUsd,
    refusedBy.resetsAt,
    refusedBy.moneyBackAt,
    retryAfterS,
  );
}

/**
 * The guard of one request: the caller's limits from config, overridden by its API key's. The
 * async job's Durable Object has no API key at hand, so its submission must carry `keyLimits`.
 */
export function attemptGuardFor(
  namespace: DurableObjectNamespace<CallerGuard>,
  guard: GuardConfig,
  caller: string,
  keyLimits: Limits | undefined,
  afterAnswer?: AfterAnswer,
  admission?: Admission,
): DurableObjectAttemptGuard {
  return new DurableObjectAttemptGuard({
    namespace,
    limits: effectiveLimits(guard, caller, keyLimits),
    ...(afterAnswer && { afterAnswer }),
    ...(admission && { admission }),
  });
}
