/**
 * Ctrl-C while an async job runs. The first SIGINT cancels the job (DELETE /v1/jobs/{id}) so it
 * stops costing money and reports what the job document says after the cancel; a second one
 * while that is under way stops waiting and leaves the job as it is, with the command that
 * fetches it later. Either way the process ends with 130, the shell's code for SIGINT.
 */
import type { ApiClient } from "./api.js";
import type { JobDocument } from "./api-types.js";
import { ApiError } from "./errors.js";
import type { Terminal } from "./terminal.js";
import { usd } from "./terminal.js";

const EXIT_INTERRUPTED = 130;

/**
 * What the job document says it cost. A job canceled before it finished carries no estimate (no
 * image was made), but a provider may bill the time its attempt already ran: the ledger has that.
 */
function costOf(job: JobDocument): string {
  if (job.result) return `it had already finished: cost ${usd(job.result.cost_usd_estimate)}`;
  const attempts = job.error?.attempts.length ?? 0;
  const failed = attempts > 0 ? `, after ${attempts} failed attempt${attempts === 1 ? "" : "s"}` : "";
  return `no image was made, so no cost is estimated${failed}; a provider may still bill the time it ran: \`imagen usage --raw\` lists every billed attempt`;
}

async function cancel(client: ApiClient, terminal: Terminal, jobId: string): Promise<void> {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
  try {
    await client.send("DELETE", path);
  } catch (error) {
    // 409: it finished between the last poll and the cancel; the document says how.
    if (!(error instanceof ApiError && error.status === 409)) {
      terminal.err(`imagen: could not cancel job ${jobId}: ${(error as Error).message}\n  fetch it later: imagen jobs ${jobId} --wait\n`);
      return;
    }
  }
  const job = await client.json<JobDocument>("GET", path);
  terminal.err(`imagen: job ${jobId} ${job.status === "canceled" ? "canceled" : `was not canceled: it ${job.status}`}; ${costOf(job)}\n`);
  if (job.status === "succeeded") terminal.err(`  fetch its images: imagen jobs ${jobId}\n`);
}

/** Installs the handler until `release()`; `exit` ends the process (injected so the flow stays readable). */
export function cancelOnInterrupt(client: ApiClient, terminal: Terminal, jobId: string, exit: (code: number) => never): { release(): void } {
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) {
      terminal.err(`\nimagen: canceling job ${jobId} (Ctrl-C again to leave it running)\n`);
      cancel(client, terminal, jobId)
        .catch((error: unknown) => terminal.err(`imagen: could not read job ${jobId} after the cancel: ${(error as Error).message}\n`))
        .finally(() => exit(EXIT_INTERRUPTED));
      return;
    }
    terminal.err(`imagen: left job ${jobId} as it is (a cancel may already have reached the service); fetch it later: imagen jobs ${jobId} --wait\n`);
    exit(EXIT_INTERRUPTED);
  };
  process.on("SIGINT", onSigint);
  return { release: () => void process.off("SIGINT", onSigint) };
}
