/**
 * One Durable Object per caller (`GUARDS.idFromName(caller)`, SQLite storage): the single place
 * where the caller's spend is reserved and settled, its idempotency keys live and its API keys'
 * request windows are counted. A Durable Object runs one request's synchronous code at a time and
 * SQLite calls do not yield, so each check-and-write below is atomic.
 *
 * The Worker passes the caller's limits on every call (they come from config and the API key, which
 * the object does not read); the object keeps only state. Its alarm releases reservations whose
 * request died (lease run out) and forgets expired idempotency keys.
 *
 * RPC surface (this file imports no Hono):
 *   reserve(SpendReservation) → ReserveAnswer     before a paid attempt (async jobs)
 *   settle(attemptId, chargedUsd)                 after it (0 = nothing charged: a release)
 *   reserveBlock / settleFromBlock / retireBlock  an isolate's allowance (sync requests)
 *   budget(caps) → PeriodBudget[]                 GET /v1/budget, estimates
 *   claimIdempotencyKey(claim, waitMs) → KeyClaim waits while the first request runs
 *   completeIdempotencyKey / abandonIdempotencyKey
 *   hitRateLimit(keyId, limit) → RateDecision
 *   findReuse(fingerprint, holder, waitMs)        identical seeded requests within the reuse window;
 *   rememberReuse / abandonReuse / forgetReuse     an identical one in flight is waited for, not paid again
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { Usd } from "../lib/money";
import type { RateLimit } from "../config/guard";
import { fromUnits, toUnits } from "./money-units";
import type { BudgetPeriod } from "../lib/budget-periods";
import { type ClaimInput, IdempotencyBook, type KeyClaim, type StoredAnswer } from "./store/idempotency-book";
import type { RateDecision } from "./store/rate-window";
import { ReuseIndex } from "./store/reuse-index";
import type { GenerationOutcome } from "../core/pipeline";
import { RateWindows } from "./store/rate-window";
import { type PeriodCaps, type PeriodState, SpendBook } from "./store/spend-book";

export interface SpendReservation {
  readonly attemptId: string;
  readonly requestId: string;
  readonly instance: string;
  readonly usd: Usd;
  readonly leaseMs: number;
  readonly caps: SpendCaps;
}

/** An allowance block leaves service: its unused part is released; `close` = none of it is in flight, release it all. */
export interface BlockRetirement {
  readonly blockId: string;
  readonly unusedUsd: Usd;
  readonly close: boolean;
}

/** An attempt reserved from an allowance block ended; `close` = the block's last one: release the rest. */
export interface BlockAttemptSettlement {
  readonly blockId: string;
  readonly attemptId: string;
  readonly chargedUsd: Usd;
  readonly close: boolean;
}

/** USD caps per period; absent = uncapped. */
export interface SpendCaps {
  readonly daily?: number;
  readonly monthly?: number;
}

export interface PeriodBudget {
  readonly period: BudgetPeriod;
  readonly capUsd: Usd | null;
  readonly spentUsd: Usd;
  readonly reservedUsd: Usd;
  /** null when uncapped; never negative. */
  readonly remainingUsd: Usd | null;
  readonly resetsAt: string;
}

export type ReserveAnswer =
  | { readonly ok: true; readonly reservedUsd: Usd }
  | { readonly ok: false; readonly refusedBy: PeriodBudget; readonly requestedUsd: Usd };

/** While a duplicate waits for the first request, it re-reads the key at least this often. */
const RECHECK_MS = 1000;

export class CallerGuard extends DurableObject<Env> {
  private readonly spend: SpendBook;
  private readonly keys: IdempotencyBook;
  private readonly windows: RateWindows;
  private readonly reuse: ReuseIndex;
  /** Duplicates waiting for a key's first request, woken when it completes or abandons. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /**
   * Seeded requests generating right now: fingerprint → the request id. Kept in memory only: an
   * object that restarts forgets them, and a waiter gives up after its wait, so at worst an
   * identical request generates (and pays) again — never waits forever.
   */
  private readonly generating = new Map<string, string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.spend = new SpendBook(ctx.storage.sql);
    this.keys = new IdempotencyBook(ctx.storage.sql);
    this.windows = new RateWindows(ctx.storage.sql);
    this.reuse = new ReuseIndex(ctx.storage.sql);
  }

  async reserve(reservation: SpendReservation): Promise<ReserveAnswer> {
    const now = Date.now();
    const outcome = this.spend.reserve(
      { attemptId: reservation.attemptId, requestId: reservation.requestId, instance: reservation.instance, units: toUnits(reservation.usd), leaseMs: reservation.leaseMs },
      capUnits(reservation.caps),
      now,
    );
    if (!outcome.ok) return { ok: false, refusedBy: periodBudget(outcome.refusedBy), requestedUsd: fromUnits(outcome.requestedUnits) };
    await this.scheduleAlarm();
    return { ok: true, reservedUsd: fromUnits(outcome.units) };
  }

  /**
   * An isolate's allowance block: at least `reservation.usd`, up to `upToUsd`. `retire` gives
   * back the unused part of the isolate's previous block in the same step, so that money counts
   * toward this block's room.
   */
  async reserveBlock(reservation: SpendReservation, upToUsd: Usd, retire?: BlockRetirement): Promise<ReserveAnswer> {
    const now = Date.now();
    if (retire) this.spend.drawDown(retire.blockId, toUnits(retire.unusedUsd), retire.close, now);
    const outcome = this.spend.reserveUpTo(
      { attemptId: reservation.attemptId, requestId: reservation.requestId, instance: reservation.instance, units: toUnits(reservation.usd), leaseMs: reservation.leaseMs },
      toUnits(upToUsd),
      capUnits(reservation.caps),
      now,
    );
    if (!outcome.ok) return { ok: false, refusedBy: periodBudget(outcome.refusedBy), requestedUsd: fromUnits(outcome.requestedUnits) };
    await this.scheduleAlarm();
    return { ok: true, reservedUsd: fromUnits(outcome.units) };
  }

  /** An attempt spent from a block ended; false = the block is not reserved here (its isolate must drop it). */
  async settleFromBlock(settlement: BlockAttemptSettlement): Promise<boolean> {
    return this.spend.settleFromBlock(settlement.blockId, settlement.attemptId, toUnits(settlement.chargedUsd), settlement.close, Date.now());
  }

  async retireBlock(retire: BlockRetirement): Promise<void> {
    this.spend.drawDown(retire.blockId, toUnits(retire.unusedUsd), retire.close, Date.now());
  }

  async settle(attemptId: string, chargedUsd: Usd): Promise<void> {
    this.spend.settle(attemptId, toUnits(chargedUsd), Date.now());
  }

  async budget(caps: SpendCaps): Promise<PeriodBudget[]> {
    return this.spend.periods(capUnits(caps), Date.now()).map(periodBudget);
  }

  async claimIdempotencyKey(claim: ClaimInput, waitMs: number): Promise<KeyClaim> {
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      const answer = this.keys.claim(claim, Date.now());
      if (answer.kind === "claimed") await this.scheduleAlarm();
      if (answer.kind !== "running" || Date.now() >= giveUpAt) return answer;
      await this.nextChange(claim.key, Math.min(RECHECK_MS, giveUpAt - Date.now()));
    }
  }

  async completeIdempotencyKey(key: string, holder: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    this.keys.complete(key, holder, answer, Date.now(), ttlMs);
    this.wake(key);
    await this.scheduleAlarm();
  }

  async abandonIdempotencyKey(key: string, holder: string): Promise<void> {
    this.keys.abandon(key, holder);
    this.wake(key);
  }

  async hitRateLimit(keyId: string, limit: RateLimit): Promise<RateDecision> {
    return this.windows.hit(keyId, limit, Date.now());
  }

  /**
   * The stored answer of an identical request, waiting up to `waitMs` while one is generating;
   * null = none: `holder` is now the one generating, and must remember or abandon.
   */
  async findReuse(fingerprint: string, holder: string, waitMs: number): Promise<GenerationOutcome | null> {
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      const found = this.reuse.find(fingerprint, Date.now());
      if (found) return found;
      const current = this.generating.get(fingerprint);
      if (current === undefined || current === holder || Date.now() >= giveUpAt) {
        this.generating.set(fingerprint, holder);
        return null;
      }
      await this.nextChange(reuseWaitKey(fingerprint), Math.min(RECHECK_MS, giveUpAt - Date.now()));
    }
  }

  async rememberReuse(fingerprint: string, holder: string, outcome: GenerationOutcome, ttlMs: number): Promise<void> {
    this.reuse.remember(fingerprint, outcome, Date.now(), ttlMs);
    this.stopGenerating(fingerprint, holder);
  }

  /** The holder's generation failed: whoever waits for it generates instead. */
  async abandonReuse(fingerprint: string, holder: string): Promise<void> {
    this.stopGenerating(fingerprint, holder);
  }

  /** The stored answer's images are gone (deleted or expired in R2): never hand it out again. */
  async forgetReuse(fingerprint: string): Promise<void> {
    this.reuse.forget(fingerprint);
  }

  private stopGenerating(fingerprint: string, holder: string): void {
    if (this.generating.get(fingerprint) === holder) this.generating.delete(fingerprint);
    this.wake(reuseWaitKey(fingerprint));
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    this.spend.releaseExpired(now);
    this.keys.forgetExpired(now);
    await this.scheduleAlarm();
  }

  /** The alarm fires at the earliest lease end or key expiry (never later than one already set). */
  private async scheduleAlarm(): Promise<void> {
    const candidates = [this.spend.nextLeaseEnd(), this.keys.nextExpiry()].filter((t): t is number => t !== null);
    if (candidates.length === 0) return;
    const next = Math.min(...candidates);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next || current <= Date.now()) await this.ctx.storage.setAlarm(next);
  }

  private nextChange(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let wakers = this.waiting.get(key);
      if (!wakers) this.waiting.set(key, (wakers = new Set()));
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        if (wakers.size === 0) this.waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      wakers.add(done);
    });
  }

  private wake(key: string): void {
    for (const done of [...(this.waiting.get(key) ?? [])]) done();
  }
}

/** Waiters of reuse and of idempotency keys share one wake-up map; the prefix keeps them apart. */
function reuseWaitKey(fingerprint: string): string {
  return `reuse:${fingerprint}`;
}

function capUnits(caps: SpendCaps): PeriodCaps {
  return {
    ...(caps.daily !== undefined && { daily: toUnits(caps.daily) }),
    ...(caps.monthly !== undefined && { monthly: toUnits(caps.monthly) }),
  };
}

function periodBudget(state: PeriodState): PeriodBudget {
  const used = state.spentUnits + state.reservedUnits;
  return {
    period: state.period,
    capUsd: state.capUnits === undefined ? null : fromUnits(state.capUnits),
    spentUsd: fromUnits(state.spentUnits),
    reservedUsd: fromUnits(state.reservedUnits),
    remainingUsd: state.capUnits === undefined ? null : fromUnits(Math.max(0, state.capUnits - used)),
    resetsAt: state.resetsAt,
  };
}
