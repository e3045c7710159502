/**
 * The one execution path of a generation: walk the backend chain, one attempt at a time, each
 * through its backend's protocol — reserve spend → submit (or the one-shot call) → wait by
 * callback or by polling on the injected clock, tolerating a provider that cannot be asked
 * until the deadline → cancel at the deadline or when nobody waits any more → outputs — with
 * exactly one usage event per attempt.
 *
 * A sync request runs the chain to its end (`run`). An async job takes one `step` per alarm and
 * stores the `ChainState` between steps (plain JSON); everything else is the same code.
 *
 *   step: no attempt ──► begin ──► submit ──► pending ──poll/callback──► succeeded
 *                          ▲                     │  deadline passed: cancel ─► timeout
 *                          └── next backend ◄── failed, on a trigger the chain lists (./fallback.ts);
 *                                               a backend cooling down is skipped (./cooldown.ts)
 */
import type { AsyncOutcome, AsyncProgress, AsyncSubmission, AttemptContext, Backend, JobProtocol } from "../backends/backend";
import { BackendError } from "../backends/errors";
import type { Logger } from "../lib/log";
import { type Usd, ZERO_USD } from "../lib/money";
import type { CostUnknownReason } from "../spend/exposure";
import { reservationLapseMs, SETTLE_MARGIN_MS } from "../spend/lapse";
import { priceAttempt, worstCaseUsd } from "../spend/worst-case";
import { adoptionStoreOf } from "./adopt-images";
import type { AttemptSettlement } from "./attempt-guard";
import { type AttemptState, attemptLog, messageOf, recordFailure, recordSuccess } from "./attempt";
import { type FailedAttempt, GenerationFailedError } from "./errors";
import type { PipelineDeps, PreparedGeneration, SuccessfulAttempt } from "./pipeline";
import { backoffDelay } from "../lib/backoff";
import { ownEntry } from "../lib/lookup";
import { coolingDownLine, DEFAULT_COOLDOWN_S } from "./cooldown";
import type { FallbackTrigger } from "../backends/fallback-triggers";
import { fallbackTrigger } from "./fallback";

/** Where a generation stands between steps. */
export interface ChainState {
  readonly attempt: AttemptState | null;
  readonly failed: readonly FailedAttempt[];
  /** Clock time (ms) the runner wants its next step; null = at once. */
  readonly nextStepAt: number | null;
}

export const CHAIN_START: ChainState = { attempt: null, failed: [], nextStepAt: null };

export type StepResult =
  | { readonly status: "running"; readonly chain: ChainState; readonly progress?: AsyncProgress }
  | { readonly status: "succeeded"; readonly success: SuccessfulAttempt; readonly failed: readonly FailedAttempt[] }
  /** `error` is a GenerationFailedError, or the spend guard's refusal. */
  | { readonly status: "failed"; readonly error: unknown; readonly failed: readonly FailedAttempt[] };

export type FinishedStep = Exclude<StepResult, { status: "running" }>;
export type FailedStep = Extract<StepResult, { status: "failed" }>;

export interface RunnerOptions {
  /** How long past an attempt's deadline a provider callback may still arrive (jobs); 0 = none. */
  readonly deadlineGraceMs: number;
  /** The caller waits on the submit call, so a provider may hold it until done (Replicate `Prefer: wait`). */
  readonly holdSubmit: boolean;
  /** Where providers may call back about an attempt (jobs; sync requests have no address to be called at). */
  readonly webhookUrl?: (backend: Backend, attemptId: string) => string;
  /** Extra context for every line the runner logs (e.g. the job id). */
  readonly log?: Logger;
  /**
   * Store the chain durably before a paid call goes out (jobs): an attempt found "sent" without
   * an answer after a restart is then never sent again, only reconciled or held as unknown.
   */
  readonly beforeSend?: (chain: ChainState) => Promise<void>;
}

/** A verified delivery from a provider, as the job's inbox holds it. */
export interface ProviderCallback {
  readonly backend: string;
  readonly payload: unknown;
  /** The attempt its URL names; absent on URLs handed out before attempts were named. */
  readonly attemptId?: string;
}

/** The caller hung up: the detail its canceled attempt is ledgered with. */
const CLIENT_GONE = "the caller went away before the images were made; the provider's work was stopped";

/** Abort a run's signal with one of these to say who stopped it; any other reason means the caller hung up. */
export class Cancellation extends Error {
  override readonly name = "Cancellation";
}

function whyCanceled(signal: AbortSignal): string {
  return signal.reason instanceof Cancellation ? signal.reason.message : CLIENT_GONE;
}

/** Providers that could not be asked are asked again after at least this long, doubling up to a minute. */
const MIN_POLL_RETRY_MS = 1000;
const MAX_POLL_RETRY_MS = 60_000;
/** Canceling at a provider must not hang on a signal that already fired. */
const CANCEL_TIMEOUT_MS = 15_000;

/** How a failed attempt settles: `reserved` false when it failed before its reservation; `unknownReason` when it may have been billed. */
interface FailureSpend {
  readonly reserved?: boolean;
  readonly unknownReason?: CostUnknownReason;
}

export class GenerationRunner {
  private readonly log: Logger;

  constructor(
    private readonly prepared: PreparedGeneration,
    private readonly deps: PipelineDeps,
    private readonly options: RunnerOptions,
  ) {
    this.log = options.log ?? deps.log;
  }

  /**
   * Run the chain to its end, sleeping between polls on the clock. When `signal` aborts, the
   * attempt in flight is canceled at its provider and ledgered as canceled; no fallback runs.
   * Throws the failure (GenerationFailedError, or the guard's refusal).
   */
  async run(signal: AbortSignal, onProgress?: (progress: AsyncProgress) => void): Promise<SuccessfulAttempt & { failed: readonly FailedAttempt[] }> {
    let chain = CHAIN_START;
    const watcher = new ProgressWatch(this, onProgress);
    try {
      for (;;) {
        // Gone between two steps: no new attempt starts for a caller nobody can answer.
        if (signal.aborted) throw (await this.cancel(chain, whyCanceled(signal))).error;
        const step = await this.step(chain, signal);
        if (step.status === "succeeded") return { ...step.success, failed: step.failed };
        if (step.status === "failed") throw step.error;
        chain = step.chain;
        if (step.progress) onProgress?.(step.progress);
        await watcher.follow(chain);
        const waitMs = (chain.nextStepAt ?? 0) - this.deps.clock.now();
        if (waitMs <= 0) continue;
        try {
          await this.deps.clock.sleep(waitMs, signal);
        } catch (error) {
          if (!signal.aborted) throw error;
          throw (await this.cancel(chain, whyCanceled(signal))).error;
        }
      }
    } finally {
      watcher.stop();
    }
  }

  /** One step: start the next attempt, hand it to its provider, or look at it again. */
  async step(chain: ChainState, signal: AbortSignal): Promise<StepResult> {
    const attempt = chain.attempt;
    if (!attempt) return this.begin(chain);
    if (!attempt.submission) return this.submit(chain, attempt, signal);
    return this.poll(chain, attempt, signal);
  }

  /**
   * A verified provider callback; null when it is not about the attempt in flight. One that came
   * to the URL of an attempt whose create answer was lost adopts the work it names.
   */
  async callback(chain: ChainState, delivery: ProviderCallback, signal: AbortSignal): Promise<StepResult | null> {
    const sent = chain.attempt;
    if (!sent || sent.backend !== delivery.backend || (delivery.attemptId !== undefined && delivery.attemptId !== sent.eventId)) return null;
    const protocol = this.deps.backend(sent.backend).protocol;
    if (protocol.kind !== "job" || !protocol.fromCallback) return null;
    let attempt = sent;
    if (!attempt.submission) {
      if (attempt.sentAt === undefined || delivery.attemptId === undefined || !protocol.adoptFromCallback) return null;
      const deadline = (attempt.lostUntil ?? this.deps.clock.now()) - this.options.deadlineGraceMs;
      const submission = protocol.adoptFromCallback(delivery.payload, this.prepared.plan.spec, deadline);
      if (!submission) return null;
      attempt = { ...attempt, submission };
      this.attemptLog(attempt).info("provider's work adopted from its webhook after the create answer was lost", { external_id: submission.externalId });
    }
    const outcome = await protocol.fromCallback(delivery.payload, attempt.submission!, this.context(attempt, signal));
    if (!outcome) return null;
    if (outcome.state === "pending") {
      if (!sent.submission) return this.pending(chain, { ...attempt, pollErrors: 0 }, outcome.progress);
      // Polling is only the fallback while callbacks come: the next poll stays where it was.
      return { status: "running", chain: { ...chain, attempt: { ...attempt, pollErrors: 0 } }, ...(outcome.progress && { progress: outcome.progress }) };
    }
    return this.settle(chain, attempt, outcome, signal);
  }

  /**
   * Nobody waits any more (the client hung up, the job's owner canceled): stop the provider's
   * work, ledger the attempt as canceled with its latency, and end without falling back.
   */
  async cancel(chain: ChainState, reason: string): Promise<FailedStep> {
    const attempt = chain.attempt;
    // Sent, and no answer yet that names the work: it may have been billed all the same.
    const lost = attempt && !attempt.submission && attempt.sentAt !== undefined;
    const error = new BackendError("canceled", reason, attempt?.submission ? { externalId: attempt.submission.externalId } : lost ? { ambiguous: true } : {});
    if (!attempt) return { status: "failed", error: new GenerationFailedError(error, chain.failed), failed: chain.failed };
    await this.cancelAtProvider(attempt);
    return this.end(chain, attempt, error);
  }

  /** Live progress of the attempt in flight, when its provider offers a feed; returns the stop function. */
  async watch(attempt: AttemptState, signal: AbortSignal, onProgress: (progress: AsyncProgress) => void): Promise<(() => void) | null> {
    const protocol = this.deps.backend(attempt.backend).protocol;
    if (protocol.kind !== "job" || !protocol.watch || !attempt.submission) return null;
    try {
      return await protocol.watch(attempt.submission, this.context(attempt, signal), onProgress);
    } catch (error) {
      this.attemptLog(attempt).warn("progress feed unavailable", { error: messageOf(error) });
      return null;
    }
  }

  // ---- the steps ------------------------------------------------------------------------------

  private begin(chain: ChainState): StepResult {
    const now = this.deps.clock.now();
    const { chain: backends } = this.prepared.plan;
    let failed = chain.failed;
    // A backend cooling down is skipped (no attempt, no usage row) while a later one remains —
    // but only on a chain that would move on after it failed as unreachable: skipping is that
    // same fallback, taken early, and pays the next backend just the same.
    while (failed.length < backends.length - 1) {
      const cooling = this.coolingDown(backends[failed.length]!, now);
      if (!cooling) break;
      if (!this.prepared.plan.fallbackOn.includes("unreachable")) return this.refuseWhileCooling(cooling, failed, now);
      this.log.info("backend skipped", { request_id: this.prepared.requestId, backend: cooling.skipped.backend, detail: cooling.skipped.detail });
      failed = [...failed, cooling.skipped];
    }
    const index = failed.length;
    const backend = backends[index];
    if (backend === undefined) throw new Error(`request ${this.prepared.requestId} has no backend left to try`);
    const attempt: AttemptState = { index, backend, eventId: this.deps.ids.newId(), startedAt: now, submission: null, pollErrors: 0 };
    return { status: "running", chain: { ...chain, failed, attempt, nextStepAt: now } };
  }

  /** The skipped "attempt" when `backend` cools down after failing as unreachable; null when it may be tried. */
  private coolingDown(backend: string, now: number): { readonly skipped: FailedAttempt; readonly until: number } | null {
    const admission = this.deps.cooldowns.admit(backend, now, this.cooldownMs(backend));
    if (admission.admitted) return null;
    return {
      skipped: { backend, kind: "skipped", detail: coolingDownLine(admission.until, admission.reason), latency_ms: 0, cost_exposure: "none" },
      until: admission.until,
    };
  }

  /**
   * A chain that does not fall back on `unreachable` meets a backend cooling down: the request
   * fails as that backend's attempt would have (502, unreachable), without an attempt, and says
   * when asking again can help.
   */
  private refuseWhileCooling(cooling: { readonly skipped: FailedAttempt; readonly until: number }, failed: readonly FailedAttempt[], now: number): FailedStep {
    const { backend, detail } = cooling.skipped;
    const error = new BackendError(
      "unavailable",
      `${backend} is ${detail.replace(/^skipped: /, "")}; this chain does not fall back on unreachable, so no other backend was tried`,
      { retryAfterMs: Math.max(0, cooling.until - now) },
    );
    const attempts = [...failed, cooling.skipped];
    this.log.info("backend cooling down; chain does not fall back on unreachable", { request_id: this.prepared.requestId, backend, detail });
    return { status: "failed", error: new GenerationFailedError(error, attempts), failed: attempts };
  }

  private cooldownMs(backend: string): number {
    return (ownEntry(this.deps.config.backends, backend)?.cooldown_s ?? DEFAULT_COOLDOWN_S) * 1000;
  }

  private async submit(chain: ChainState, unreserved: AttemptState, signal: AbortSignal): Promise<StepResult> {
    // Its create's answer was lost: wait for the provider's webhook until the deadline, then it is unknown.
    if (unreserved.lostUntil !== undefined) return this.waitForLost(chain, unreserved, signal);
    // Sent before a restart, its answer never stored: it may have been billed; never send it again.
    if (unreserved.sentAt !== undefined) return this.lostAfterRestart(chain, unreserved);
    const backend = this.deps.backend(unreserved.backend);
    const { spec } = this.prepared.plan;
    let attempt: AttemptState;
    try {
      backend.checkSpec?.(spec);
    } catch (error) {
      // A spec the instance can never make is refused before any money is held for it.
      return this.fail(chain, unreserved, error, { reserved: false });
    }
    try {
      const reserved = await this.reserve(backend, unreserved);
      attempt = { ...unreserved, reservedUsd: reserved.usd, ...(reserved.paid && { sentAt: this.deps.clock.now() }) };
    } catch (refusal) {
      // Nothing was attempted, so nothing is ledgered; the refusal is the answer.
      this.attemptLog(unreserved).warn("attempt refused by the spend guard", { error: messageOf(refusal) });
      return { status: "failed", error: refusal, failed: chain.failed };
    }
    if (attempt.sentAt !== undefined && this.options.beforeSend) await this.options.beforeSend({ ...chain, attempt });
    const ctx = this.context(attempt, signal);
    const webhookUrl = this.options.webhookUrl?.(backend, attempt.eventId);
    try {
      const protocol = backend.protocol;
      if (protocol.kind === "one-shot") return await this.succeed(attempt, backend, await protocol.generate(spec, ctx), chain.failed);
      const submitted = await protocol.submit(spec, ctx, { hold: this.options.holdSubmit, ...(webhookUrl !== undefined && { webhookUrl }) });
      const accepted: AttemptState = { ...attempt, submission: submitted.submission };
      this.attemptLog(accepted).info("provider accepted the attempt", { external_id: submitted.submission.externalId });
      if (submitted.outcome) return await this.settle(chain, accepted, submitted.outcome, signal);
      return this.pending(chain, accepted);
    } catch (error) {
      // A paid call that was already out when the caller hung up may still have been billed.
      const sent = (error instanceof BackendError && error.extra.ambiguous) || attempt.sentAt !== undefined ? { ambiguous: true } : {};
      if (signal.aborted) return this.end(chain, attempt, new BackendError("canceled", whyCanceled(signal), sent));
      if (this.mayStillCallBack(backend, webhookUrl, error)) {
        // The webhook URL names this attempt: its delivery can still bring the work (`callback`).
        const lostUntil = this.deps.clock.now() + reservationLapseMs(this.deps.config, backend.name, this.options.deadlineGraceMs) - SETTLE_MARGIN_MS;
        this.attemptLog(attempt).warn("create answer lost; waiting for the provider's webhook", { error: messageOf(error) });
        return { status: "running", chain: { ...chain, attempt: { ...attempt, lostUntil, lostDetail: messageOf(error) }, nextStepAt: lostUntil } };
      }
      return this.fail(chain, attempt, error);
    }
  }

  /** A job's create whose answer was lost, when the provider was given a webhook URL that names the attempt. */
  private mayStillCallBack(backend: Backend, webhookUrl: string | undefined, error: unknown): boolean {
    return (
      webhookUrl !== undefined &&
      backend.protocol.kind === "job" &&
      backend.protocol.adoptFromCallback !== undefined &&
      error instanceof BackendError &&
      error.extra.ambiguous === true
    );
  }

  /**
   * Waiting for a lost create's webhook until `lostUntil`; then reconciled at the provider: the
   * work it lists is adopted, none listed by then means the create never took (nothing spent),
   * and a provider that cannot be asked leaves it unknown (held at its worst case, never sent again).
   */
  private async waitForLost(chain: ChainState, attempt: AttemptState, signal: AbortSignal): Promise<StepResult> {
    const lostUntil = attempt.lostUntil!;
    if (this.deps.clock.now() < lostUntil) return { status: "running", chain: { ...chain, attempt, nextStepAt: lostUntil } };
    const protocol = this.deps.backend(attempt.backend).protocol;
    const lostDetail = attempt.lostDetail ?? "the create's answer was lost";
    const reason = attempt.lostReason ?? "ambiguous_create";
    if (protocol.kind === "job" && protocol.findSent) {
      let found: AsyncSubmission | null;
      try {
        found = await protocol.findSent(this.prepared.plan.spec, attempt.sentAt!, lostUntil - this.options.deadlineGraceMs, this.context(attempt, signal));
      } catch (error) {
        return this.fail(
          chain,
          attempt,
          new BackendError("unavailable", `${lostDetail}; looking it up failed too (${messageOf(error)})`, { ambiguous: true }),
          { unknownReason: reason },
        );
      }
      if (found) {
        this.attemptLog(attempt).info("provider's work found and adopted after its create answer was lost", { external_id: found.externalId });
        return this.poll(chain, { ...attempt, submission: found }, signal);
      }
      return this.fail(
        chain,
        attempt,
        new BackendError("unavailable", `${lostDetail}; by its deadline the provider lists no work for it, so the create never took and nothing was billed`),
      );
    }
    return this.fail(chain, attempt, new BackendError("unavailable", `${lostDetail}; no webhook for it came before its deadline`, { ambiguous: true }), {
      unknownReason: reason,
    });
  }

  /**
   * A paid call that went out before a restart and whose answer was never stored. A provider that
   * keeps jobs may still call back or list it: wait and reconcile as for a lost answer. A one-shot
   * call cannot be looked up: unknown at once, held at its worst case.
   */
  private lostAfterRestart(chain: ChainState, attempt: AttemptState): Promise<StepResult> | StepResult {
    const protocol = this.deps.backend(attempt.backend).protocol;
    if (protocol.kind === "job" && (protocol.findSent || protocol.adoptFromCallback)) {
      const lostUntil = attempt.sentAt! + reservationLapseMs(this.deps.config, attempt.backend, this.options.deadlineGraceMs) - SETTLE_MARGIN_MS;
      const lost = {
        ...attempt,
        lostUntil,
        lostDetail: "the job restarted after the create went out and before its answer was stored",
        lostReason: "restarted_after_send" as const,
      };
      return this.waitForLost(chain, lost, new AbortController().signal);
    }
    const error = new BackendError(
      "unavailable",
      `the call to ${attempt.backend} went out before a restart and its answer was lost; it may have been billed, so it was not sent again`,
      { ambiguous: true },
    );
    return this.fail(chain, attempt, error, { unknownReason: "restarted_after_send" });
  }

  private async poll(chain: ChainState, attempt: AttemptState, signal: AbortSignal): Promise<StepResult> {
    const protocol = this.jobProtocol(attempt);
    let outcome: AsyncOutcome;
    try {
      outcome = await protocol.poll(attempt.submission!, this.context(attempt, signal));
    } catch (error) {
      if (signal.aborted) return this.cancel(chain, whyCanceled(signal));
      return this.pollFailed(chain, attempt, error);
    }
    return this.settle(chain, attempt, outcome, signal);
  }

  /** What the provider said, applied: success, failure, or wait on (until the deadline). */
  private async settle(chain: ChainState, attempt: AttemptState, outcome: AsyncOutcome, signal: AbortSignal): Promise<StepResult> {
    const backend = this.deps.backend(attempt.backend);
    switch (outcome.state) {
      case "succeeded":
        return this.succeed(attempt, backend, outcome.result, chain.failed);
      case "failed":
        if (signal.aborted) return this.cancel(chain, whyCanceled(signal));
        return this.fail(chain, attempt, outcome.error);
      case "pending":
        if (this.deps.clock.now() >= this.giveUpAt(attempt)) return this.timeOut(chain, attempt, whereItStood(outcome.progress));
        return this.pending(chain, { ...attempt, pollErrors: 0 }, outcome.progress);
    }
  }

  /** The provider could not be asked: ask again later (with backoff) until the deadline has passed. */
  private async pollFailed(chain: ChainState, attempt: AttemptState, error: unknown): Promise<StepResult> {
    const pollErrors = attempt.pollErrors + 1;
    const now = this.deps.clock.now();
    this.attemptLog(attempt).warn("provider could not be asked", { error: messageOf(error), poll_errors: pollErrors });
    const giveUpAt = this.giveUpAt(attempt);
    if (now >= giveUpAt) return this.timeOut(chain, attempt, `it could not be asked: ${messageOf(error)}`);
    const backoff = backoffDelay(pollErrors, Math.max(attempt.submission!.pollAfterMs, MIN_POLL_RETRY_MS), MAX_POLL_RETRY_MS);
    return { status: "running", chain: { ...chain, attempt: { ...attempt, pollErrors }, nextStepAt: Math.min(now + backoff, giveUpAt) } };
  }

  private pending(chain: ChainState, attempt: AttemptState, progress?: AsyncProgress): StepResult {
    const submission = attempt.submission!;
    const now = this.deps.clock.now();
    const giveUpAt = this.giveUpAt(attempt);
    // With callbacks coming, polling is only the fallback: once, when they should all have arrived.
    const nextStepAt = submission.callbacks ? Math.max(now + submission.pollAfterMs, giveUpAt) : Math.min(now + submission.pollAfterMs, giveUpAt);
    return { status: "running", chain: { ...chain, attempt, nextStepAt }, ...(progress && { progress }) };
  }

  /** Past the deadline: stop the provider's work and fail the attempt as `timeout`. */
  private async timeOut(chain: ChainState, attempt: AttemptState, why: string): Promise<StepResult> {
    await this.cancelAtProvider(attempt);
    const latency = this.deps.clock.now() - attempt.startedAt;
    const externalId = attempt.submission?.externalId;
    const error = new BackendError(
      "timeout",
      `${attempt.backend} did not finish before its deadline (${why}); canceled ${externalId ?? "its work"} after ${latency} ms`,
      externalId !== undefined ? { externalId } : {},
    );
    return this.fail(chain, attempt, error);
  }

  private async succeed(
    attempt: AttemptState,
    backend: Backend,
    result: Parameters<typeof recordSuccess>[3],
    failed: readonly FailedAttempt[],
  ): Promise<FinishedStep> {
    const success = await recordSuccess(this.prepared, backend, attempt, result, this.deps, this.attemptLog(attempt), attempt.reservedUsd ?? null);
    this.deps.cooldowns.reached(backend.name);
    // An unpriced success is charged what was reserved for it: the guard's worst case stands.
    await this.settleSpend(attempt, { kind: "charged", usd: success.cost?.usd ?? attempt.reservedUsd ?? ZERO_USD });
    return { status: "succeeded", success, failed };
  }

  /** A failed attempt: its usage event; the next backend gets a turn unless none may. */
  private async fail(chain: ChainState, attempt: AttemptState, error: unknown, spend: FailureSpend = {}): Promise<StepResult> {
    const recorded = await this.recordFailure(chain, attempt, error, spend);
    const trigger = fallbackTrigger(recorded.error, attempt.submission !== null);
    this.noteReachability(attempt, trigger, recorded.error);
    if (trigger !== null && this.prepared.plan.fallbackOn.includes(trigger) && recorded.failed.length < this.prepared.plan.chain.length) {
      return { status: "running", chain: { attempt: null, failed: recorded.failed, nextStepAt: this.deps.clock.now() } };
    }
    return {
      status: "failed",
      error: new GenerationFailedError(this.withCooldownHint(attempt, trigger, recorded.error), recorded.failed),
      failed: recorded.failed,
    };
  }

  /** An unreachable backend cools down; any other answer shows it is there. */
  private noteReachability(attempt: AttemptState, trigger: FallbackTrigger | null, error: BackendError): void {
    if (trigger === "unreachable") {
      this.deps.cooldowns.unreachable(
        attempt.backend,
        this.deps.clock.now(),
        this.cooldownMs(attempt.backend),
        `${attempt.backend} was unreachable: ${error.detail}`,
      );
    } else if (error.kind !== "canceled") {
      this.deps.cooldowns.reached(attempt.backend);
    }
  }

  /**
   * An unreachable backend that ends its chain now cools down, and the next requests fail at once
   * without trying it (refuseWhileCooling): the first answer already says when to ask again.
   */
  private withCooldownHint(attempt: AttemptState, trigger: FallbackTrigger | null, error: BackendError): BackendError {
    const cooldownMs = this.cooldownMs(attempt.backend);
    const skippable = attempt.index < this.prepared.plan.chain.length - 1;
    if (trigger !== "unreachable" || cooldownMs <= 0 || !skippable || error.extra.retryAfterMs !== undefined) return error;
    return new BackendError(error.kind, error.detail, { ...error.extra, retryAfterMs: cooldownMs });
  }

  /** A canceled attempt: its usage event, and the end of the chain. */
  private async end(chain: ChainState, attempt: AttemptState, error: BackendError): Promise<FailedStep> {
    const recorded = await this.recordFailure(chain, attempt, error);
    return { status: "failed", error: new GenerationFailedError(recorded.error, recorded.failed), failed: recorded.failed };
  }

  private async recordFailure(
    chain: ChainState,
    attempt: AttemptState,
    error: unknown,
    { reserved = true, unknownReason = "ambiguous_create" }: FailureSpend = {},
  ) {
    const backend = this.deps.backend(attempt.backend);
    const recorded = await recordFailure(this.prepared, backend, attempt, error, this.deps, this.attemptLog(attempt), unknownReason);
    // What a failed attempt still costs: every provider we speak bills per produced image
    // (Replicate's FLUX models, Together, OpenAI) or not at all (ComfyUI at home), so nothing —
    // unless the images were made and then lost (`paid_output_lost`), which is billed. One that
    // may have been billed without anyone knowing keeps its worst case until reconciled. An
    // attempt refused before its reservation has nothing to settle.
    if (!reserved) return { error: recorded.error, failed: [...chain.failed, recorded.failed] };
    // An unknown one keeps what the cron's reconciliation needs to look it up and correct its row.
    const reconcile = {
      spec: this.prepared.plan.spec,
      sentAt: attempt.sentAt ?? attempt.startedAt,
      event: recorded.event,
      store: adoptionStoreOf(this.prepared, this.deps.config),
    };
    const settlement: AttemptSettlement =
      recorded.failed.cost_exposure === "unknown"
        ? { kind: "unknown", reason: unknownReason, worstCaseUsd: attempt.reservedUsd ?? ZERO_USD, reconcile }
        : { kind: "charged", usd: recorded.chargedUsd ?? ZERO_USD };
    await this.settleSpend(attempt, settlement);
    return { error: recorded.error, failed: [...chain.failed, recorded.failed] };
  }

  // ---- parts ---------------------------------------------------------------------------------

  /** The attempt's worst case, reserved under its id; `paid` = the provider may bill it (free attempts reserve nothing). */
  private async reserve(backend: Backend, attempt: AttemptState): Promise<{ usd: Usd; paid: boolean }> {
    const { spec } = this.prepared.plan;
    const price = await priceAttempt(backend, spec, this.deps.pricing);
    const usd = await this.deps.guard.reserve({
      requestId: this.prepared.requestId,
      attemptId: attempt.eventId,
      caller: this.prepared.caller,
      instance: backend.name,
      provider: backend.provider,
      model: backend.model,
      width: spec.width,
      height: spec.height,
      n: spec.n,
      worstCaseUsd: worstCaseUsd(price),
      lapseAfterMs: reservationLapseMs(this.deps.config, backend.name, this.options.deadlineGraceMs),
    });
    return { usd, paid: price.kind !== "free" };
  }

  /** Settled by the attempt's id, so a job resumed in a fresh instance settles the same reservation. */
  private async settleSpend(attempt: AttemptState, settlement: AttemptSettlement): Promise<void> {
    const ref = {
      requestId: this.prepared.requestId,
      attemptId: attempt.eventId,
      caller: this.prepared.caller.name,
      instance: attempt.backend,
      reservedUsd: attempt.reservedUsd ?? ZERO_USD,
    };
    try {
      await this.deps.guard.settle(ref, settlement);
    } catch (error) {
      this.attemptLog(attempt).error("settling the spend reservation failed", { error: messageOf(error) });
    }
  }

  /** Best effort, on a fresh signal: the attempt's own may be why we are here. */
  private async cancelAtProvider(attempt: AttemptState): Promise<void> {
    if (!attempt.submission) return;
    const protocol = this.jobProtocol(attempt);
    const log = this.attemptLog(attempt);
    try {
      await protocol.cancel(attempt.submission, this.context(attempt, AbortSignal.timeout(CANCEL_TIMEOUT_MS)));
      log.info("provider's work canceled", { external_id: attempt.submission.externalId });
    } catch (error) {
      log.warn("canceling the provider's work failed", { external_id: attempt.submission.externalId, error: messageOf(error) });
    }
  }

  private giveUpAt(attempt: AttemptState): number {
    return attempt.submission!.deadline + this.options.deadlineGraceMs;
  }

  private jobProtocol(attempt: AttemptState): JobProtocol {
    const protocol = this.deps.backend(attempt.backend).protocol;
    if (protocol.kind !== "job") throw new Error(`backend "${attempt.backend}" keeps no jobs at its provider`);
    return protocol;
  }

  private context(attempt: AttemptState, signal: AbortSignal): AttemptContext {
    return {
      signal,
      clock: this.deps.clock,
      requestId: this.prepared.requestId,
      log: this.attemptLog(attempt),
      inputs: this.deps.inputs,
      ...(attempt.submission && { deadline: this.giveUpAt(attempt) }),
    };
  }

  private attemptLog(attempt: AttemptState): Logger {
    return attemptLog(this.prepared, attempt, this.log);
  }
}

function whereItStood(progress: AsyncProgress | undefined): string {
  if (progress?.state !== "queued") return "still running";
  return progress.queuePosition === undefined ? "still queued" : `still queued behind ${progress.queuePosition} job(s)`;
}

/** The sync path's progress feed: follows the attempt in flight, stops when it changes or ends. */
class ProgressWatch {
  private current: { readonly eventId: string; stop: (() => void) | null } | null = null;

  constructor(
    private readonly runner: GenerationRunner,
    private readonly onProgress: ((progress: AsyncProgress) => void) | undefined,
  ) {}

  async follow(chain: ChainState): Promise<void> {
    const attempt = chain.attempt;
    if (!this.onProgress || this.current?.eventId === attempt?.eventId) return;
    if (!attempt?.submission) return this.stop();
    this.stop();
    // Its own signal: the feed ends by stop(), never by aborting a live socket mid-read.
    this.current = { eventId: attempt.eventId, stop: await this.runner.watch(attempt, new AbortController().signal, this.onProgress) };
  }

  stop(): void {
    this.current?.stop?.();
    this.current = null;
  }
}
