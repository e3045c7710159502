/**
 * The transitions of an async generation job, as plain functions: each takes the stored record,
 * does the work of one step (a provider call, a usage event, R2 writes) and returns the record to
 * store next. The Durable Object (./generation-job.ts) decides when a step runs and runs one at a
 * time; nothing here knows about Durable Objects or HTTP.
 *
 * A job finishes with the same pipeline code as a synchronous request: settleSuccess /
 * settleFailure (one usage event per attempt, its id fixed when the attempt starts) → storeImages
 * → outcomeOf → outcomeBody.
 *
 *   submitted ──beginAttempt──► running ──(submit | generate)──► poll / callback …
 *      ▲                           │
 *      └── next backend in chain ◄─┴─ failed attempt ──► failed      succeeded      canceled
 */
import type { AsyncOutcome, AsyncProgress, AsyncSubmission, AttemptContext, Backend, BackendResult } from "../backends/backend";
import { BackendError, httpStatusForBackendError, problemTypeForBackendError } from "../backends/errors";
import { OutputConflictError } from "../core/errors";
import {
  attemptLog,
  mayFallBack,
  outcomeOf,
  settleFailure,
  settleSuccess,
  type PipelineDeps,
  type PreparedGeneration,
} from "../core/generate";
import { storeImages } from "../core/store-images";
import { outcomeBody } from "../core/outcome-body";
import { imageUrlsFromEnv } from "../storage/signed-urls";
import type { Logger } from "../lib/log";
import { CALLBACK_SECRET_ENV, callbackRetryDelayMs, callbackSecretProblem, postCallback } from "./callbacks";
import type { JobsConfig } from "./config";
import { jobDocument } from "./job-document";
import { isActive, type AttemptRecord, type FinalStatus, type InboxEntry, type JobError, type JobRecord, type JobSubmission } from "./job-record";

/** Everything a step may touch. `deps.config` is the job's own config snapshot. */
export interface JobServices {
  readonly deps: PipelineDeps;
  readonly settings: JobsConfig;
  /** For secrets the job itself needs (the callback signing secret). */
  readonly env: Readonly<Record<string, unknown>>;
  /** Outbound HTTP for callbacks. */
  readonly fetch: typeof fetch;
  readonly log: Logger;
}

/** A step's result: the record to store, and fresh progress when the provider reported some. */
export interface StepResult {
  readonly record: JobRecord;
  readonly progress?: AsyncProgress;
}

/** Polls that could not reach the provider, past the deadline, before the attempt is given up. */
const POLL_ERRORS_PAST_DEADLINE = 3;
const MAX_POLL_BACKOFF_MS = 60_000;

export function newJob(submission: JobSubmission, now: number): JobRecord {
  return {
    id: submission.id,
    status: "submitted",
    submittedAt: now,
    startedAt: null,
    finishedAt: null,
    caller: submission.prepared.caller,
    requestId: submission.prepared.requestId,
    origin: submission.origin,
    config: submission.config,
    work: submission.prepared,
    attempt: null,
    failedAttempts: [],
    nextPollAt: null,
    result: null,
    error: null,
    callback:
      submission.callbackUrl === undefined
        ? null
        : { url: submission.callbackUrl, status: "pending", attempts: 0, nextAttemptAt: null, lastAttemptAt: null, lastStatus: null, lastError: null },
  };
}

/** The next backend in the chain gets its attempt; stored before it runs, so a restart resumes it. */
export function beginAttempt(record: JobRecord, services: JobServices): JobRecord {
  const { work } = requireWork(record);
  const index = record.failedAttempts.length;
  const backend = work.plan.chain[index];
  if (backend === undefined) throw new Error(`job ${record.id} has no backend left to try`);
  const now = services.deps.clock.now();
  return {
    ...record,
    status: "running",
    startedAt: record.startedAt ?? now,
    attempt: { index, backend, eventId: services.deps.ids.newId(), startedAt: now, submission: null, pollErrors: 0 },
    nextPollAt: null,
  };
}

/**
 * Run the current attempt: hand it to the provider (backends with async support), or run
 * `generate()` right here (every other backend). `canceled` says whether an abort of `signal`
 * was the owner's cancel rather than a failure.
 */
export async function runAttempt(record: JobRecord, services: JobServices, signal: AbortSignal, canceled: () => boolean): Promise<JobRecord> {
  const { work, attempt } = requireAttempt(record);
  const backend = services.deps.backend(attempt.backend);
  const log = logFor(record, attempt, services);
  const ctx = attemptContext(record, services, signal, log);
  if (backend.async) {
    let submission: AsyncSubmission;
    try {
      submission = await backend.async.submit(work.plan.spec, ctx, { webhookUrl: webhookUrl(record, backend) });
    } catch (error) {
      return failAttempt(record, error, services);
    }
    const now = services.deps.clock.now();
    return { ...record, attempt: { ...attempt, submission }, nextPollAt: nextPollAt(submission, now, services.settings) };
  }
  try {
    return await finishAttempt(record, await backend.generate(work.plan.spec, ctx), services);
  } catch (error) {
    if (canceled()) return endCanceled(record, services);
    return failAttempt(record, error, services);
  }
}

/** Ask the provider how the attempt is doing (the alarm: the poll fallback, or the regular poll). */
export async function pollAttempt(record: JobRecord, services: JobServices, signal: AbortSignal): Promise<StepResult> {
  const { attempt, submission } = requireSubmission(record);
  const backend = services.deps.backend(attempt.backend);
  const log = logFor(record, attempt, services);
  let outcome: AsyncOutcome;
  try {
    outcome = await asyncOf(backend).poll(submission, attemptContext(record, services, signal, log));
  } catch (error) {
    return { record: await pollFailed(record, error, services, log) };
  }
  return applyOutcome(record, outcome, services, { viaCallback: false });
}

/** A verified provider callback: the same answer as a poll, from its body. */
export async function applyCallback(record: JobRecord, entry: InboxEntry, services: JobServices, signal: AbortSignal): Promise<StepResult> {
  const attempt = record.attempt;
  // For an attempt the job has moved on from (or one not yet accepted), a callback changes nothing.
  if (!isActive(record.status) || !attempt?.submission || entry.backend !== attempt.backend) return { record };
  const backend = services.deps.backend(attempt.backend);
  const log = logFor(record, attempt, services);
  const fromCallback = backend.async?.fromCallback;
  if (!fromCallback) return { record };
  const outcome = await fromCallback(entry.payload, attempt.submission, attemptContext(record, services, signal, log));
  if (!outcome) {
    log.info("callback not about this attempt; ignored", { delivery_id: entry.deliveryId });
    return { record };
  }
  return applyOutcome(record, outcome, services, { viaCallback: true });
}

/** The owner's cancel: stop the provider's job (best effort), account for the attempt, end the job. */
export async function cancelJob(record: JobRecord, services: JobServices): Promise<JobRecord> {
  if (!isActive(record.status)) return record;
  const submission = record.attempt?.submission;
  if (record.attempt && submission) {
    const backend = services.deps.backend(record.attempt.backend);
    const log = logFor(record, record.attempt, services);
    await cancelQuietly(backend, submission, attemptContext(record, services, AbortSignal.timeout(15_000), log), log);
  }
  return endCanceled(record, services);
}

/** One try at POSTing the finished job to its callback_url; schedules the next on failure. */
export async function deliverCallback(record: JobRecord, services: JobServices): Promise<JobRecord> {
  const callback = record.callback;
  if (isActive(record.status) || !callback || callback.status !== "pending") return record;
  const { clock } = services.deps;
  const secret = services.env[CALLBACK_SECRET_ENV];
  const problem = callbackSecretProblem(secret);
  const { callback: _ownDelivery, ...document } = jobDocument(record, undefined);
  const tried = problem
    ? ({ ok: false, status: null, error: problem } as const)
    : await postCallback(callback.url, JSON.stringify(document), { secret: secret as string, messageId: `job_${record.id}`, fetch: services.fetch, clock });
  const now = clock.now();
  const attempts = callback.attempts + 1;
  const lastTry = { attempts, lastAttemptAt: now, lastStatus: tried.status, lastError: tried.ok ? null : tried.error };
  services.log.info("job callback tried", { job_id: record.id, attempt: attempts, ok: tried.ok, status: tried.status });
  if (tried.ok) return { ...record, callback: { ...callback, ...lastTry, status: "delivered", nextAttemptAt: null } };
  if (attempts >= services.settings.callback_max_attempts) {
    services.log.warn("job callback given up", { job_id: record.id, attempts, error: tried.error });
    return { ...record, callback: { ...callback, ...lastTry, status: "failed", nextAttemptAt: null } };
  }
  const nextAttemptAt = now + callbackRetryDelayMs(attempts, services.settings.callback_retry_base_s);
  return { ...record, callback: { ...callback, ...lastTry, status: "pending", nextAttemptAt } };
}

/**
 * The job cannot make progress (its steps keep throwing: broken config snapshot, storage
 * trouble): fail it rather than leave it running forever. No usage event: the attempt's own
 * outcome is unknown, and a guess would be wrong either way.
 */
export function abandonJob(record: JobRecord, detail: string, now: number): JobRecord {
  if (!isActive(record.status)) return record;
  return ended(record, "failed", now, {
    error: {
      type: "urn:imagen-edge:problem:internal",
      status: 500,
      detail,
      backend: record.attempt?.backend ?? null,
      latency_ms: record.attempt ? now - record.attempt.startedAt : null,
      attempts: [...record.failedAttempts],
    },
  });
}

/**
 * When the job's alarm should fire next.
 * Active: at once to start or resume an attempt or to read waiting callbacks, else at the next
 * poll. Ended: the next callback try, then the end of retention.
 */
export function nextAlarmAt(record: JobRecord, inboxWaiting: boolean, now: number, settings: JobsConfig): number {
  if (isActive(record.status)) {
    if (!record.attempt?.submission || inboxWaiting) return now;
    return record.nextPollAt ?? now;
  }
  if (record.callback?.status === "pending") return record.callback.nextAttemptAt ?? now;
  return (record.finishedAt ?? now) + settings.retention_days * 86_400_000;
}

// ---- the steps' own parts ------------------------------------------------------------------

async function applyOutcome(record: JobRecord, outcome: AsyncOutcome, services: JobServices, how: { viaCallback: boolean }): Promise<StepResult> {
  const { attempt, submission } = requireSubmission(record);
  switch (outcome.state) {
    case "succeeded":
      return { record: await finishAttempt(record, outcome.result, services) };
    case "failed":
      return { record: await failAttempt(record, outcome.error, services) };
    case "pending": {
      const now = services.deps.clock.now();
      if (!how.viaCallback && now >= giveUpAt(submission, services.settings)) {
        const backend = services.deps.backend(attempt.backend);
        const log = logFor(record, attempt, services);
        await cancelQuietly(backend, submission, attemptContext(record, services, AbortSignal.timeout(15_000), log), log);
        const error = new BackendError(
          "timeout",
          `${attempt.backend} did not finish by its deadline (+${services.settings.deadline_grace_s} s grace); the job canceled ${submission.externalId}`,
          { externalId: submission.externalId },
        );
        return { record: await failAttempt(record, error, services) };
      }
      const next = how.viaCallback ? record.nextPollAt : nextPollAt(submission, now, services.settings);
      return { record: { ...record, attempt: { ...attempt, pollErrors: 0 }, nextPollAt: next }, ...(outcome.progress && { progress: outcome.progress }) };
    }
  }
}

/** The provider could not be asked. Try again later (with backoff); give up only well past the deadline. */
async function pollFailed(record: JobRecord, error: unknown, services: JobServices, log: Logger): Promise<JobRecord> {
  const { attempt, submission } = requireSubmission(record);
  const now = services.deps.clock.now();
  const pollErrors = attempt.pollErrors + 1;
  log.warn("job poll failed", { error: messageOf(error), poll_errors: pollErrors });
  if (now >= giveUpAt(submission, services.settings) && pollErrors >= POLL_ERRORS_PAST_DEADLINE) {
    return failAttempt(record, error, services);
  }
  const backoff = Math.min(MAX_POLL_BACKOFF_MS, Math.max(submission.pollAfterMs, 1000) * 2 ** (pollErrors - 1));
  return { ...record, attempt: { ...attempt, pollErrors }, nextPollAt: now + backoff };
}

/** Success: its usage event, the images into R2, the 201 body as the job's result. */
async function finishAttempt(record: JobRecord, result: BackendResult, services: JobServices): Promise<JobRecord> {
  const { work, attempt } = requireAttempt(record);
  const { deps } = services;
  const backend = deps.backend(attempt.backend);
  const log = logFor(record, attempt, services);
  const latencyMs = deps.clock.now() - attempt.startedAt;
  const success = await settleSuccess(work, backend, attempt.index, result, latencyMs, deps, log, attempt.eventId);
  try {
    const images = await storeImages(work, success, deps);
    const outcome = outcomeOf(success, images, record.failedAttempts, record.requestId);
    log.info("job succeeded", { job_id: record.id, images: images.length, latency_ms: latencyMs });
    const urlFor = await imageUrlsFromEnv(services.env, deps.config.image_urls, record.origin, deps.clock);
    return ended(record, "succeeded", deps.clock.now(), { result: await outcomeBody(outcome, urlFor) });
  } catch (error) {
    log.error("storing a finished job's images failed", { job_id: record.id, error: messageOf(error) });
    const conflict = error instanceof OutputConflictError;
    return ended(record, "failed", deps.clock.now(), {
      error: {
        type: `urn:imagen-edge:problem:${conflict ? "conflict" : "internal"}`,
        status: conflict ? 409 : 500,
        detail: conflict ? error.message : `the images were made but could not be stored: ${messageOf(error)}`,
        backend: attempt.backend,
        latency_ms: latencyMs,
        attempts: [...record.failedAttempts],
      },
    });
  }
}

/** Failure: its usage event; the next backend in the chain gets a turn unless none may. */
async function failAttempt(record: JobRecord, error: unknown, services: JobServices): Promise<JobRecord> {
  const { work, attempt } = requireAttempt(record);
  const { deps } = services;
  const backend = deps.backend(attempt.backend);
  const latencyMs = deps.clock.now() - attempt.startedAt;
  const settled = await settleFailure(work, backend, attempt.index, error, latencyMs, deps, logFor(record, attempt, services), attempt.eventId);
  const failedAttempts = [...record.failedAttempts, settled.failed];
  if (mayFallBack(settled.error) && failedAttempts.length < work.plan.chain.length) {
    return { ...record, attempt: null, nextPollAt: null, failedAttempts };
  }
  const jobError: JobError = {
    type: `urn:imagen-edge:problem:${problemTypeForBackendError(settled.error.kind)}`,
    status: httpStatusForBackendError(settled.error.kind),
    detail: settled.error.detail,
    backend: attempt.backend,
    latency_ms: latencyMs,
    ...(settled.error.extra.externalId !== undefined && { external_id: settled.error.extra.externalId }),
    attempts: failedAttempts,
  };
  return ended({ ...record, failedAttempts }, "failed", deps.clock.now(), { error: jobError });
}

async function endCanceled(record: JobRecord, services: JobServices): Promise<JobRecord> {
  const { attempt, work } = record;
  if (attempt && work) {
    const backend = services.deps.backend(attempt.backend);
    const error = new BackendError("failed", "canceled by its owner (DELETE /v1/jobs/{id}) before it finished", {
      ...(attempt.submission && { externalId: attempt.submission.externalId }),
    });
    const latencyMs = services.deps.clock.now() - attempt.startedAt;
    await settleFailure(work, backend, attempt.index, error, latencyMs, services.deps, logFor(record, attempt, services), attempt.eventId);
  }
  services.log.info("job canceled", { job_id: record.id });
  return ended(record, "canceled", services.deps.clock.now(), {});
}

/** The end: the prompt goes, the callback (if any) becomes due. */
function ended(record: JobRecord, status: FinalStatus, now: number, outcome: Pick<Partial<JobRecord>, "result" | "error">): JobRecord {
  return {
    ...record,
    ...outcome,
    status,
    finishedAt: now,
    work: null,
    attempt: null,
    nextPollAt: null,
    callback: record.callback ? { ...record.callback, status: "pending", nextAttemptAt: now } : null,
  };
}

async function cancelQuietly(backend: Backend, submission: AsyncSubmission, ctx: AttemptContext, log: Logger): Promise<void> {
  try {
    await asyncOf(backend).cancel(submission, ctx);
  } catch (error) {
    log.warn("canceling the provider's job failed", { external_id: submission.externalId, error: messageOf(error) });
  }
}

function nextPollAt(submission: AsyncSubmission, now: number, settings: JobsConfig): number {
  // With callbacks coming, polling is only the fallback: once, when they should all have arrived.
  return submission.callbacks ? Math.max(now + submission.pollAfterMs, giveUpAt(submission, settings)) : now + submission.pollAfterMs;
}

function giveUpAt(submission: AsyncSubmission, settings: JobsConfig): number {
  return submission.deadline + settings.deadline_grace_s * 1000;
}

/** `/v1/webhooks/{type}?job=…&backend=…`: providers hand query parameters back unchanged. */
function webhookUrl(record: JobRecord, backend: Backend): string {
  const query = new URLSearchParams({ job: record.id, backend: backend.name });
  return `${record.origin}/v1/webhooks/${encodeURIComponent(backend.type)}?${query}`;
}

function attemptContext(record: JobRecord, services: JobServices, signal: AbortSignal, log: Logger): AttemptContext {
  return { signal, clock: services.deps.clock, requestId: record.requestId, log };
}

function logFor(record: JobRecord, attempt: AttemptRecord, services: JobServices): Logger {
  const work = record.work;
  const base = work ? attemptLog(work, attempt.backend, attempt.index, services.deps) : services.deps.log;
  return base.child({ job_id: record.id });
}

function asyncOf(backend: Backend) {
  if (!backend.async) throw new Error(`backend "${backend.name}" has no async support`);
  return backend.async;
}

function requireWork(record: JobRecord): { work: PreparedGeneration } {
  if (!record.work) throw new Error(`job ${record.id} has ended; nothing to run`);
  return { work: record.work };
}

function requireAttempt(record: JobRecord): { work: PreparedGeneration; attempt: AttemptRecord } {
  const { work } = requireWork(record);
  if (!record.attempt) throw new Error(`job ${record.id} has no attempt in flight`);
  return { work, attempt: record.attempt };
}

function requireSubmission(record: JobRecord): { attempt: AttemptRecord; submission: AsyncSubmission } {
  const { attempt } = requireAttempt(record);
  if (!attempt.submission) throw new Error(`job ${record.id}'s attempt was not accepted by its provider yet`);
  return { attempt, submission: attempt.submission };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
