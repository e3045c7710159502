/** `imagen jobs <id> [--wait] [--cancel]`: an async job's document, optionally followed to its end. */
import type { JobDocument } from "../api-types.js";
import type { Context } from "../context.js";
import { waitForJob } from "../job-wait.js";
import { jobProgress, progressLine } from "../progress.js";
import { printJson, usd } from "../terminal.js";

export async function jobsCommand(ctx: Context, id: string, flags: { wait?: boolean; cancel?: boolean }): Promise<void> {
  const client = await ctx.client();
  const path = `/v1/jobs/${encodeURIComponent(id)}`;
  let job = await client.json<JobDocument>(flags.cancel ? "DELETE" : "GET", path);
  if (flags.wait) job = await waitForJob(client, job, jobProgress(ctx.terminal));
  if (ctx.json) return printJson(ctx.terminal, job);
  const elapsed = Date.parse(job.finished_at ?? new Date().toISOString()) - Date.parse(job.submitted_at);
  ctx.terminal.out(`job ${job.id}\n${progressLine(job, elapsed)}\n`);
  if (job.result) {
    const r = job.result;
    for (const image of r.images) ctx.terminal.out(`${image.url}\n`);
    ctx.terminal.out(`backend ${r.backend} (${r.model})  seed ${r.seed}  latency ${r.latency_ms} ms  cost ${usd(r.cost_usd_estimate)}\n`);
  }
  if (job.error) ctx.terminal.out(`error: ${job.error.detail}\n`);
}
