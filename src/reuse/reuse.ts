/**
 * Reuse: the same seeded request twice within `guard.reuse_window_s` pays once. A request is the
 * same when caller, backend, prompt, explicit non-zero seed, size, steps, style, negative and n
 * all match (an explicit output key never matches: it asks for a new object). The second answer
 * carries the first one's images, `reused_from` and a cost-0 usage event marked `backend_type
 * "reuse"` whose `external_id` names the request that paid. An identical request that arrives
 * while the first is still generating waits for it (up to `guard.idempotency_wait_seconds`), and
 * a stored answer whose images are no longer in the bucket is forgotten, not handed out.
 *
 * Hono-free; the index lives in the caller's Durable Object (./reuse-index.ts).
 */
import type { GenerationOutcome } from "../core/pipeline";
import type { GenerationRequest } from "../core/request";
import { sha256Hex } from "../lib/hash";
import { ZERO_USD } from "../lib/money";
import type { UsageEvent } from "../usage/event";

export const REUSED_FROM_HEADER = "imagen-reused-from";
/** The ledger's mark of a reused answer (the `backend_type` of its usage event). */
const REUSE_BACKEND_TYPE = "reuse";

export interface ReuseSettings {
  readonly windowSeconds: number;
  readonly defaultBackend: string;
  /** How long an identical request waits for one still generating. */
  readonly waitSeconds: number;
}

/** The request's fingerprint, or null when it may not be reused (no explicit seed, explicit output, reuse off). */
export async function reuseFingerprint(request: GenerationRequest, caller: string, settings: ReuseSettings): Promise<string | null> {
  if (settings.windowSeconds === 0 || !request.seed || request.output !== undefined) return null;
  const { prompt, backend = settings.defaultBackend, size, seed, steps, style, negative, n } = request;
  const parts: unknown[] = [caller, backend, await sha256Hex(prompt), seed, size ?? null, steps ?? null, style ?? null, negative ?? null, n];
  // An edit is the same request only with the same inputs (by their hashes).
  if (request.references?.length)
    parts.push(
      request.references.map((input) => input.sha256),
      request.mask?.sha256 ?? null,
      request.inputFidelity ?? null,
    );
  return sha256Hex(JSON.stringify(parts));
}

/**
 * The reuse methods of the caller's Durable Object (src/guard/caller-guard.ts), as this module
 * calls them; named here so that reuse does not depend on the object that hosts its index.
 */
interface ReuseStore {
  findReuse(fingerprint: string, holder: string, waitMs: number): Promise<unknown>;
  rememberReuse(fingerprint: string, holder: string, outcome: GenerationOutcome, ttlMs: number): Promise<void>;
  abandonReuse(fingerprint: string, holder: string): Promise<void>;
  forgetReuse(fingerprint: string): Promise<void>;
}

/**
 * One request's use of the reuse index: its lookup travels with the request's admission (the
 * caller's object finds a stored answer, or makes this request the one generating); then
 * confirm the answer found, or remember or abandon what this request generated.
 */
export class GenerationReuse {
  constructor(
    private readonly stub: ReuseStore,
    private readonly fingerprint: string,
    /** This request's id: while it generates, identical requests wait for it. */
    private readonly holder: string,
    private readonly settings: ReuseSettings,
    /** Whether every one of these objects is still in the bucket. */
    private readonly stillStored: (keys: readonly string[]) => Promise<boolean>,
  ) {}

  /**
   * The answer of an identical earlier request that the request's admission found: itself when
   * its images are all still stored; else it is forgotten and the index asked again (null =
   * generate, and then remember or abandon).
   */
  async confirm(found: GenerationOutcome): Promise<GenerationOutcome | null> {
    if (await this.stillStored(found.images.map((image) => image.key))) return found;
    await this.stub.forgetReuse(this.fingerprint);
    return (await this.stub.findReuse(this.fingerprint, this.holder, this.settings.waitSeconds * 1000)) as GenerationOutcome | null;
  }

  remember(outcome: GenerationOutcome): Promise<void> {
    return this.stub.rememberReuse(this.fingerprint, this.holder, outcome, this.settings.windowSeconds * 1000);
  }

  abandon(): Promise<void> {
    return this.stub.abandonReuse(this.fingerprint, this.holder);
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
  /** The request's own attribution and X-Request-Id, kept as on every generated row. */
  readonly ref: string | null;
  readonly clientRequestId: string | null;
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
    ref: input.ref,
    client_request_id: input.clientRequestId,
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
