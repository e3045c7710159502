/**
 * The transitions of an async generation job, as plain functions over its stored record. The
 * generation itself is the runner's (src/core/runner.ts, the same one sync requests use): a
 * job only hands it the chain state it stored, takes one step, and stores what comes back. The
 * Durable Object (./generation-job.ts) decides when a step runs and runs one at a time; nothing
 * here knows about Durable Objects or HTTP.
 *
 *   submitted ──step──► running ──step / callback … ──► succeeded | failed
 *                           └──────── owner's cancel ──► canceled
 */
import type { AsyncProgress } from "../backends/backend";
import { GenerationFailedError, OutputConflictError } from "../core/errors";
import { type OutcomeBody, outcomeBody } from "../core/outcome-body";
import { outcomeOf, type PipelineDeps } from "../core/pipeline";
import { problemDocument, problemFor } from "../core/problem";
import { CHAIN_START, type GenerationRunner, type StepResult } from "../core/runner";
import { releaseOutput } from "../core/explicit-output";
import { storeImages } from "../core/store-images";
import { imageUrlsFromEnv } from "../storage/signed-urls";
import type { Logger } from "../lib/log";
import { CALLBACK_SECRET_ENV, callbackRetryDelayMs, callbackSecretProblem, callbackUrlProblem, postCallback } from "./callbacks";
import type { JobsConfig } from "../config/jobs";
import { jobDocument } from "./job-document";
import { isActive, type FinalStatus, type InboxEntry, type JobError, type JobRecord, type JobSubmission } from "./job-record";

/** Everything a step may touch. `deps.config` is the job's own config snapshot. */
export interface JobServices {
  readonly deps: PipelineDeps;
  readonly settings: JobsConfig;
  /** The runner of this job's generation (built once per job instance: it holds spend reservations); null once the job ended. */
  readonly runner: GenerationRunner | null;
  /** For secrets the job itself needs (the callback signing secret). */
  readonly env: Readonly<Record<string, unknown>>;
  /** Outbound HTTP for callbacks. */
  readonly fetch: typeof fetch;
  readonly log: Logger;
}

/** A step's result: the record to store, and fresh progress when the provider reported some. */
export interface JobStep {
  readonly record: JobRecord;
  readonly progress?: AsyncProgress;
}

/** The detail an attempt stopped by its job's owner is ledgered with. */
export const OWNER_CANCELED = "canceled by its owner (DELETE /v1/jobs/{id}) before it finished";

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
    ...(submission.keyLimits && { keyLimits: submission.keyLimits }),
    work: submission.prepared,
    chain: CHAIN_START,
    result: null,
    error: null,
    callback:
      submission.callbackUrl === undefined
        ? null
        : { url: submission.callbackUrl, status: "pending", attempts: 0, nextAttemptAt: null, lastAttemptAt: null, lastStatus: null, lastError: null },
  };
}

/** The runner's next step: start an attempt, hand it to its provider, or poll it. */
export async function advanceJob(record: JobRecord, services: JobServices, signal: AbortSignal): Promise<JobStep> {
  if (!isActive(record.status)) return { record };
  return applyStep(record, await runnerOf(services).step(record.chain, signal), services);
}

/** A job that ended drops its claim on an explicit output (an abandoned job's claim lapses). */
async function endWork(record: JobRecord, services: JobServices): Promise<void> {
  if (record.work) await releaseOutput(record.work.request, services.deps.store);
}

/** A verified provider callback: the same answer as a poll, from its body. */
export async function applyCallback(record: JobRecord, entry: InboxEntry, services: JobServices, signal: AbortSignal): Promise<JobStep> {
  if (!isActive(record.status)) return { record };
  const step = await runnerOf(services).callback(record.chain, entry, signal);
  if (!step) {
    services.log.info("callback not about the attempt in flight; ignored", { job_id: record.id, delivery_id: entry.deliveryId });
    return { record };
  }
  return applyStep(record, step, services);
}

/** The owner's cancel: the runner stops the provider's work and accounts for the attempt. */
export async function cancelJob(record: JobRecord, services: JobServices): Promise<JobRecord> {
  if (!isActive(record.status)) return record;
  const step = await runnerOf(services).cancel(record.chain, OWNER_CANCELED);
  await endWork(record, services);
  services.log.info("job canceled", { job_id: record.id });
  return ended({ ...record, chain: { ...record.chain, failed: step.failed } }, "canceled", services.deps.clock.now(), {});
}

/**
 * The callback's copy of the document. A sidecar holds the prompt, and its signed link opens it
 * without a key; a callback goes to whatever host the caller named, so it carries the images'
 * links but not the sidecars' (the key holder reads those with its key, or from the job).
 */
function withoutSidecarLinks<D extends { readonly result: OutcomeBody | null }>(document: D): D {
  if (!document.result) return document;
  return { ...document, result: { ...document.result, images: document.result.images.map((image) => ({ ...image, sidecar_url: null })) } };
}

/** One try at POSTing the finished job to its callback_url; schedules the next on failure. */
export async function deliverCallback(record: JobRecord, services: JobServices): Promise<JobRecord> {
  const callback = record.callback;
  if (isActive(record.status) || !callback || callback.status !== "pending") return record;
  const { clock } = services.deps;
  const secret = services.env[CALLBACK_SECRET_ENV];
  // Checked at submission too; again here because a job delivers under its own config snapshot.
  const problem = callbackUrlProblem(callback.url, { allowLoopback: services.settings.allow_loopback_callbacks }) ?? callbackSecretProblem(secret);
  const { callback: _ownDelivery, ...document } = jobDocument(record, undefined);
  const tried = problem
    ? ({ ok: false, status: null, error: problem } as const)
    : await postCallback(callback.url, JSON.stringify(withoutSidecarLinks(document)), {
        secret: secret as string,
        messageId: `job_${record.id}`,
        fetch: services.fetch,
        clock,
      });
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
  return ended(record, "failed", now, { error: jobError(record, new Error(detail), now, detail) });
}

/**
 * When the job's alarm should fire next.
 * Active: at once to read waiting callbacks, else when the runner wants its next step. Ended:
 * the next callback try, then the end of retention.
 */
export function nextAlarmAt(record: JobRecord, inboxWaiting: boolean, now: number, settings: JobsConfig): number {
  if (isActive(record.status)) return inboxWaiting ? now : (record.chain.nextStepAt ?? now);
  if (record.callback?.status === "pending") return record.callback.nextAttemptAt ?? now;
  return (record.finishedAt ?? now) + settings.retention_days * 86_400_000;
}

// ---- the steps' own parts ------------------------------------------------------------------

function runnerOf(services: JobServices): GenerationRunner {
  if (!services.runner) throw new Error("this job has ended; nothing to run");
  return services.runner;
}

async function applyStep(record: JobRecord, step: StepResult, services: JobServices): Promise<JobStep> {
  const now = services.deps.clock.now();
  switch (step.status) {
    case "running":
      return {
        record: { ...record, status: "running", startedAt: record.startedAt ?? now, chain: step.chain },
        ...(step.progress && { progress: step.progress }),
      };
    case "failed": {
      await endWork(record, services);
      const failedRecord = { ...record, chain: { ...record.chain, failed: step.failed } };
      // The attempt was stopped for the owner's cancel while it ran inside this step.
      if (step.error instanceof GenerationFailedError && step.error.last.kind === "canceled") return { record: ended(failedRecord, "canceled", now, {}) };
      return { record: ended(failedRecord, "failed", now, { error: jobError(failedRecord, step.error, now) }) };
    }
    case "succeeded":
      try {
        return { record: await finish(record, step, services) };
      } finally {
        await endWork(record, services);
      }
  }
}

/** Success: the images into R2, the 201 body as the job's result. */
async function finish(record: JobRecord, step: Extract<StepResult, { status: "succeeded" }>, services: JobServices): Promise<JobRecord> {
  const { deps } = services;
  const work = record.work!;
  const done = { ...record, chain: { ...record.chain, failed: step.failed } };
  try {
    const images = await storeImages(work, step.success, deps);
    const outcome = outcomeOf(step.success, images, step.failed, record.requestId);
    services.log.info("job succeeded", { job_id: record.id, images: images.length, latency_ms: step.success.latencyMs });
    const urlFor = await imageUrlsFromEnv(services.env, deps.config.image_urls, record.origin, deps.clock);
    return ended(done, "succeeded", deps.clock.now(), { result: await outcomeBody(outcome, urlFor) });
  } catch (error) {
    services.log.error("storing a finished job's images failed", { job_id: record.id, error: error instanceof Error ? error.message : String(error) });
    const detail =
      error instanceof OutputConflictError
        ? undefined
        : `the images were made but could not be stored: ${error instanceof Error ? error.message : String(error)}`;
    return ended(done, "failed", deps.clock.now(), { error: jobError(done, error, deps.clock.now(), detail, step.success.backend.name) });
  }
}

/** The problem the sync path would have answered with, and where the chain stood. */
const SYNC_MEMBERS = ["errors", "cap", "cap_usd", "spent_usd", "reserved_usd", "requested_usd", "resets_at", "money_back_at", "retry_after"] as const;

function pickMembers(extra: Readonly<Record<string, unknown>>, names: readonly string[]): Partial<JobError> {
  return Object.fromEntries(names.filter((name) => extra[name] !== undefined).map((name) => [name, extra[name]])) as Partial<JobError>;
}

function jobError(record: JobRecord, error: unknown, now: number, detail?: string, backend?: string): JobError {
  const problem = problemFor(error);
  const { type, title, status } = problemDocument(problem);
  const extra = problem.extra ?? {};
  const attempt = record.chain.attempt;
  return {
    // The members the sync answer carries for the same failure (field errors, a cap's figures).
    ...pickMembers(extra, SYNC_MEMBERS),
    type,
    title,
    status,
    detail: detail ?? problem.detail,
    backend: extra.backend ?? backend ?? attempt?.backend ?? null,
    latency_ms: extra.latency_ms ?? (attempt ? now - attempt.startedAt : null),
    ...(extra.external_id !== undefined && { external_id: extra.external_id }),
    ...(extra.invalid_fields !== undefined && { invalid_fields: [...extra.invalid_fields] }),
    attempts: [...(extra.attempts ?? record.chain.failed)],
  };
}

/** The end: the prompt goes, the callback (if any) becomes due. */
function ended(record: JobRecord, status: FinalStatus, now: number, outcome: Pick<Partial<JobRecord>, "result" | "error">): JobRecord {
  return {
    ...record,
    ...outcome,
    status,
    finishedAt: now,
    work: null,
    chain: { attempt: null, failed: record.chain.failed, nextStepAt: null },
    callback: record.callback ? { ...record.callback, status: "pending", nextAttemptAt: now } : null,
  };
}
