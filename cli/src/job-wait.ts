/** Polls an async job (GET /v1/jobs/{id}) until it finishes, feeding the progress line. */
import type { ApiClient } from "./api.js";
import type { JobDocument } from "./api-types.js";
import { CliError } from "./errors.js";
import type { Progress } from "./progress.js";

const POLL_MS = 500;

function isFinished(job: JobDocument): boolean {
  return job.status === "succeeded" || job.status === "failed" || job.status === "canceled";
}

export async function waitForJob(client: ApiClient, first: JobDocument, progress: Progress): Promise<JobDocument> {
  let job = first;
  try {
    progress.update(job);
    while (!isFinished(job)) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = await client.json<JobDocument>("GET", `/v1/jobs/${encodeURIComponent(job.id)}`);
      progress.update(job);
    }
  } finally {
    progress.done();
  }
  return job;
}

/** A finished job's result, or the failure it ended with. */
export function jobResult(job: JobDocument) {
  if (job.status === "succeeded" && job.result) return job.result;
  if (job.status === "canceled") throw new CliError(`job ${job.id} was canceled`);
  const error = job.error;
  const where = error?.backend ? ` (backend ${error.backend})` : "";
  throw new CliError(`job ${job.id} failed${where}: ${error?.detail ?? "no detail given"}`);
}
