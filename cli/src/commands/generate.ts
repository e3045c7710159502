/**
 * `imagen generate "<prompt>"`: POST /v1/images (sync), or as an async job with a progress line
 * when --async is given or a person is watching stderr; then each image is downloaded with the
 * bearer key to the naming template (or --output), its sidecar written beside it, and previewed.
 */
import { writeFile } from "node:fs/promises";
import { agentIdentity } from "../agent-identity.js";
import type { ApiClient } from "../api.js";
import type { GenerateAnswer, JobDocument } from "../api-types.js";
import type { Context } from "../context.js";
import { editInputs, type EditInputs } from "../edit-inputs.js";
import { cancelOnInterrupt } from "../interrupt.js";
import { jobResult, waitForJob } from "../job-wait.js";
import { destinationFor, reusedFrom, sidecarFor, sidecarPath, writeImage, type SidecarRequest } from "../local-files.js";
import { decidePreview, onPath, openPreview, PREVIEW_TOOL, resolvePreviewMode } from "../preview.js";
import { jobProgress } from "../progress.js";
import type { PreviewMode, Settings } from "../settings.js";
import { printJson, usd } from "../terminal.js";

export interface GenerateFlags {
  readonly backend?: string;
  readonly size?: string;
  readonly seed?: number;
  readonly steps?: number;
  readonly style?: string;
  readonly negative?: string;
  readonly n?: number;
  readonly output?: string;
  /** false with --no-sidecar */
  readonly sidecar: boolean;
  readonly source?: string;
  readonly async?: boolean;
  /** true with --preview, false with --no-preview, undefined otherwise */
  readonly preview?: boolean;
  /** --ref, repeatable: the images to edit (local files or stored image keys), in order */
  readonly ref?: readonly string[];
  readonly mask?: string;
}

interface SavedImage {
  readonly path: string;
  readonly sidecar_path: string | null;
  readonly key: string;
  readonly url: string;
  readonly width: number;
  readonly height: number;
  readonly mime_type: string;
  readonly bytes: number;
}

export async function generateCommand(ctx: Context, prompt: string, flags: GenerateFlags): Promise<void> {
  // Local files are checked before the service is asked anything.
  const edit = await editInputs(flags.ref ?? [], flags.mask);
  const settings = await ctx.settings();
  const client = await ctx.client();
  const source = flags.source ?? agentIdentity(ctx.terminal.env) ?? "cli";
  const body = requestBody(prompt, flags, source, settings, edit);
  const { answer, jobId } =
    flags.async === true || ctx.terminal.stderrIsTty
      ? await generateAsync(ctx, client, body)
      : { answer: await client.json<GenerateAnswer>("POST", "/v1/images", { body }), jobId: null };
  const saved = await saveImages(client, answer, prompt, { ...flags, source }, settings, edit);
  report(ctx, answer, jobId, saved);
  await preview(ctx, saved, prompt, flags.preview, settings.output.preview);
}

function requestBody(prompt: string, flags: GenerateFlags, source: string, settings: Settings, edit: EditInputs | undefined) {
  const backend = flags.backend ?? settings.defaultBackend;
  return {
    prompt,
    ...(backend !== undefined && { backend }),
    ...(flags.size !== undefined && { size: flags.size }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    ...(flags.steps !== undefined && { steps: flags.steps }),
    ...(flags.style !== undefined && { style: flags.style }),
    ...(flags.negative !== undefined && { negative: flags.negative }),
    ...(flags.n !== undefined && { n: flags.n }),
    ...(edit && { reference_images: edit.referenceImages }),
    ...(edit?.mask && { mask: edit.mask }),
    source,
  };
}

/** Downloads every image to its local path and writes its sidecar (unless turned off). */
async function saveImages(
  client: ApiClient,
  answer: GenerateAnswer,
  prompt: string,
  flags: GenerateFlags & { readonly source: string },
  settings: Settings,
  edit: EditInputs | undefined,
): Promise<SavedImage[]> {
  const now = new Date();
  const request: SidecarRequest = {
    prompt,
    style: flags.style ?? null,
    negative: flags.negative ?? null,
    size: flags.size ?? null,
    seed: flags.seed ?? null,
    steps: flags.steps ?? null,
    n: flags.n ?? 1,
    source: flags.source,
    reference_images: edit?.described.reference_images ?? [],
    mask: edit?.described.mask ?? null,
  };
  const naming = { template: settings.output.naming, dir: settings.output.dir, prompt, now };
  const writeSidecar = flags.sidecar && settings.output.sidecar;
  const saved: SavedImage[] = [];
  for (const [index, image] of answer.images.entries()) {
    // By key against the configured service, so the bearer key never goes to an origin the answer names.
    const bytes = new Uint8Array(await (await client.send("GET", `/v1/images/${encodeURIComponent(image.key)}`)).arrayBuffer());
    const path = await writeImage(destinationFor(image, index, answer, flags.output, naming), bytes);
    let sidecar: string | null = null;
    if (writeSidecar) {
      sidecar = sidecarPath(path);
      await writeFile(sidecar, `${JSON.stringify(sidecarFor(image, index, answer, request, path, now), null, 2)}\n`);
    }
    const { id: _id, sidecar_url: _sidecarUrl, ...described } = image;
    saved.push({ path, sidecar_path: sidecar, ...described });
  }
  return saved;
}

/** Path(s), then backend, seed, latency and cost — or all of it as JSON. */
function report(ctx: Context, answer: GenerateAnswer, jobId: string | null, saved: readonly SavedImage[]): void {
  if (ctx.json) {
    return printJson(ctx.terminal, {
      request_id: answer.request_id,
      job_id: jobId,
      backend: answer.backend,
      model: answer.model,
      seed: answer.seed,
      latency_ms: answer.latency_ms,
      cost_usd_estimate: answer.cost_usd_estimate,
      reused_from: reusedFrom(answer),
      failed_attempts: answer.failed_attempts,
      images: saved,
    });
  }
  for (const image of saved) ctx.terminal.out(`${image.path}\n`);
  const reused = reusedFrom(answer);
  const cost = reused === null ? `latency ${answer.latency_ms} ms  cost ${usd(answer.cost_usd_estimate)}` : `reused ${reused}, $0`;
  ctx.terminal.out(`backend ${answer.backend} (${answer.model})  seed ${answer.seed}  ${cost}\n`);
  for (const failed of answer.failed_attempts) {
    ctx.terminal.err(`note: ${failed.backend} failed first (${failed.kind}: ${failed.detail}); the fallback answered\n`);
  }
}

async function generateAsync(ctx: Context, client: ApiClient, body: object): Promise<{ answer: GenerateAnswer; jobId: string }> {
  const accepted = await client.json<JobDocument>("POST", "/v1/images", { body, headers: { prefer: "respond-async" } });
  // Printed at once, so a job outlives an interrupted or crashed CLI without being lost.
  ctx.terminal.err(`job ${accepted.id}\n`);
  const interrupt = cancelOnInterrupt(client, ctx.terminal, accepted.id, (code) => process.exit(code));
  try {
    const finished = await waitForJob(client, accepted, jobProgress(ctx.terminal));
    return { answer: jobResult(finished), jobId: finished.id };
  } finally {
    interrupt.release();
  }
}

async function preview(ctx: Context, saved: readonly SavedImage[], prompt: string, flag: boolean | undefined, configured: PreviewMode) {
  const { mode, warning } = resolvePreviewMode(configured, ctx.terminal.env, flag);
  if (warning) ctx.terminal.err(`warning: ${warning}\n`);
  const decision = decidePreview(mode, ctx.terminal);
  if (!decision.show) {
    if (decision.warning) ctx.terminal.err(`warning: ${decision.warning}\n`);
    return;
  }
  if (!onPath(PREVIEW_TOOL, ctx.terminal.env)) {
    ctx.terminal.err(`warning: preview skipped: ${PREVIEW_TOOL} is not on PATH (install it, or turn previews off with IMAGEN_PREVIEW=off)\n`);
    return;
  }
  for (const image of saved) {
    const failed = await openPreview(image.path, prompt);
    if (failed) ctx.terminal.err(`warning: ${failed}\n`);
  }
}
