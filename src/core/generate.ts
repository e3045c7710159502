/**
 * The generation pipeline: plain TypeScript, no HTTP (DESIGN principle 1). Plan the request, try
 * the backend chain (one usage event per attempt), store the images under the naming template,
 * write sidecars. Everything it touches is passed in.
 *
 * The steps are exported so the async job (src/jobs) finishes a job with the same code:
 *   prepareGeneration → per attempt: settleSuccess | settleFailure (one usage event each)
 *   → storeImages (./store-images) → outcomeOf.
 */
import type { Backend, BackendResult } from "../backends/backend";
import { BackendError } from "../backends/errors";
import type { ImagenConfig } from "../config/schema";
import type { Clock } from "../lib/clock";
import { sha256Hex } from "../lib/hash";
import type { IdSource } from "../lib/ids";
import type { Logger } from "../lib/log";
import { type Usd, usd, ZERO_USD } from "../lib/money";
import type { CostEstimate, CostEstimator } from "../pricing/estimator";
import type { ImageStore } from "../storage/image-store";
import { withSuffix } from "../storage/naming";
import { logLostUsageEvent } from "../usage/deferred-sink";
import type { UsageEvent, UsageSink } from "../usage/event";
import { type FailedAttempt, GenerationFailedError, OutputConflictError } from "./errors";
import { storeImages } from "./store-images";
import { type GenerationPlan, planGeneration } from "./plan";
import type { Caller, GenerationRequest } from "./request";

export interface PipelineDeps {
  readonly config: ImagenConfig;
  /** Resolves an instance name to its backend (instances are built lazily). */
  readonly backend: (name: string) => Backend;
  readonly store: ImageStore;
  readonly usage: UsageSink;
  readonly pricing: CostEstimator;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly log: Logger;
}

export interface GeneratedImageRecord {
  readonly id: string;
  readonly key: string;
  readonly sidecar_key: string | null;
  readonly width: number;
  readonly height: number;
  readonly mime_type: string;
  readonly bytes: number;
}

export interface GenerationOutcome {
  readonly request_id: string;
  readonly backend: string;
  readonly model: string;
  readonly model_version: string | null;
  readonly seed: number;
  readonly latency_ms: number;
  readonly cost_usd_estimate: Usd | null;
  readonly images: readonly GeneratedImageRecord[];
  /** Backends that failed before the one that succeeded (empty without fallback). */
  readonly failed_attempts: readonly FailedAttempt[];
  /** Only when the backend reports them. */
  readonly revised_prompt?: string;
  readonly usage?: { readonly input_tokens: number; readonly output_tokens: number; readonly total_tokens: number };
}

export interface SuccessfulAttempt {
  readonly backend: Backend;
  readonly result: BackendResult;
  readonly latencyMs: number;
  readonly cost: CostEstimate | null;
}

/** A planned request and what every attempt's usage event needs to know about it. */
export interface PreparedGeneration {
  readonly plan: GenerationPlan;
  readonly request: GenerationRequest;
  readonly caller: Caller;
  readonly requestId: string;
  readonly promptHash: string;
}

export async function generate(
  request: GenerationRequest,
  caller: Caller,
  requestId: string,
  deps: PipelineDeps,
): Promise<GenerationOutcome> {
  const prepared = await prepareGeneration(request, caller, requestId, deps);
  const attempt = await runChain(prepared, deps);
  const images = await storeImages(prepared, attempt, deps);
  return outcomeOf(attempt, images, attempt.failed, requestId);
}

/**
 * Step 1: plan the request (unknown backend or style → InvalidRequestError) and make sure an
 * explicit output key is free (→ OutputConflictError), before anything is spent.
 */
export async function prepareGeneration(
  request: GenerationRequest,
  caller: Caller,
  requestId: string,
  deps: Pick<PipelineDeps, "config" | "ids" | "backend" | "store">,
): Promise<PreparedGeneration> {
  const plan = planGeneration(request, deps.config, deps.ids, deps.backend);
  if (request.output !== undefined) await ensureOutputFree(request.output, request.n, deps.store);
  return { plan, request, caller, requestId, promptHash: await sha256Hex(request.prompt) };
}

/** The answer a finished generation gives (the body of the sync 201, before URLs are added). */
export function outcomeOf(
  attempt: SuccessfulAttempt,
  images: readonly GeneratedImageRecord[],
  failed: readonly FailedAttempt[],
  requestId: string,
): GenerationOutcome {
  return {
    request_id: requestId,
    backend: attempt.backend.name,
    model: attempt.result.model,
    model_version: attempt.result.modelVersion ?? null,
    seed: attempt.result.seed,
    latency_ms: attempt.latencyMs,
    cost_usd_estimate: attempt.cost?.usd ?? null,
    images,
    failed_attempts: failed,
    ...(attempt.result.revisedPrompt !== undefined && { revised_prompt: attempt.result.revisedPrompt }),
    ...(attempt.result.tokenUsage && {
      usage: {
        input_tokens: attempt.result.tokenUsage.inputTokens,
        output_tokens: attempt.result.tokenUsage.outputTokens,
        total_tokens: attempt.result.tokenUsage.inputTokens + attempt.result.tokenUsage.outputTokens,
      },
    }),
  };
}

/** A request the provider itself rejected would be rejected by the next backend too. */
export function mayFallBack(error: BackendError): boolean {
  return error.kind !== "invalid_request";
}

async function ensureOutputFree(output: string, n: number, store: ImageStore): Promise<void> {
  for (let i = 0; i < n; i++) {
    const key = i === 0 ? output : withSuffix(output, i + 1);
    if (await store.exists(key)) throw new OutputConflictError(key);
  }
}

/** Try each backend in the chain; every attempt becomes exactly one usage event. */
async function runChain(
  prepared: PreparedGeneration,
  deps: PipelineDeps,
): Promise<SuccessfulAttempt & { failed: FailedAttempt[] }> {
  const failed: FailedAttempt[] = [];
  let lastError: BackendError | undefined;
  for (const [index, name] of prepared.plan.chain.entries()) {
    const backend = deps.backend(name);
    const started = deps.clock.now();
    const log = attemptLog(prepared, name, index, deps);
    try {
      const result = await backend.generate(prepared.plan.spec, {
        signal: new AbortController().signal,
        clock: deps.clock,
        requestId: prepared.requestId,
        log,
      });
      const success = await settleSuccess(prepared, backend, index, result, deps.clock.now() - started, deps, log);
      return { ...success, failed };
    } catch (error) {
      const settled = await settleFailure(prepared, backend, index, error, deps.clock.now() - started, deps, log);
      failed.push(settled.failed);
      lastError = settled.error;
      if (!mayFallBack(settled.error)) break;
    }
  }
  throw new GenerationFailedError(lastError!, failed);
}

/** The logger of one attempt: request id, backend and 1-based attempt number on every line. */
export function attemptLog(prepared: PreparedGeneration, backend: string, index: number, deps: Pick<PipelineDeps, "log">): Logger {
  return deps.log.child({ request_id: prepared.requestId, backend, attempt: index + 1 });
}

/**
 * Step 2, an attempt that produced images: estimate its cost and record its one usage event.
 * `eventId` lets a caller that may repeat this step (a job resumed after a restart) keep the
 * event's id, so the ledger still holds one row.
 */
export async function settleSuccess(
  prepared: PreparedGeneration,
  backend: Backend,
  index: number,
  result: BackendResult,
  latencyMs: number,
  deps: PipelineDeps,
  log: Logger = attemptLog(prepared, backend.name, index, deps),
  eventId?: string,
): Promise<SuccessfulAttempt> {
  const cost = await estimateCost(backend, result, deps.pricing, log);
  await emit(usageEvent(prepared, backend, index, latencyMs, { result, cost }, deps, eventId), deps);
  return { backend, result, latencyMs, cost };
}

/** Step 2, an attempt that failed (any error; non-backend ones count as crashes): its one usage event. */
export async function settleFailure(
  prepared: PreparedGeneration,
  backend: Backend,
  index: number,
  error: unknown,
  latencyMs: number,
  deps: PipelineDeps,
  log: Logger = attemptLog(prepared, backend.name, index, deps),
  eventId?: string,
): Promise<{ error: BackendError; failed: FailedAttempt }> {
  const backendError =
    error instanceof BackendError
      ? error
      : new BackendError("failed", `backend "${backend.name}" crashed: ${errorMessage(error)}`, { cause: error });
  await emit(usageEvent(prepared, backend, index, latencyMs, { error: backendError }, deps, eventId), deps);
  log.warn("backend attempt failed", { kind: backendError.kind, detail: backendError.detail, latency_ms: latencyMs });
  return {
    error: backendError,
    failed: {
      backend: backend.name,
      kind: backendError.kind,
      detail: backendError.detail,
      latency_ms: latencyMs,
      ...(backendError.extra.externalId !== undefined && { external_id: backendError.extra.externalId }),
    },
  };
}

async function estimateCost(
  backend: Backend,
  result: BackendResult,
  pricing: CostEstimator,
  log: Logger,
): Promise<CostEstimate | null> {
  const first = result.images[0];
  if (!first) return { usd: ZERO_USD, priceId: null };
  if (backend.configuredPricePerImage !== undefined) {
    return { usd: usd(backend.configuredPricePerImage * result.images.length), priceId: null };
  }
  try {
    return await pricing.estimate({
      provider: backend.provider,
      model: result.model,
      imagesProduced: result.images.length,
      width: first.width,
      height: first.height,
    });
  } catch (error) {
    // An unknown price is recorded as NULL, never guessed; the image still lands.
    log.error("cost estimate failed", { error: errorMessage(error) });
    return null;
  }
}

function usageEvent(
  data: PreparedGeneration,
  backend: Backend,
  index: number,
  latencyMs: number,
  outcome: { result: BackendResult; cost: CostEstimate | null } | { error: BackendError },
  deps: PipelineDeps,
  eventId: string = deps.ids.newId(),
): UsageEvent {
  const { plan } = data;
  const ok = "result" in outcome;
  const first = ok ? outcome.result.images[0] : undefined;
  return {
    event_id: eventId,
    occurred_at: new Date(deps.clock.now()).toISOString(),
    request_id: data.requestId,
    caller: data.caller.name,
    source: data.request.source ?? null,
    backend: backend.name,
    backend_type: backend.type,
    model: ok ? outcome.result.model : backend.model,
    model_version: ok ? (outcome.result.modelVersion ?? null) : null,
    seed: ok ? outcome.result.seed : plan.spec.seed,
    prompt_hash: data.promptHash,
    width: first?.width ?? plan.spec.width,
    height: first?.height ?? plan.spec.height,
    images_requested: plan.spec.n,
    images_produced: ok ? outcome.result.images.length : 0,
    latency_ms: Math.round(latencyMs),
    cost_usd_estimate: ok ? (outcome.cost?.usd ?? null) : ZERO_USD,
    price_id: ok ? (outcome.cost?.priceId ?? null) : null,
    success: ok,
    error_code: ok ? null : outcome.error.kind,
    error_message: ok ? null : outcome.error.detail,
    external_id: ok ? (outcome.result.externalId ?? null) : (outcome.error.extra.externalId ?? null),
    attempt: index + 1,
  };
}

/** The ledger never fails a generation; a sink that cannot take the event is logged loudly. */
async function emit(event: UsageEvent, deps: PipelineDeps): Promise<void> {
  try {
    await deps.usage.record(event);
  } catch (error) {
    logLostUsageEvent(deps.log, event, error);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
