/**
 * The ComfyUI backend: the owner's home GPU box reached through Cloudflare Tunnel +
 * Access (or a Workers VPC service binding), running an API-format workflow template with our
 * prompt, seed, steps and size patched in.
 *
 * Job protocol, driven by the runner (src/core/runner.ts) for sync requests and async jobs alike:
 *   submit — for an edit, POST /upload/image with the input's bytes first (the template's LoadImage
 *            then loads it by the name ComfyUI answers); POST /prompt (with our prompt_id and a
 *            client id the progress socket listens as);
 *   poll   — GET /history/{id} (the source of truth; `{}` until done) and GET /queue (to tell
 *            "waiting", and where, from "running" from "lost after a restart"); a finished job's
 *            images come from GET /view;
 *   watch  — the progress websocket (sampler step x of y), best effort;
 *   cancel — drop it from the queue, interrupt it once it runs.
 * See docs/comfyui.md.
 */
import type { Clock } from "../lib/clock";
import { usd, type Usd } from "../lib/money";
import {
  defineBackendType,
  EXTENSION_BY_MIME,
  isEdit,
  readSecret,
  referenceInputs,
  type AsyncOutcome,
  type AsyncSubmission,
  type AttemptContext,
  type Backend,
  type BackendRuntime,
  type BackendStatus,
  type EditSpec,
  type EditSupport,
  type GenerationSpec,
  type JobProtocol,
  type Submitted,
} from "./backend";
import { callDeadline } from "./call-deadline";
import { ComfyClient, type ComfyConnection } from "./comfyui/client";
import { fetchImages, savedImages } from "./comfyui/outputs";
import { ProgressReporter } from "./comfyui/progress";
import { promptRejectionError } from "./comfyui/prompt-errors";
import { failureOf, predictSeconds } from "./comfyui/history";
import { queueStateOf, type HistoryEntry } from "./comfyui/protocol";
import { type ComfyUIConfig, comfyuiConfigSchema, templateOf } from "./comfyui/config";
import { modelOf, patchWorkflow, templateSteps, type WorkflowTemplate } from "./comfyui/workflow";
import { BackendError } from "./errors";

export type { ComfyProgress } from "./comfyui/progress";

/** Our API caps seeds here so they stay exact as JSON numbers (ComfyUI itself takes up to 2^64-1). */
const MAX_COMFYUI_SEED = Number.MAX_SAFE_INTEGER;

/** Host used for requests through a service binding: the binding decides where they go. */
const BINDING_BASE_URL = "http://comfyui";
const STATUS_CACHE_MS = 30_000;
const STATUS_PROBE_TIMEOUT_MS = 10_000;
const CANCEL_TIMEOUT_MS = 10_000;
/** Where an edit's inputs land in ComfyUI's input folder (named by their hash). */
const INPUT_SUBFOLDER = "imagen";

export interface ComfyUIBackend extends Backend {
  readonly type: "comfyui";
  /** From `cost_per_image_usd`; 0 by default (the box's power is not billed per image). */
  readonly configuredPricePerImage: Usd;
}

export const comfyuiBackendType = defineBackendType({
  type: "comfyui",
  configSchema: comfyuiConfigSchema,
  create: (name, config, runtime): ComfyUIBackend => new ComfyUIInstance(name, config, runtime),
});

/** Probe results per isolate, so a status page does not wake the tunnel on every load. */
const statusCache = new Map<string, { readonly status: BackendStatus; readonly expiresAt: number }>();

class ComfyUIInstance implements ComfyUIBackend {
  readonly type = "comfyui";
  readonly provider = "comfyui";
  readonly model: string;
  readonly configuredPricePerImage: Usd;
  /** Set when the workflow loads an input image (its input map has `image`): one image, no mask. */
  readonly edits?: EditSupport;
  private readonly template: WorkflowTemplate;
  private readonly defaultSteps: number | undefined;
  readonly protocol: JobProtocol = {
    kind: "job",
    submit: (spec, ctx) => this.submit(spec, ctx),
    poll: (submission, ctx) => this.poll(submission, ctx),
    cancel: (submission, ctx) => this.cancel(this.client(ctx.clock), asyncStateOf(submission).promptId, ctx),
    watch: async (submission, ctx, onProgress) => {
      const { promptId, clientId } = asyncStateOf(submission);
      const socket = await this.client(ctx.clock).openSocket(clientId, { signal: ctx.signal });
      if (!socket) return null;
      const reporter = new ProgressReporter(onProgress);
      reporter.attach(socket, () => promptId);
      return () => reporter.close();
    },
  };

  constructor(
    readonly name: string,
    private readonly config: ComfyUIConfig,
    private readonly runtime: BackendRuntime,
  ) {
    this.template = templateOf(config);
    this.model = config.model ?? modelOf(this.template.workflow) ?? "comfyui-workflow";
    this.defaultSteps = config.default_steps ?? templateSteps(this.template);
    this.configuredPricePerImage = usd(config.cost_per_image_usd ?? 0);
    if (this.template.inputs.image !== false) this.edits = { maxImages: 1, mask: false };
  }

  checkSpec(spec: GenerationSpec): void {
    this.valuesFor(spec);
  }

  /** An edit's input, uploaded to the box's input folder: the name its LoadImage loads. */
  private async upload(spec: EditSpec, client: ComfyClient, ctx: AttemptContext, signal: AbortSignal): Promise<string> {
    const reference = spec.references[0]!;
    const bytes = await referenceInputs(ctx).bytes(reference);
    const filename = `${reference.sha256}.${EXTENSION_BY_MIME[reference.mimeType]}`;
    const { loadName } = await client.uploadImage({ bytes, filename, mimeType: reference.mimeType, subfolder: INPUT_SUBFOLDER }, { signal });
    ctx.log.info("comfyui input uploaded", { backend: this.name, image: loadName });
    return loadName;
  }

  async status(): Promise<BackendStatus> {
    const missing = this.missingEnv();
    if (missing.length > 0) return { state: "not_configured", missingEnv: missing };
    const key = `${this.name}\u0000${this.config.base_url ?? this.config.service_binding}`;
    const now = this.runtime.clock.now();
    const cached = statusCache.get(key);
    if (cached && now < cached.expiresAt) return cached.status;
    const status = await this.probe(this.runtime.clock);
    statusCache.set(key, { status, expiresAt: this.runtime.clock.now() + STATUS_CACHE_MS });
    return status;
  }

  /** Queue the prompt (with a client id the progress socket can listen as). */
  private async submit(spec: GenerationSpec, ctx: AttemptContext): Promise<Submitted> {
    const started = ctx.clock.now();
    const values = this.valuesFor(spec);
    const clientId = crypto.randomUUID();
    const ourPromptId = crypto.randomUUID();
    const client = this.client(ctx.clock, started);
    const deadline = started + this.config.timeout_s * 1000;
    const call = callDeadline(ctx.signal, ctx.clock, deadline);
    let answer: Awaited<ReturnType<ComfyClient["submitPrompt"]>>;
    let step = "POST /upload/image";
    try {
      // Nothing is queued (or paid) until the input is on the box: a failed upload is a clean failure.
      const image = isEdit(spec) ? await this.upload(spec, client, ctx, call.signal) : undefined;
      step = "POST /prompt";
      const workflow = patchWorkflow(this.template, { ...values, ...(image !== undefined && { image }) });
      answer = await client.submitPrompt({ prompt: workflow, prompt_id: ourPromptId, client_id: clientId }, { signal: call.signal });
    } catch (error) {
      // Aborted or out of time while POST /prompt was in flight: ComfyUI may have the job without
      // us knowing. Our prompt_id is the job's id on current servers, so cancel it anyway.
      if (ctx.signal.aborted || call.expired()) await this.cancel(client, ourPromptId, ctx);
      if (call.expired()) {
        throw new BackendError("timeout", `ComfyUI did not answer ${step} within ${call.budgetMs} ms; the prompt was dropped from its queue`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      call.end();
    }
    if (!answer.accepted) throw promptRejectionError(answer.rejection, this.template.workflow, this.template.inputs);
    ctx.log.info("comfyui prompt queued", { backend: this.name, prompt_id: answer.promptId });
    return {
      submission: {
        externalId: answer.promptId,
        deadline,
        pollAfterMs: this.config.poll_interval_ms,
        callbacks: false,
        state: { promptId: answer.promptId, clientId, seed: spec.seed, n: spec.n },
      },
    };
  }

  /** The history decides; the queue tells queued (and where) from running from lost. */
  private async poll(submission: AsyncSubmission, ctx: AttemptContext): Promise<AsyncOutcome> {
    const { promptId } = asyncStateOf(submission);
    const client = this.client(ctx.clock);
    const deadline = callDeadline(ctx.signal, ctx.clock, ctx.deadline);
    const call = { signal: deadline.signal };
    try {
      const entry = await client.history(promptId, call);
      if (entry) return await this.finishedOutcome(client, entry, submission, ctx);
      const state = queueStateOf(await client.queue(call), promptId);
      if (state.state === "running") return { state: "pending", progress: { state: "running" } };
      if (state.state === "pending") return { state: "pending", progress: { state: "queued", queuePosition: state.ahead } };
      const late = await client.history(promptId, call);
      if (late) return await this.finishedOutcome(client, late, submission, ctx);
      return {
        state: "failed",
        error: new BackendError("unavailable", "ComfyUI lost the job (restarted?): it is neither queued nor in the history", { externalId: promptId }),
      };
    } catch (error) {
      if (deadline.expired()) {
        throw new BackendError("timeout", `ComfyUI did not answer a poll of prompt ${promptId} within ${deadline.budgetMs} ms`, {
          externalId: promptId,
          cause: error,
        });
      }
      // The box could not be asked (tunnel down…): the job asks again later; the error names the prompt.
      if (error instanceof BackendError && error.extra.externalId === undefined) {
        throw new BackendError(error.kind, error.detail, { ...error.extra, externalId: promptId });
      }
      throw error;
    } finally {
      deadline.end();
    }
  }

  private async finishedOutcome(client: ComfyClient, entry: HistoryEntry, submission: AsyncSubmission, ctx: AttemptContext): Promise<AsyncOutcome> {
    const { promptId, seed, n } = asyncStateOf(submission);
    const named = (error: BackendError) => new BackendError(error.kind, error.detail, { ...error.extra, externalId: promptId });
    const failure = failureOf(entry);
    if (failure) return { state: "failed", error: named(failure) };
    const outputs = savedImages(entry).slice(0, n);
    if (outputs.length === 0) {
      return { state: "failed", error: named(new BackendError("failed", "ComfyUI finished without saving an image; the workflow must end in SaveImage")) };
    }
    try {
      const images = await fetchImages(client, outputs, { signal: ctx.signal });
      return { state: "succeeded", result: { images, model: this.model, seed, predictTimeSeconds: predictSeconds(entry), externalId: promptId } };
    } catch (error) {
      if (error instanceof BackendError) return { state: "failed", error: named(error) };
      throw error;
    }
  }

  private client(clock: Clock, started = clock.now()): ComfyClient {
    return new ComfyClient(this.connect(), () => clock.now() - started);
  }

  /**
   * Best effort: drop a queued job, interrupt a running one. The interrupt names our prompt_id;
   * servers older than targeted interrupts stop whatever runs, so we only interrupt once our
   * job is the one running.
   */
  private async cancel(client: ComfyClient, promptId: string, ctx: AttemptContext): Promise<void> {
    const call = { timeoutMs: CANCEL_TIMEOUT_MS };
    try {
      await client.deleteFromQueue(promptId, call);
      if (queueStateOf(await client.queue(call), promptId).state !== "running") return;
      await client.interrupt(promptId, call);
    } catch (error) {
      ctx.log.warn("comfyui cancel failed", { backend: this.name, prompt_id: promptId, error: String(error) });
    }
  }

  private valuesFor(spec: GenerationSpec) {
    if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
      throw new BackendError("invalid_request", `seed must be an integer from 0 to ${MAX_COMFYUI_SEED} (2^53-1)`);
    }
    if (!Number.isSafeInteger(spec.n) || spec.n < 1) throw new BackendError("invalid_request", "n must be at least 1");
    if (spec.n > 1 && this.template.inputs.batch_size === false) {
      throw new BackendError("invalid_request", `backend "${this.name}" makes one image per request: its workflow has no batch_size input`);
    }
    if (this.edits && !isEdit(spec)) {
      throw new BackendError("invalid_request", `backend "${this.name}" edits images: its workflow starts from an input image; send one`, {
        invalidFields: [{ field: "reference_images", description: "an input image is required by this backend" }],
      });
    }
    return {
      prompt: spec.prompt,
      negative: spec.negative,
      seed: spec.seed,
      steps: spec.steps ?? this.defaultSteps,
      width: spec.width,
      height: spec.height,
      batchSize: spec.n,
    };
  }

  private missingEnv(): string[] {
    const missing: string[] = [];
    for (const name of [this.config.access_client_id_env, this.config.access_client_secret_env]) {
      if (name !== undefined && readSecret(this.runtime.env, name) === undefined) missing.push(name);
    }
    const binding = this.config.service_binding;
    if (binding !== undefined && !hasFetch(this.runtime.env[binding])) missing.push(binding);
    return missing;
  }

  private connect(): ComfyConnection {
    const missing = this.missingEnv();
    if (missing.length > 0) {
      throw new BackendError("not_configured", `ComfyUI backend "${this.name}" is not configured; set ${missing.join(", ")}`);
    }
    const { access_client_id_env: idEnv, access_client_secret_env: secretEnv } = this.config;
    const accessHeaders: Record<string, string> =
      idEnv && secretEnv
        ? {
            "CF-Access-Client-Id": readSecret(this.runtime.env, idEnv)!,
            "CF-Access-Client-Secret": readSecret(this.runtime.env, secretEnv)!,
          }
        : {};
    const accessEnv = idEnv && secretEnv ? { id: idEnv, secret: secretEnv } : undefined;
    if (this.config.service_binding !== undefined) {
      const binding = this.runtime.env[this.config.service_binding] as Fetcher;
      return { baseUrl: BINDING_BASE_URL, fetch: (url, init) => binding.fetch(url, init), accessHeaders, accessEnv };
    }
    const fetcher = this.runtime.fetch;
    return { baseUrl: this.config.base_url!.replace(/\/+$/, ""), fetch: (url, init) => fetcher(url, init), accessHeaders, accessEnv };
  }

  private async probe(clock: Clock): Promise<BackendStatus> {
    const started = clock.now();
    try {
      const client = new ComfyClient(this.connect(), () => clock.now() - started);
      const stats = await client.systemStats({ timeoutMs: STATUS_PROBE_TIMEOUT_MS });
      const device = stats.devices[0];
      if (!device || device.type === "cpu") return { state: "ok", detail: "CPU only, no GPU" };
      const free = device.vram_free === undefined ? "unknown" : (device.vram_free / 2 ** 30).toFixed(1);
      return { state: "ok", detail: `GPU ${deviceName(device.name)}, ${free} GiB VRAM free` };
    } catch (error) {
      const detail = error instanceof BackendError ? error.detail : String(error);
      return { state: "unreachable", reason: detail.replace(/^home ComfyUI unreachable \((.*)\)$/, "$1") };
    }
  }
}

/** The state a submission carries (see submit); checked, since it comes back from storage. */
function asyncStateOf(submission: AsyncSubmission): { promptId: string; clientId: string; seed: number; n: number } {
  const { promptId, clientId, seed, n } = submission.state;
  if (typeof promptId !== "string" || typeof clientId !== "string" || typeof seed !== "number" || typeof n !== "number") {
    throw new BackendError("failed", "this ComfyUI job's stored state is unreadable; submit it again");
  }
  return { promptId, clientId, seed, n };
}

function hasFetch(value: unknown): value is Fetcher {
  return typeof value === "object" && value !== null && typeof (value as { fetch?: unknown }).fetch === "function";
}

/** "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync" → "NVIDIA GeForce RTX 4090". */
function deviceName(raw: string): string {
  return (
    raw
      .replace(/^\S+:\d+\s+/, "")
      .replace(/\s+:\s+\S+$/, "")
      .trim() || raw
  );
}
