/**
 * Reuse: the same seeded request twice within `guard.reuse_window_s` pays once. A request is the
 * same when caller, backend, prompt, explicit non-zero seed, size, steps, style, negative and n
 * all match (an explicit output key never matches: it asks for a new object). The second answer
 * carries the first one's images, `reused_from` and a cost-0 usage event marked `backend_type
 * "reuse"` whose `external_id` names the request that paid.
 *
 * Hono-free; the index lives in the caller's Durable Object (./store/reuse-index.ts).
 */
import type { GenerationOutcome } from "../core/pipeline";
import type { GenerationRequest } from "../core/request";
import { sha256Hex } from "../lib/hash";
import { ZERO_USD } from "../lib/money";
import type { UsageEvent } from "../usage/event";
import type { CallerGuard } from "./caller-guard";

export const REUSED_FROM_HEADER = "imagen-reused-from";
/** The ledger's mark of a reused answer (the `backend_type` of its usage event). */
export const REUSE_BACKEND_TYPE = "reuse";

export interface ReuseSettings {
  readonly windowSeconds: number;
  readonly defaultBackend: string;
}

/** The request's fingerprint, or null when it may not be reused (no explicit seed, explicit output, reuse off). */
export async function reuseFingerprint(request: GenerationRequest, caller: string, settings: ReuseSettings): Promise<string | null> {
  if (settings.windowSeconds === 0 || !request.seed || request.output !== undefined) return null;
  const { prompt, backend = settings.defaultBackend, size, seed, steps, style, negative, n } = request;
  return sha256Hex(JSON.stringify([caller, backend, await sha256Hex(prompt), seed, size ?? null, steps ?? null, style ?? null, negative ?? null, n]));
}

export class GenerationReuse {
  constructor(
    private readonly stub: DurableObjectStub<CallerGuard>,
    private readonly fingerprint: string,
    private readonly windowSeconds: number,
  ) {}

  async find(): Promise<GenerationOutcome | null> {
    return (await this.stub.findReuse(this.fingerprint)) as GenerationOutcome | null;
  }

  remember(outcome: GenerationOutcome): Promise<void> {
    return this.stub.rememberReuse(this.fingerprint, outcome, this.windowSeconds * 1000);
  }
}

/** The answer a reuse hit gives: the stored images under this request's id, at no cost. */
export function reusedOutcome(stored: GenerationOutcome, requestId: string): GenerationOutcome & { readonly reused_from: string } {
  return { ...stored, request_id: requestId, latency_ms: 0, cost_usd_estimate: ZERO_USD, failed_attempts: [], reused_from: stored.request_id };
}

export interface ReuseEventInput {
  readonly eventId: string;
  readonly requestId: string;
  readonly caller: string;
  readonly source: string | null;
  readonly promptHash: string;
  readonly now: number;
}

/** The ledger row of a reuse hit: cost 0, success, no error; `external_id` = the request that paid. */
export function reuseUsageEvent(stored: GenerationOutcome, n: number, input: ReuseEventInput): UsageEvent {
  const first = stored.images[0];
  return {
    event_id: input.eventId,
    occurred_at: new Date(input.now).toISOString(),
    request_id: input.requestId,
    caller: input.caller,
    source: input.source,
    backend: stored.backend,
    backend_type: REUSE_BACKEND_TYPE,
    model: stored.model,
    model_version: stored.model_version,
    seed: stored.seed,
    prompt_hash: input.promptHash,
    width: first?.width ?? 0,
    height: first?.height ?? 0,
    images_requested: n,
    images_produced: stored.images.length,
    latency_ms: 0,
    cost_usd_estimate: ZERO_USD,
    price_id: null,
    success: true,
    error_code: null,
    error_message: null,
    external_id: stored.request_id,
    attempt: 1,
  };
}
