/**
 * The public face of a job: what `GET /v1/jobs/{id}` answers, `POST /v1/images` returns with
 * 202, and the `callback_url` receives. Never carries the prompt (the caller sent it; the
 * sidecar keeps it next to the images).
 */
import type { OutcomeBody } from "../core/outcome-body";
import { callbackErrorForCaller } from "./callbacks";
import type { CallbackStatus, JobError, JobRecord, JobStatus, StoredProgress } from "./job-record";
import { isActive } from "./job-record";
import { jobStatusUrl } from "../routes";

interface JobProgressDocument {
  readonly state: "queued" | "running";
  readonly queue_position?: number;
  readonly step?: number;
  readonly steps?: number;
  readonly updated_at: string;
}

interface JobCallbackDocument {
  readonly url: string;
  readonly status: CallbackStatus;
  readonly attempts: number;
  readonly last_attempt_at: string | null;
  readonly last_error: string | null;
  readonly next_attempt_at: string | null;
}

export interface JobDocument {
  readonly id: string;
  readonly status: JobStatus;
  readonly status_url: string;
  readonly request_id: string;
  /** The instance working on it now, or the last one that did. */
  readonly backend: string | null;
  readonly submitted_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  /** Only while the job is active, and only what its backend reports. */
  readonly progress: JobProgressDocument | null;
  /** Succeeded: the same body `POST /v1/images` answers with 201. */
  readonly result: OutcomeBody | null;
  /** Failed: problem+json-like, as the sync path would have answered. */
  readonly error: JobError | null;
  readonly callback: JobCallbackDocument | null;
}

export function jobDocument(record: JobRecord, progress: StoredProgress | undefined): JobDocument {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const callback = record.callback;
  return {
    id: record.id,
    status: record.status,
    status_url: jobStatusUrl(record.origin, record.id),
    request_id: record.requestId,
    backend: record.chain.attempt?.backend ?? record.result?.backend ?? record.chain.failed.at(-1)?.backend ?? null,
    submitted_at: new Date(record.submittedAt).toISOString(),
    started_at: iso(record.startedAt),
    finished_at: iso(record.finishedAt),
    progress:
      progress && isActive(record.status)
        ? {
            state: progress.state,
            ...(progress.queuePosition !== undefined && { queue_position: progress.queuePosition }),
            ...(progress.step !== undefined && { step: progress.step }),
            ...(progress.steps !== undefined && { steps: progress.steps }),
            updated_at: new Date(progress.updatedAt).toISOString(),
          }
        : null,
    result: record.result,
    error: record.error,
    callback: callback
      ? {
          url: callback.url,
          status: callback.status,
          attempts: callback.attempts,
          last_attempt_at: iso(callback.lastAttemptAt),
          last_error: callbackErrorForCaller(callback.lastError),
          next_attempt_at: iso(callback.nextAttemptAt),
        }
      : null,
  };
}
