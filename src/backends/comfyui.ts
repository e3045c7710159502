/**
 * The ComfyUI backend: the owner's home GPU box ("mRock") reached through Cloudflare Tunnel +
 * Access (or a Workers VPC service binding), running an API-format workflow template with our
 * prompt, seed, steps and size patched in.
 *
 * Protocol: POST /prompt → poll GET /history/{id} (the source of truth; `{}` until done) and
 * GET /queue (to tell "waiting" from "lost after a restart") on the injected clock → GET /view
 * for each saved image. Timeouts interrupt the job on the box. See docs/comfyui.md.
 *
 * Async jobs (`async`, used by src/jobs): submit queues the prompt, each poll reads /history and
 * /queue (progress: queue position), `watch` keeps the progress websocket open (sampler steps).
 */
import type { Clock } from "../lib/clock";
import { usd, type Usd } from "../lib/money";
import {
  defineBackendType,
  readSecret,
  type AsyncGeneration,
  type AsyncOutcome,
  type AsyncSubmission,
  type AttemptContext,
  type Backend,
  type BackendResult,
  type BackendRuntime,
  type BackendStatus,
  type GenerationSpec,
} from "./backend";
import { ComfyClient, type ComfyConnection } from "./comfyui/client";
import { fetchImages, savedImages } from "./comfyui/outputs";
import { ProgressReporter, type ProgressListener } from "./comfyui/progress";
import { promptRejectionError } from "./comfyui/prompt-errors";
import { failureOf, predictSeconds } from "./comfyui/history";
import { queueStateOf, type HistoryEntry, type QueueState } from "./comfyui/protocol";
import { type ComfyUIConfig, comfyuiConfigSchema, templateOf } from "./comfyui/config";
import { modelOf, patchWorkflow, templateSteps, type WorkflowTemplate } from "./comfyui/workflow";
import { BackendError } from "./errors";

export type { ComfyProgress, ProgressListener } from "./comfyui/progress";

/** Our API caps seeds here so they stay exact as JSON numbers (ComfyUI itself takes up to 2^64-1). */
export const MAX_COMFYUI_SEED = Number.MAX_SAFE_INTEGER;

/** Host used for requests through a service binding: the binding decides where they go. */
const BINDING_BASE_URL = "http://comfyui";
const STATUS_CACHE_MS = 30_000;
const STATUS_PROBE_TIMEOUT_MS = 10_000;
const CANCEL_TIMEOUT_MS = 10_000;



export interface ComfyUIGenerateOptions {
  /** Queue position on every poll; sampler steps too when the progress websocket connects. */
  readonly onProgress?: ProgressListener;
}

export interface ComfyUIBackend extends Backend {
  readonly type: "comfyui";
  /** From `cost_per_image_usd`; 0 by default (the box's power is not billed per image). */
  readonly configuredPricePerImage: Usd;
  generate(spec: GenerationSpec, ctx: AttemptContext, options?: ComfyUIGenerateOptions): Promise<BackendResult>;
}

export function isComfyUIBackend(backend: Backend): backend is ComfyUIBackend {
  return backend.type === "comfyui";
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
  private readonly template: WorkflowTemplate;
  private readonly defaultSteps: number | undefined;
  /** Async jobs: queue now, then poll /history + /queue; sampler steps from the websocket meanwhile. */
  readonly async: AsyncGeneration = {
    submit: (spec, ctx) => this.submitAsync(spec, ctx),
    poll: (submission, ctx) => this.pollAsync(submission, ctx),
    cancel: async (submission, ctx) => {
      const { promptId } = asyncStateOf(submission);
      await this.cancel(this.client(ctx.clock), promptId, { state: "pending", ahead: 0 }, ctx);
    },
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

  async generate(spec: GenerationSpec, ctx: AttemptContext, options: ComfyUIGenerateOptions = {}): Promise<BackendResult> {
    const started = ctx.clock.now();
    const elapsed = () => ctx.clock.now() - started;
    const client = new ComfyClient(this.connect(), elapsed);
    const workflow = patchWorkflow(this.template, this.valuesFor(spec));
    const clientId = crypto.randomUUID();
    let promptId = crypto.randomUUID();
    let queued = false;
    const progress = new ProgressReporter(options.onProgress);
    try {
      if (progress.wanted) {
        const socket = await client.openSocket(clientId, { signal: ctx.signal });
        if (socket) progress.attach(socket, () => promptId);
      }
      const answer = await client.submitPrompt({ prompt: workflow, prompt_id: promptId, client_id: clientId }, { signal: ctx.signal });
      if (!answer.accepted) throw promptRejectionError(answer.rejection, this.template.workflow, this.template.inputs);
      promptId = answer.promptId;
      queued = true;
      ctx.log.info("comfyui prompt queued", { backend: this.name, prompt_id: promptId });

      const entry = await this.waitForHistory(client, promptId, progress, ctx, started);
      // Free the socket's connection before the image downloads need theirs.
      progress.close();
      const failure = failureOf(entry);
      if (failure) throw failure;
      const outputs = savedImages(entry).slice(0, spec.n);
      if (outputs.length === 0) {
        throw new BackendError("failed", "ComfyUI finished without saving an image; the workflow must end in SaveImage");
      }
      const images = await fetchImages(client, outputs, { signal: ctx.signal });
      return { images, model: this.model, seed: spec.seed, predictTimeSeconds: predictSeconds(entry), externalId: promptId };
    } catch (error) {
      // Aborted while POST /prompt was in flight: ComfyUI may have the job without us knowing.
      // Our prompt_id is the job's id on current servers, so try to cancel it anyway.
      if (!queued && ctx.signal.aborted) await this.cancel(client, promptId, { state: "pending", ahead: 0 }, ctx);
      // Once ComfyUI has the job, every failure names it, so the usage row can point at it.
      if (queued && error instanceof BackendError && error.extra.externalId === undefined) {
        throw new BackendError(error.kind, error.detail, { ...error.extra, externalId: promptId, cause: error.extra.cause });
      }
      throw error;
    } finally {
      progress.close();
    }
  }

  /** Async job, step 1: queue the prompt (with a client id the progress socket can listen as). */
  private async submitAsync(spec: GenerationSpec, ctx: AttemptContext): Promise<AsyncSubmission> {
    const started = ctx.clock.now();
    const workflow = patchWorkflow(this.template, this.valuesFor(spec));
    const clientId = crypto.randomUUID();
    const answer = await this.client(ctx.clock, started).submitPrompt(
      { prompt: workflow, prompt_id: crypto.randomUUID(), client_id: clientId },
      { signal: ctx.signal },
    );
    if (!answer.accepted) throw promptRejectionError(answer.rejection, this.template.workflow, this.template.inputs);
    ctx.log.info("comfyui prompt queued for a job", { backend: this.name, prompt_id: answer.promptId });
    return {
      externalId: answer.promptId,
      deadline: started + this.config.timeout_s * 1000,
      pollAfterMs: this.config.poll_interval_ms,
      callbacks: false,
      state: { promptId: answer.promptId, clientId, seed: spec.seed, n: spec.n },
    };
  }

  /** Async job, each poll: the history decides; the queue tells queued (and where) from running from lost. */
  private async pollAsync(submission: AsyncSubmission, ctx: AttemptContext): Promise<AsyncOutcome> {
    const { promptId } = asyncStateOf(submission);
    const client = this.client(ctx.clock);
    const call = { signal: ctx.signal };
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
      // The box could not be asked (tunnel down…): the job asks again later; the error names the prompt.
      if (error instanceof BackendError && error.extra.externalId === undefined) {
        throw new BackendError(error.kind, error.detail, { ...error.extra, externalId: promptId });
      }
      throw error;
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

  /** Poll until the job is in the history, is lost, or the deadline passes (then cancel it). */
  private async waitForHistory(
    client: ComfyClient,
    promptId: string,
    progress: ProgressReporter,
    ctx: AttemptContext,
    started: number,
  ): Promise<HistoryEntry> {
    const deadline = started + this.config.timeout_s * 1000;
    const call = { signal: ctx.signal };
    let last: QueueState = { state: "pending", ahead: 0 };
    try {
      for (;;) {
        const entry = await client.history(promptId, call);
        if (entry) return entry;
        const state = queueStateOf(await client.queue(call), promptId);
        if (state.state === "absent") {
          // It may have finished between the two reads; only then is "nowhere" final.
          const late = await client.history(promptId, call);
          if (late) return late;
          throw new BackendError("unavailable", "ComfyUI lost the job (restarted?): it is neither queued nor in the history", {
            externalId: promptId,
          });
        }
        last = state;
        progress.fromQueue(state);
        const remaining = deadline - ctx.clock.now();
        if (remaining <= 0) {
          await this.cancel(client, promptId, last, ctx);
          const where = last.state === "running" ? "still running" : `still queued behind ${last.ahead} job(s)`;
          throw new BackendError(
            "timeout",
            `ComfyUI did not finish within ${this.config.timeout_s} s (${where}, after ${ctx.clock.now() - started} ms); the job was cancelled on the box`,
            { externalId: promptId },
          );
        }
        await ctx.clock.sleep(Math.min(this.config.poll_interval_ms, remaining), ctx.signal);
      }
    } catch (error) {
      // The caller gave up (its own deadline, a client disconnect): do not leave the GPU busy.
      if (ctx.signal.aborted) await this.cancel(client, promptId, last, ctx);
      throw error;
    }
  }

  /**
   * Best effort: drop a queued job, interrupt a running one. The interrupt names our prompt_id;
   * servers older than targeted interrupts stop whatever runs, so we only interrupt once our
   * job is the one running.
   */
  private async cancel(client: ComfyClient, promptId: string, last: QueueState, ctx: AttemptContext): Promise<void> {
    const call = { timeoutMs: CANCEL_TIMEOUT_MS };
    try {
      if (last.state === "pending") {
        await client.deleteFromQueue(promptId, call);
        if (queueStateOf(await client.queue(call), promptId).state !== "running") return;
      }
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

/** The state an async submission carries (see submitAsync); checked, since it comes back from storage. */
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
  return raw.replace(/^\S+:\d+\s+/, "").replace(/\s+:\s+\S+$/, "").trim() || raw;
}
