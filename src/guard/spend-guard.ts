/**
 * The AttemptGuard the runner calls around every attempt, backed by the caller's Durable Object.
 * Per-request limits are checked here (no round trip); free attempts reserve nothing and are never
 * blocked by money caps; a paid attempt reserves its worst case — on a sync request from the
 * isolate's allowance block (allowance.ts), otherwise atomically in the object — and its ticket
 * settles what the provider charged (0 releases the reservation).
 *
 * @example
 *   const guard = new DurableObjectAttemptGuard({ namespace: env.GUARDS, limits, leaseSeconds: 1800 });
 *   const ticket = await guard.reserve(charge); // throws BudgetExceededError / RequestLimitError
 *   try { … } finally { await ticket.settle(chargedUsd); }
 */
import type { AttemptCharge, AttemptGuard, SpendTicket } from "../core/attempt-guard";
import { type Usd, ZERO_USD } from "../lib/money";
import { type BlockBank, type BlockRelease, SpendAllowance, SpendAllowances } from "./allowance";
import type { CallerGuard, PeriodBudget, SpendCaps } from "./caller-guard";
import { fromUnits, toUnits } from "./money-units";
import type { ImagenConfig } from "../config/schema";
import type { Logger } from "../lib/log";
import { effectiveLimits, type Limits } from "../config/guard";
import { BudgetExceededError } from "../core/spend-errors";
import { leaseSecondsFor } from "./lease";
import { requestLimitViolation } from "./request-limits";

/** Why an allowance block was refused: the period whose cap it would pass. */
interface BlockRefusal {
  readonly refusedBy: PeriodBudget;
  readonly requestedUsd: Usd;
}

export type CallerAllowances = SpendAllowances<BlockRefusal, SpendCaps>;

/** A block that keeps taking attempts for longer than this retires, returning idle room to the caller. */
const ALLOWANCE_MAX_AGE_MS = 10_000;

/** The isolate's allowances (null when `guard.allowance_usd` is 0). */
export function callerAllowances(namespace: DurableObjectNamespace<CallerGuard>, config: Pick<ImagenConfig, "backends" | "jobs" | "guard">): CallerAllowances | null {
  if (config.guard.allowance_usd === 0) return null;
  const leaseMs = leaseSecondsFor(config) * 1000;
  const settings = { blockUnits: toUnits(config.guard.allowance_usd), maxAgeMs: ALLOWANCE_MAX_AGE_MS, now: () => Date.now(), newBlockId: () => `blk_${crypto.randomUUID()}` };
  return new SpendAllowances<BlockRefusal, SpendCaps>((caller, caps) => new SpendAllowance(blockBank(namespace, caller, caps, leaseMs), settings));
}

/** The caller's Durable Object as an allowance's bank: a fresh stub per call, made by the request that sends it (no I/O object outlives its request). */
function blockBank(namespace: DurableObjectNamespace<CallerGuard>, caller: string, caps: SpendCaps, leaseMs: number): BlockBank<BlockRefusal> {
  const release = (r: BlockRelease) => ({ blockId: r.blockId, unusedUsd: fromUnits(r.unusedUnits), close: r.close });
  return {
    async open(request) {
      const reservation = { attemptId: request.blockId, requestId: request.blockId, instance: ALLOWANCE_INSTANCE, usd: fromUnits(request.minUnits), leaseMs, caps };
      const answer = await callerGuard(namespace, caller).reserveBlock(reservation, fromUnits(request.wantUnits), request.retire && release(request.retire));
      return answer.ok ? { ok: true, units: toUnits(answer.reservedUsd) } : { ok: false, refusal: { refusedBy: answer.refusedBy, requestedUsd: answer.requestedUsd } };
    },
    settle: ({ chargedUnits, ...settlement }) => callerGuard(namespace, caller).settleFromBlock({ ...settlement, chargedUsd: fromUnits(chargedUnits) }),
    retire: (r) => callerGuard(namespace, caller).retireBlock(release(r)),
  };
}

/** What the object's reservations table names an allowance block's instance. */
const ALLOWANCE_INSTANCE = "(allowance)";

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
  /** The isolate's allowances: with `afterAnswer`, paid attempts reserve from the caller's block. */
  readonly allowances?: CallerAllowances;
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
  allowances?: CallerAllowances,
): DurableObjectAttemptGuard {
  return new DurableObjectAttemptGuard({
    namespace,
    limits: effectiveLimits(config.guard, caller, keyLimits),
    leaseSeconds: leaseSecondsFor(config),
    ...(afterAnswer && { afterAnswer }),
    ...(allowances && { allowances }),
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
    const { afterAnswer, allowances } = this.options;
    if (afterAnswer && allowances) return this.reserveFromAllowance(allowances, charge, charge.worstCaseUsd);
    const answer = await stub.reserve({
      attemptId: charge.attemptId,
      requestId: charge.requestId,
      instance: charge.instance,
      usd: charge.worstCaseUsd,
      leaseMs: this.options.leaseSeconds * 1000,
      caps: spendCaps(this.options.limits),
    });
    if (!answer.ok) throw budgetExceeded(answer);
    return { reservedUsd: answer.reservedUsd, settle };
  }

  private async reserveFromAllowance(allowances: CallerAllowances, charge: AttemptCharge, worstCaseUsd: Usd): Promise<SpendTicket> {
    const allowance = allowances.for(charge.caller.name, spendCaps(this.options.limits));
    const taken = await allowance.take(charge.attemptId, toUnits(worstCaseUsd));
    if (!taken.ok) throw budgetExceeded(taken.refusal);
    const { ticket } = taken;
    return { reservedUsd: fromUnits(ticket.units), settle: (chargedUsd) => this.settleOff(ticket.settle(toUnits(chargedUsd)), charge.attemptId) };
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

function budgetExceeded({ refusedBy, requestedUsd }: BlockRefusal): BudgetExceededError {
  return new BudgetExceededError(refusedBy.period, refusedBy.capUsd!, refusedBy.spentUsd, refusedBy.reservedUsd, requestedUsd, refusedBy.resetsAt);
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
