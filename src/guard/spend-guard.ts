/**
 * The AttemptGuard the runner calls around every attempt, backed by the caller's Durable Object.
 * Per-request limits are checked here (no round trip); free attempts reserve nothing and are never
 * blocked by money caps; a paid attempt reserves its worst case atomically in the object, and its
 * ticket settles what the provider charged (0 releases the reservation).
 *
 * @example
 *   const guard = new DurableObjectAttemptGuard({ namespace: env.GUARDS, limits, leaseSeconds: 1800 });
 *   const ticket = await guard.reserve(charge); // throws BudgetExceededError / RequestLimitError
 *   try { … } finally { await ticket.settle(chargedUsd); }
 */
import type { AttemptCharge, AttemptGuard, SpendTicket } from "../core/attempt-guard";
import { type Usd, ZERO_USD } from "../lib/money";
import type { CallerGuard, SpendCaps } from "./caller-guard";
import type { ImagenConfig } from "../config/schema";
import type { Logger } from "../lib/log";
import { effectiveLimits, type Limits } from "./config";
import { BudgetExceededError } from "./errors";
import { leaseSecondsFor } from "./lease";
import { requestLimitViolation } from "./request-limits";

export interface DurableObjectAttemptGuardOptions {
  readonly namespace: DurableObjectNamespace<CallerGuard>;
  /** The request's effective limits (effectiveLimits() of config and API key). */
  readonly limits: Limits;
  readonly leaseSeconds: number;
  /**
   * A request's execution context: settlements then finish after the answer is sent (the
   * reservation keeps counting until they land, so a cap is never overshot meanwhile). Absent —
   * an async job's Durable Object — the runner waits for each settlement.
   */
  readonly afterAnswer?: AfterAnswer;
}

export interface AfterAnswer {
  readonly waitUntil: (work: Promise<unknown>) => void;
  readonly log: Logger;
}

/**
 * The guard of one request: the caller's limits from config, overridden by its API key's. The
 * async job's Durable Object has no API key at hand, so its submission must carry `keyLimits`.
 */
export function attemptGuardFor(
  namespace: DurableObjectNamespace<CallerGuard>,
  config: Pick<ImagenConfig, "backends" | "jobs" | "guard">,
  caller: string,
  keyLimits: Limits | undefined,
  afterAnswer?: AfterAnswer,
): DurableObjectAttemptGuard {
  return new DurableObjectAttemptGuard({
    namespace,
    limits: effectiveLimits(config.guard, caller, keyLimits),
    leaseSeconds: leaseSecondsFor(config),
    ...(afterAnswer && { afterAnswer }),
  });
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

  async reserve(charge: AttemptCharge): Promise<SpendTicket> {
    const violation = requestLimitViolation(charge, this.options.limits);
    if (violation) throw violation;
    const stub = callerGuard(this.options.namespace, charge.caller.name);
    const settle = (chargedUsd: Usd) => this.settleOff(stub.settle(charge.attemptId, chargedUsd), charge.attemptId);
    if (charge.worstCaseUsd === null || charge.worstCaseUsd === 0) return settleOnlyIfCharged(settle);
    const answer = await stub.reserve({
      attemptId: charge.attemptId,
      requestId: charge.requestId,
      instance: charge.instance,
      usd: charge.worstCaseUsd,
      leaseMs: this.options.leaseSeconds * 1000,
      caps: spendCaps(this.options.limits),
    });
    if (!answer.ok) {
      const { refusedBy } = answer;
      throw new BudgetExceededError(refusedBy.period, refusedBy.capUsd!, refusedBy.spentUsd, refusedBy.reservedUsd, answer.requestedUsd, refusedBy.resetsAt);
    }
    return { reservedUsd: answer.reservedUsd, settle };
  }

  async settleLost(caller: string, attemptId: string, chargedUsd: Usd): Promise<void> {
    await callerGuard(this.options.namespace, caller).settle(attemptId, chargedUsd);
  }

  /** The settlement, started now; awaited here only when there is no request context to finish it. */
  private settleOff(settlement: Promise<void>, attemptId: string): Promise<void> {
    const after = this.options.afterAnswer;
    if (!after) return settlement;
    after.waitUntil(
      settlement.catch((error: unknown) =>
        after.log.error("settling the spend reservation failed; its lease will release it", {
          attempt_id: attemptId,
          error: error instanceof Error ? error.message : String(error),
        }),
      ),
    );
    return Promise.resolve();
  }
}

/** A free attempt reserves nothing; should it be charged after all (a price appeared), that still counts. */
function settleOnlyIfCharged(settle: (chargedUsd: Usd) => Promise<void>): SpendTicket {
  return {
    reservedUsd: ZERO_USD,
    async settle(chargedUsd: Usd) {
      if (chargedUsd > 0) await settle(chargedUsd);
    },
  };
}
