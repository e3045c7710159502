/**
 * The generation pipeline's shapes and its first and last steps, plain TypeScript with no HTTP:
 * what it depends on, how a request is prepared before anything is spent, and the answer a
 * finished generation gives. The attempts in between belong to the runner (./runner.ts).
 */
import type { Backend, BackendResult, ReferenceInputs, TokenUsage } from "../backends/backend";
import type { ImagenConfig } from "../config/schema";
import type { Clock } from "../lib/clock";
import { sha256Hex } from "../lib/hash";
import type { IdSource } from "../lib/ids";
import type { Logger } from "../lib/log";
import type { Usd } from "../lib/money";
import type { CostEstimate, CostEstimator } from "../pricing/estimator";
import type { ImageStore } from "../storage/image-store";
import type { ReferenceStore } from "../storage/reference-store";
import type { UsageSink } from "../usage/event";
import type { AttemptGuard } from "./attempt-guard";
import type { CooldownBook } from "./cooldown";
import type { FailedAttempt } from "./errors";
import { claimOutput } from "./explicit-output";
import { type GenerationPlan, planGeneration } from "./plan";
import type { Caller } from "../lib/caller";
import type { GenerationRequest } from "./request";

export interface PipelineDeps {
  readonly config: ImagenConfig;
  /** Resolves an instance name to its backend (instances are built lazily). */
  readonly backend: (name: string) => Backend;
  readonly store: ImageStore;
  /** Input images of edits: read to check a reference, written for an upload (./references.ts). */
  readonly references: ReferenceStore;
  /** How an attempt's backend reads an edit's inputs (bytes, or a signed URL). */
  readonly inputs: ReferenceInputs;
  readonly usage: UsageSink;
  readonly pricing: CostEstimator;
  /** Asked before every attempt; NO_GUARD when spend is not limited. */
  readonly guard: AttemptGuard;
  /** Backends that failed as unreachable, skipped for a while (per isolate). */
  readonly cooldowns: CooldownBook;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly log: Logger;
}

/** An attempt that produced images: what storing them and the answer are made from. */
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
  /** Only when the backend reports them (OpenAI's `revised_prompt` and token `usage`). */
  readonly revised_prompt?: string;
  readonly usage?: TokenUsage;
}

/**
 * Plan the request (unknown backend or style → InvalidRequestError) and claim an explicit output
 * key — the caller's own, free, and reserved for this request (→ OutputConflictError) — before
 * anything is spent. Whoever prepares a request with an output releases it when the request
 * ends (releaseOutput in ./explicit-output.ts).
 */
export async function prepareGeneration(
  request: GenerationRequest,
  caller: Caller,
  requestId: string,
  deps: Pick<PipelineDeps, "config" | "ids" | "backend" | "store">,
): Promise<PreparedGeneration> {
  const plan = planGeneration(request, deps.config, deps.ids, deps.backend);
  if (request.output !== undefined) await claimOutput({ ...request, output: request.output }, caller, requestId, deps);
  return { plan, request, caller, requestId, promptHash: await sha256Hex(request.prompt) };
}

/** The answer a finished generation gives (the body of the sync 201, before URLs are added). */
export function outcomeOf(
  attempt: SuccessfulAttempt,
  images: readonly GeneratedImageRecord[],
  failed: readonly FailedAttempt[],
  requestId: string,
): GenerationOutcome {
  const revisedPrompt = attempt.result.images.find((image) => image.revisedPrompt !== undefined)?.revisedPrompt;
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
    ...(revisedPrompt !== undefined && { revised_prompt: revisedPrompt }),
    ...(attempt.result.tokenUsage && { usage: attempt.result.tokenUsage }),
  };
}
