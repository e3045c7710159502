/**
 * One attempt of a generation on one backend, and its one usage event. The runner
 * (./runner.ts) decides when an attempt starts and ends; this module says what an attempt is
 * (plain JSON, so a job can store it between steps) and what its ledger row holds.
 */
import type { AsyncSubmission, Backend, BackendResult } from "../backends/backend";
import { BackendError } from "../backends/errors";
import type { Logger } from "../lib/log";
import { type Usd, usd, ZERO_USD } from "../lib/money";
import type { CostEstimate, CostEstimator } from "../pricing/estimator";
import { logLostUsageEvent } from "../usage/deferred-sink";
import type { UsageEvent } from "../usage/event";
import type { FailedAttempt } from "./errors";
import { costExposure, type CostUnknownReason } from "../spend/exposure";
import type { PipelineDeps, PreparedGeneration, SuccessfulAttempt } from "./pipeline";

/** One backend attempt in flight. */
export interface AttemptState {
  /** Position in the plan's chain (0-based); equals the number of attempts that failed before it. */
  readonly index: number;
  readonly backend: string;
  /** Fixed when the attempt starts, so a step repeated after a restart still makes one ledger row. */
  readonly eventId: string;
  /** Clock time (ms) the attempt started: its usage event's latency runs from here. */
  readonly startedAt: number;
  /** The provider's job once it accepted one (job protocols); null before, and for one-shot calls. */
  readonly submission: AsyncSubmission | null;
  /** Failed polls in a row (the provider could not be asked); reset by an answer. */
  readonly pollErrors: number;
  /** What the spend guard reserved for it (0 = nothing); absent until it was reserved. */
  readonly reservedUsd?: Usd;
  /** Clock time (ms) a paid call to the provider went out; stored first, so a restart never sends it again. */
  readonly sentAt?: number;
  /**
   * The create went out and its answer was lost (jobs): the provider's webhook, which names this
   * attempt in its URL, may still bring the work; waited for until this clock time, then the
   * attempt fails with its cost unknown. `lostDetail` says how the answer was lost.
   */
  readonly lostUntil?: number;
  readonly lostDetail?: string;
  /** Why its answer is missing: what its cost is ledgered as unknown for, if nothing resolves it. */
  readonly lostReason?: CostUnknownReason;
}

/** The logger of one attempt: request id, backend and 1-based attempt number on every line. */
export function attemptLog(prepared: PreparedGeneration, attempt: Pick<AttemptState, "backend" | "index">, log: Logger): Logger {
  return log.child({ request_id: prepared.requestId, backend: attempt.backend, attempt: attempt.index + 1 });
}

/** An attempt that produced images: its cost estimate and its usage event. */
export async function recordSuccess(
  prepared: PreparedGeneration,
  backend: Backend,
  attempt: AttemptState,
  result: BackendResult,
  deps: PipelineDeps,
  log: Logger,
  reservedUsd: Usd | null,
): Promise<SuccessfulAttempt> {
  const latencyMs = deps.clock.now() - attempt.startedAt;
  const cost = await estimateCost(backend, result, deps.pricing, log);
  await emit(usageEvent(prepared, backend, attempt, latencyMs, { result, cost }, reservedUsd, deps), deps);
  return { backend, result, latencyMs, cost };
}

/** An attempt that failed (any error; non-backend ones count as crashes): its usage event. */
export async function recordFailure(
  prepared: PreparedGeneration,
  backend: Backend,
  attempt: AttemptState,
  error: unknown,
  deps: PipelineDeps,
  log: Logger,
  unknownReason: CostUnknownReason,
): Promise<{ error: BackendError; failed: FailedAttempt; chargedUsd: Usd | null; event: UsageEvent }> {
  const latencyMs = deps.clock.now() - attempt.startedAt;
  const backendError =
    error instanceof BackendError ? error : new BackendError("failed", `backend "${backend.name}" crashed: ${messageOf(error)}`, { cause: error });
  const exposure = costExposure({ error: backendError, accepted: attempt.submission !== null });
  const charged = await chargedCost(backend, backendError, deps.pricing, log);
  const outcome = { error: backendError, charged, ...(exposure === "unknown" && { unknownReason }) };
  const event = usageEvent(prepared, backend, attempt, latencyMs, outcome, attempt.reservedUsd ?? null, deps);
  await emit(event, deps);
  log.warn("backend attempt failed", { kind: backendError.kind, detail: backendError.detail, latency_ms: latencyMs });
  return {
    error: backendError,
    event,
    chargedUsd: charged?.cost?.usd ?? null,
    failed: {
      backend: backend.name,
      kind: backendError.kind,
      detail: backendError.detail,
      latency_ms: latencyMs,
      ...(backendError.extra.externalId !== undefined && { external_id: backendError.extra.externalId }),
      cost_exposure: exposure,
    },
  };
}

/** What a failed attempt is still billed: the images the provider made but we could not take. */
interface ChargedFailure {
  readonly images: number;
  /** null = unpriced (recorded as NULL, never guessed). */
  readonly cost: CostEstimate | null;
}

export async function chargedCost(backend: Backend, error: BackendError, pricing: CostEstimator, log: Logger): Promise<ChargedFailure | null> {
  const charged = error.extra.charged;
  if (!charged || charged.images === 0) return null;
  if (backend.configuredPricePerImage !== undefined) {
    return { images: charged.images, cost: { usd: usd(backend.configuredPricePerImage * charged.images), priceId: null } };
  }
  try {
    const cost = await pricing.estimate({
      provider: backend.provider,
      model: backend.model,
      imagesProduced: charged.images,
      width: charged.width,
      height: charged.height,
    });
    return { images: charged.images, cost };
  } catch (error) {
    log.error("cost estimate failed", { error: messageOf(error) });
    return { images: charged.images, cost: null };
  }
}

/** What a result's images cost, priced by the instance's configured model; null = unpriced. */
export async function estimateCost(backend: Backend, result: BackendResult, pricing: CostEstimator, log: Logger): Promise<CostEstimate | null> {
  const first = result.images[0];
  if (!first) return { usd: ZERO_USD, priceId: null };
  if (backend.configuredPricePerImage !== undefined) {
    return { usd: usd(backend.configuredPricePerImage * result.images.length), priceId: null };
  }
  try {
    // Priced by the configured model, as the guard reserved it: a provider's echo may not name
    // it (a version-pinned Replicate prediction).
    return await pricing.estimate({
      provider: backend.provider,
      model: backend.model,
      imagesProduced: result.images.length,
      width: first.width,
      height: first.height,
      ...(result.quality !== undefined && { quality: result.quality }),
    });
  } catch (error) {
    // An unknown price is recorded as NULL, never guessed; the image still lands.
    log.error("cost estimate failed", { error: messageOf(error) });
    return null;
  }
}

function usageEvent(
  prepared: PreparedGeneration,
  backend: Backend,
  attempt: AttemptState,
  latencyMs: number,
  outcome: { result: BackendResult; cost: CostEstimate | null } | { error: BackendError; charged: ChargedFailure | null; unknownReason?: CostUnknownReason },
  reservedUsd: Usd | null,
  deps: PipelineDeps,
): UsageEvent {
  const { spec } = prepared.plan;
  const ok = "result" in outcome;
  const first = ok ? outcome.result.images[0] : undefined;
  return {
    event_id: attempt.eventId,
    occurred_at: new Date(deps.clock.now()).toISOString(),
    request_id: prepared.requestId,
    caller: prepared.caller.name,
    source: prepared.request.source ?? null,
    ref: prepared.request.ref ?? null,
    client_request_id: prepared.request.clientRequestId ?? null,
    backend: backend.name,
    backend_type: backend.type,
    model: ok ? outcome.result.model : backend.model,
    model_version: ok ? (outcome.result.modelVersion ?? null) : null,
    seed: ok ? outcome.result.seed : spec.seed,
    prompt_hash: prepared.promptHash,
    width: first?.width ?? spec.width,
    height: first?.height ?? spec.height,
    images_requested: spec.n,
    images_produced: ok ? outcome.result.images.length : (outcome.charged?.images ?? 0),
    latency_ms: Math.round(latencyMs),
    // Unknown is not zero: an attempt that may have been billed is NULL with the reason why.
    cost_usd_estimate: ok ? (outcome.cost?.usd ?? null) : outcome.unknownReason ? null : outcome.charged ? (outcome.charged.cost?.usd ?? null) : ZERO_USD,
    cost_unknown_reason: ok ? null : (outcome.unknownReason ?? null),
    price_id: ok ? (outcome.cost?.priceId ?? null) : (outcome.charged?.cost?.priceId ?? null),
    success: ok,
    error_code: ok ? null : outcome.error.kind,
    error_message: ok ? null : outcome.error.detail,
    external_id: ok
      ? (outcome.result.externalId ?? attempt.submission?.externalId ?? null)
      : (outcome.error.extra.externalId ?? attempt.submission?.externalId ?? null),
    attempt: attempt.index + 1,
    reserved_usd: reservedUsd,
    provider_predict_time_s: ok ? (outcome.result.predictTimeSeconds ?? null) : null,
    // A failed attempt the provider still billed (paid_output_lost) reports the images it made.
    provider_image_count: ok ? (outcome.result.providerImageCount ?? null) : (outcome.charged?.images ?? null),
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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
