/**
 * One Durable Object per caller (`GUARDS.idFromName(caller)`, SQLite storage): the single place
 * where the caller's spend is reserved and settled, its idempotency keys live and its API keys'
 * request windows are counted. A Durable Object runs one request's synchronous code at a time and
 * SQLite calls do not yield, so each check-and-write below is atomic.
 *
 * The Worker passes the caller's limits on every call (they come from config and the API key, which
 * the object does not read); the object keeps only state. Its alarm forgets expired idempotency
 * keys and old spend rows; reservations need no alarm (each lapses at its own time, src/spend/book.ts).
 *
 * RPC surface (this file imports no Hono):
 *   admit(Admit) → AdmitAnswer                    a request's one round trip before its first provider
 *                                                 call: rate-limit take, idempotency claim, reuse lookup
 *                                                 and the first attempt's reservation, in that order
 *   reserve(SpendReservation) → ReserveAnswer     before a later (fallback) paid attempt, under its attempt id
 *   settle(AttemptRef, Settlement)                after it, by the same id (idempotent)
 *   budget(caps) → PeriodBudget[]                 GET /v1/budget, estimates
 *   unknownAttempts() → UnknownAttempt[]          attempts whose cost is not known yet
 *   completeIdempotencyKey / abandonIdempotencyKey after the answer
 *   findReuse(fingerprint, holder, waitMs)        identical seeded requests within the reuse window (again,
 *   rememberReuse / abandonReuse / forgetReuse     when a stored answer's images are gone); an identical one
 *                                                 in flight is waited for, not paid again
 *
 * Time comes from `now()` (protected: the test entry's subclass injects a clock, so no test
 * sleeps for a reservation to lapse).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { RateLimit } from "../config/guard";
import { type ClaimInput, IdempotencyBook, type KeyClaim, type StoredAnswer } from "./store/idempotency-book";
import type { RateDecision } from "./store/rate-window";
import { ReuseIndex } from "../reuse/reuse-index";
import type { AdoptionStore } from "../core/adopt-images";
import type { GenerationOutcome } from "../core/pipeline";
import { RateWindows } from "./store/rate-window";
import {
  type AttemptRef,
  CallerSpend,
  type PeriodBudget,
  type ReserveAnswer,
  type Settlement,
  type SpendCaps,
  type SpendReservation,
  type UnknownAttempt,
} from "../spend/caller-spend";

export type { PeriodBudget, ReserveAnswer, SpendCaps, SpendReservation } from "../spend/caller-spend";

/** What one request asks of its caller's object before its first provider call; every part optional. */
export interface Admit {
  readonly rate?: { readonly keyId: string; readonly limit: RateLimit };
  readonly claim?: { readonly input: ClaimInput; readonly waitMs: number };
  readonly reuse?: { readonly fingerprint: string; readonly holder: string; readonly waitMs: number };
  readonly reservation?: SpendReservation;
}

/**
 * The answer to each part that was asked and reached: the first part that stops the request
 * (`stoppedBy`) is the last one answered, and nothing after it was done.
 */
export interface AdmitAnswer {
  readonly stoppedBy: "rate_limit" | "idempotency" | "reuse" | "budget" | null;
  readonly rate?: RateDecision;
  readonly claim?: KeyClaim;
  readonly reused?: GenerationOutcome;
  readonly reserve?: ReserveAnswer;
}

/** While a duplicate waits for the first request, it re-reads the key at least this often. */
const RECHECK_MS = 1000;

export class CallerGuard extends DurableObject<Env> {
  private readonly spend: CallerSpend;
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
    this.spend = new CallerSpend(ctx.storage.sql, () => this.now());
    this.keys = new IdempotencyBook(ctx.storage.sql);
    this.windows = new RateWindows(ctx.storage.sql);
    this.reuse = new ReuseIndex(ctx.storage.sql);
  }

  /** Not RPC: the object's clock (milliseconds since the epoch). */
  protected now(): number {
    return Date.now();
  }

  /**
   * Rate limit, then Idempotency-Key, then reuse, then the reservation: a 429 counts nothing
   * else, a replayed key reserves nothing, a reuse hit reserves nothing, and a 402 leaves no key
   * claimed and no identical request waiting on this one.
   */
  async admit(request: Admit): Promise<AdmitAnswer> {
    const rate = request.rate && this.windows.hit(request.rate.keyId, request.rate.limit, this.now());
    if (rate && !rate.allowed) return { stoppedBy: "rate_limit", rate };
    const claim = request.claim && (await this.claimIdempotencyKey(request.claim.input, request.claim.waitMs));
    const answered = { ...(rate && { rate }), ...(claim && { claim }) };
    if (claim && claim.kind !== "claimed") return { stoppedBy: "idempotency", ...answered };
    if (request.reuse) {
      const { fingerprint, holder, waitMs } = request.reuse;
      const reused = await this.lookUpReuse(fingerprint, holder, waitMs);
      if (reused) return { stoppedBy: "reuse", ...answered, reused };
    }
    if (!request.reservation) return { stoppedBy: null, ...answered };
    const reserve = await this.reserveSpend(request.reservation);
    if (reserve.ok) return { stoppedBy: null, ...answered, reserve };
    if (request.claim) {
      this.keys.abandon(request.claim.input.key, request.claim.input.holder);
      this.wake(request.claim.input.key);
    }
    if (request.reuse) this.stopGenerating(request.reuse.fingerprint, request.reuse.holder);
    return { stoppedBy: "budget", ...answered, reserve };
  }

  async reserve(reservation: SpendReservation): Promise<ReserveAnswer> {
    return this.reserveSpend(reservation);
  }

  private async reserveSpend(reservation: SpendReservation): Promise<ReserveAnswer> {
    const answer = this.spend.reserve(reservation);
    if (answer.ok) await this.scheduleAlarm();
    return answer;
  }

  async settle(attempt: AttemptRef, settlement: Settlement): Promise<void> {
    this.spend.settle(attempt, settlement);
  }

  async budget(caps: SpendCaps): Promise<PeriodBudget[]> {
    return this.spend.budget(caps);
  }

  /** Their hints' store inputs are what the runner settled them with (src/core/runner.ts). */
  async unknownAttempts(): Promise<UnknownAttempt<AdoptionStore>[]> {
    return this.spend.unknownAttempts<AdoptionStore>();
  }

  private async claimIdempotencyKey(claim: ClaimInput, waitMs: number): Promise<KeyClaim> {
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      const answer = this.keys.claim(claim, this.now());
      if (answer.kind === "claimed") await this.scheduleAlarm();
      if (answer.kind !== "running" || Date.now() >= giveUpAt) return answer;
      await this.nextChange(claim.key, Math.min(RECHECK_MS, giveUpAt - Date.now()));
    }
  }

  async completeIdempotencyKey(key: string, holder: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    this.keys.complete(key, holder, answer, this.now(), ttlMs);
    this.wake(key);
    await this.scheduleAlarm();
  }

  async abandonIdempotencyKey(key: string, holder: string): Promise<void> {
    this.keys.abandon(key, holder);
    this.wake(key);
  }

  /**
   * The stored answer of an identical request, waiting up to `waitMs` while one is generating;
   * null = none: `holder` is now the one generating, and must remember or abandon.
   */
  async findReuse(fingerprint: string, holder: string, waitMs: number): Promise<GenerationOutcome | null> {
    return this.lookUpReuse(fingerprint, holder, waitMs);
  }

  private async lookUpReuse(fingerprint: string, holder: string, waitMs: number): Promise<GenerationOutcome | null> {
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      const found = this.reuse.find(fingerprint, this.now());
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
    this.reuse.remember(fingerprint, outcome, this.now(), ttlMs);
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
    this.spend.prune();
    this.keys.forgetExpired(this.now());
    await this.scheduleAlarm();
  }

  /** The alarm fires at the earliest key expiry or spend row worth forgetting (never later than one already set). */
  private async scheduleAlarm(): Promise<void> {
    const candidates = [this.spend.nextPruneAt(), this.keys.nextExpiry()].filter((t): t is number => t !== null);
    if (candidates.length === 0) return;
    // Alarms run on real time; the object's clock may be a test's, so only distances count.
    const next = Date.now() + Math.max(0, Math.min(...candidates) - this.now());
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
