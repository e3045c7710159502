/**
 * What one async generation job keeps in its Durable Object's storage, as types. The record is
 * rewritten whole on every transition (it is small); progress, the webhook inbox and the ids of
 * deliveries already seen live under their own keys so they can be written without the job lock.
 */
import type { AsyncProgress } from "../backends/backend";
import type { InvalidField } from "../backends/errors";
import type { FailedAttempt } from "../core/errors";
import type { OutcomeBody } from "../core/outcome-body";
import type { PreparedGeneration } from "../core/pipeline";
import type { Caller } from "../lib/caller";
import type { ChainState } from "../core/runner";
import type { Limits } from "../config/guard";

export const JOB_STATUSES = ["submitted", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type ActiveStatus = Extract<JobStatus, "submitted" | "running">;
export type FinalStatus = Exclude<JobStatus, ActiveStatus>;

export function isActive(status: JobStatus): status is ActiveStatus {
  return status === "submitted" || status === "running";
}

/** What the submitting request hands the job; everything after this happens inside the job. */
export interface JobSubmission {
  /** A ulid; the Durable Object is addressed by `idFromName(id)`. */
  readonly id: string;
  /** Planned and checked by the handler (unknown backend, taken output key → answered there). */
  readonly prepared: PreparedGeneration;
  /** The IMAGEN_CONFIG the request was accepted under: a job finishes with the config it started with. */
  readonly config: unknown;
  /** Origin of our public URLs (status, images, the webhook given to providers), no trailing slash. */
  readonly origin: string;
  readonly callbackUrl?: string;
  /** The submitting API key's own limits: the job reserves spend under the same caps the sync path would. */
  readonly keyLimits?: Limits;
}

/** The problem+json body the sync path would have answered with (src/core/problem.ts). */
export interface JobError {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly backend: string | null;
  readonly latency_ms: number | null;
  readonly external_id?: string;
  /** The provider's field-level complaints (e.g. Replicate's 422), as on the sync answer. */
  readonly invalid_fields?: InvalidField[];
  readonly attempts: FailedAttempt[];
  /** Field-level problems, as the sync 400 carries them (e.g. a per-request limit). */
  readonly errors?: { readonly field: string; readonly message: string }[];
  /** A spend cap's refusal (402), as the sync answer carries it. */
  readonly cap?: string;
  readonly cap_usd?: number;
  readonly spent_usd?: number;
  readonly reserved_usd?: number;
  readonly requested_usd?: number;
  readonly resets_at?: string;
  readonly money_back_at?: string;
  readonly retry_after?: number;
}

export type CallbackStatus = "pending" | "delivered" | "failed";

/** Delivery of the finished job to the caller's `callback_url`. */
interface CallbackRecord {
  readonly url: string;
  readonly status: CallbackStatus;
  readonly attempts: number;
  /** Clock time (ms) of the next try while pending. */
  readonly nextAttemptAt: number | null;
  readonly lastAttemptAt: number | null;
  /** The receiver's HTTP status on the last try, when it answered. */
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

export interface JobRecord {
  readonly id: string;
  readonly status: JobStatus;
  readonly submittedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** Who may read or cancel it (the owner; admins too). */
  readonly caller: Caller;
  readonly requestId: string;
  readonly origin: string;
  readonly config: unknown;
  /** The submitting API key's limits (absent on jobs accepted before they were carried). */
  readonly keyLimits?: Limits;
  /**
   * The planned request. It holds the prompt, which the sidecar needs when the images are
   * stored; it is dropped the moment the job ends and is never logged.
   */
  readonly work: PreparedGeneration | null;
  /** The runner's state between steps: the attempt in flight, the failed ones, when to look next. */
  readonly chain: ChainState;
  readonly result: OutcomeBody | null;
  readonly error: JobError | null;
  readonly callback: CallbackRecord | null;
}

/** Progress as stored (its own key: the progress socket writes it between polls). */
export interface StoredProgress extends AsyncProgress {
  readonly updatedAt: number;
}

/** A verified provider callback waiting for the job to process it (in arrival order). */
export interface InboxEntry {
  readonly deliveryId: string;
  readonly backend: string;
  readonly payload: unknown;
  /** The attempt the provider was told about (from the webhook URL); absent on older URLs. */
  readonly attemptId?: string;
}

/** Storage keys of one job object. */
export const KEYS = {
  record: "job",
  progress: "progress",
  inbox: "inbox",
  seen: (deliveryId: string) => `seen:${deliveryId}`,
} as const;

/**
 * The next progress to show. A poll only knows "running"; it must not wipe the sampler step the
 * websocket reported a moment ago.
 */
export function mergeProgress(previous: AsyncProgress | undefined, next: AsyncProgress): AsyncProgress {
  if (previous?.state === "running" && next.state === "running" && next.step === undefined && previous.step !== undefined) {
    return previous;
  }
  return next;
}
