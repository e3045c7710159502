/**
 * The progress line of an async job on stderr — state, queue position, sampler step x of y,
 * elapsed time — redrawn in place on a terminal, silent otherwise.
 */
import type { JobDocument } from "./api-types.js";
import type { Terminal } from "./terminal.js";

const BAR_WIDTH = 24;

export interface Progress {
  update(job: JobDocument): void;
  done(): void;
}

export function progressLine(job: JobDocument, elapsedMs: number): string {
  const p = job.progress;
  const fraction = p?.step !== undefined && p.steps ? Math.min(1, p.step / p.steps) : job.status === "succeeded" ? 1 : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const parts = [`[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`, job.status];
  if (p?.state === "queued" && p.queue_position !== undefined) parts.push(`queue position ${p.queue_position}`);
  if (p?.step !== undefined && p.steps !== undefined) parts.push(`step ${p.step} of ${p.steps}`);
  if (job.backend) parts.push(job.backend);
  parts.push(`${(elapsedMs / 1000).toFixed(1)}s`);
  return parts.join("  ");
}

export function jobProgress(terminal: Terminal, now: () => number = Date.now): Progress {
  const started = now();
  if (!terminal.stderrIsTty) return { update: () => {}, done: () => {} };
  let drawn = false;
  return {
    update(job) {
      // \r + erase-line: redraw in place.
      terminal.err(`\r\x1b[2K${progressLine(job, now() - started)}`);
      drawn = true;
    },
    done() {
      if (drawn) terminal.err("\n");
    },
  };
}
