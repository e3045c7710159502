/**
 * The one interface every backend implements. A backend speaks its provider's protocol for one
 * attempt and reports its own status; everything around the attempt (waiting, deadlines,
 * cancellation, fallback, usage events, spend, storage, HTTP) belongs to the runner
 * (src/core/runner.ts), so sync requests and async jobs drive every backend the same way.
 *
 * Two protocol shapes:
 *   - one-shot: one call returns the images (the mock, Together, OpenAI images);
 *   - job: the provider keeps the work (Replicate predictions, ComfyUI's queue): submit, then
 *     poll or take callbacks, cancel when nobody waits any more.
 */
import type { ImagesResponse } from "openai/resources/images";
import type { z } from "zod";
import type { Clock } from "../lib/clock";
import type { Size } from "../lib/size";
import type { Usd } from "../lib/money";
import type { Logger } from "../lib/log";
import type { BackendError } from "./errors";

export type ImageMimeType = "image/png" | "image/jpeg" | "image/webp";

export const EXTENSION_BY_MIME: Record<ImageMimeType, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
};

/** What a backend is asked to make. Style, defaults and the seed are already resolved. */
export interface GenerationSpec {
  /** The prompt after the style template was applied. */
  readonly prompt: string;
  readonly negative?: string;
  readonly width: number;
  readonly height: number;
  /** Always concrete: the pipeline draws one when the caller did not name it. */
  readonly seed: number;
  /** Undefined = the instance's default steps. */
  readonly steps?: number;
  readonly n: number;
  /** The caller's quality (OpenAI's word); backends with a quality setting check and use it, others ignore it. */
  readonly quality?: string;
  /** The caller's image format; backends that can choose one check and use it, others ignore it. */
  readonly outputFormat?: OutputFormat;
  /**
   * An edit: the images to start from, in the caller's order (at least one when present). Only
   * backends with `edits` receive a spec that has them; the bytes come through `AttemptContext.inputs`.
   */
  readonly references?: readonly ReferenceImage[];
  /** Where to edit: a PNG whose transparent pixels mark the area, the size of `references[0]`. Only with references. */
  readonly mask?: ReferenceImage;
  /** How closely an edit keeps the inputs' features (OpenAI's `input_fidelity`); backends without such a setting ignore it. */
  readonly inputFidelity?: InputFidelity;
}

export type InputFidelity = "high" | "low";

/**
 * One input image of an edit, as a spec carries it: plain JSON (a job stores its spec), never the
 * bytes. It names a stored object the caller owns (an earlier result, or an upload the API stored
 * under the caller's folder), already checked: its type sniffed from its bytes, its size read
 * from them, its hash taken when the request was accepted.
 */
export interface ReferenceImage {
  /** The R2 key of the stored object. */
  readonly key: string;
  /** Hex sha256 of its bytes: `inputs.bytes` refuses an object that changed since. */
  readonly sha256: string;
  readonly mimeType: ImageMimeType;
  readonly width: number;
  readonly height: number;
  /** Its length in bytes. */
  readonly bytes: number;
}

/** What an instance does with reference images; absent on a backend that only makes images from text. */
export interface EditSupport {
  /** The most reference images one request may carry (OpenAI's GPT image models take 16; FLUX Kontext one). */
  readonly maxImages: number;
  /** Whether it takes a mask (OpenAI does; FLUX Kontext does not). */
  readonly mask: boolean;
}

/**
 * How a backend reaches the input images of an edit (`AttemptContext.inputs`). Providers that take
 * the bytes in the request (OpenAI's multipart edits, ComfyUI's `/upload/image`) read `bytes`;
 * providers that fetch by URL (Replicate, Together) get a short-lived signed URL — never the API
 * key, and only for a recipient the deployment's config names.
 */
export interface ReferenceInputs {
  /**
   * The stored bytes of one of the spec's references or its mask, checked against its sha256.
   * Throws BackendError `failed` when the object is gone or changed.
   */
  bytes(image: ReferenceImage): Promise<Uint8Array>;
  /**
   * A signed URL to it that opens without a key for a few minutes (`[edits] input_url_ttl_s`), on
   * the deployment's `public_base_url`. `recipient` is the provider URL the link is sent to: its
   * host must be one the config names (a backend's `base_url`, or `[edits] input_url_hosts`).
   * Throws BackendError `not_configured` (naming what to set) when the deployment cannot sign URLs,
   * has no `public_base_url`, or does not name the recipient's host.
   */
  signedUrl(image: ReferenceImage, recipient: string): Promise<string>;
}

export type OutputFormat = "png" | "jpeg" | "webp";

/**
 * One produced image. A stream must come with its byte length: R2 only accepts streams of known
 * length, so a backend that cannot know it buffers instead.
 */
export type GeneratedImage = {
  readonly mimeType: ImageMimeType;
  readonly width: number;
  readonly height: number;
  /** The prompt the provider actually used, when it rewrote ours (OpenAI's `revised_prompt`). */
  readonly revisedPrompt?: string;
} & ({ readonly bytes: Uint8Array } | { readonly stream: ReadableStream<Uint8Array>; readonly byteLength: number });

export interface BackendResult {
  readonly images: readonly GeneratedImage[];
  readonly model: string;
  readonly modelVersion?: string;
  /** The seed the backend actually used. */
  readonly seed: number;
  readonly predictTimeSeconds?: number;
  /** How many images the provider's own answer says it made (Replicate's metrics.image_count, the length of OpenAI's or Together's `data`). */
  readonly providerImageCount?: number;
  /** The provider's id for this job (e.g. a Replicate prediction id). */
  readonly externalId?: string;
  /** The quality the provider made (OpenAI's `quality`), a price dimension. */
  readonly quality?: string;
  /** Token usage as the provider reported it (OpenAI's `usage`), for callers that pass it on. */
  readonly tokenUsage?: TokenUsage;
}

/** OpenAI's image `usage` object, in the SDK's type, so an OpenAI-shaped answer can carry it unchanged. */
export type TokenUsage = ImagesResponse.Usage;

export type BackendStatus =
  | { readonly state: "ok"; readonly detail?: string }
  | { readonly state: "not_configured"; readonly missingEnv: readonly string[] }
  /** The secret is set but the provider refuses it. */
  | { readonly state: "unauthorized"; readonly env: string; readonly reason: string }
  | { readonly state: "unreachable"; readonly reason: string };

/** The status line users see: `ok`, `not configured (set X)`, `key rejected (check X): reason`, `unreachable: reason`. */
export function describeStatus(status: BackendStatus): string {
  switch (status.state) {
    case "ok":
      return status.detail ? `ok (${status.detail})` : "ok";
    case "not_configured":
      return `not configured (set ${status.missingEnv.join(", ")})`;
    case "unauthorized":
      return `key rejected (check ${status.env}): ${status.reason}`;
    case "unreachable":
      return `unreachable: ${status.reason}`;
  }
}

/** What an attempt may use besides its spec. */
export interface AttemptContext {
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /**
   * Clock time (ms) by which a call about a submitted job must have ended (the runner's give-up
   * time: the submission's deadline, plus a job's grace); calls past it are cut (./call-deadline.ts).
   * Absent before a submission exists: `submit` and one-shot calls bound themselves by the
   * instance's own timeout.
   */
  readonly deadline?: number;
  readonly requestId: string;
  readonly log: Logger;
  /** The input images of an edit (the runner always sets it; backends read it through `referenceInputs`). */
  readonly inputs?: ReferenceInputs;
}

/** The inputs of an edit, for a backend about to send one; a context without them is a wiring bug. */
export function referenceInputs(ctx: AttemptContext): ReferenceInputs {
  if (!ctx.inputs) throw new Error("this attempt carries reference images but its context has no inputs to read them from");
  return ctx.inputs;
}

/** A spec that is an edit: at least one reference image. */
export type EditSpec = GenerationSpec & { readonly references: readonly ReferenceImage[] };

/** Whether `spec` is an edit (it carries reference images). */
export function isEdit(spec: GenerationSpec): spec is EditSpec {
  return spec.references !== undefined && spec.references.length > 0;
}

export interface Backend {
  /** The instance name from config, e.g. `flux-schnell-replicate`. */
  readonly name: string;
  readonly type: string;
  /** The configured model; a result may name a more precise one. */
  readonly model: string;
  /** Provider key for the pricing table (e.g. `replicate`, `together`, `mock`). */
  readonly provider: string;
  /**
   * A per-image price set on the instance itself (e.g. the owner's own GPU box). When present it
   * wins over the pricing table; the usage row then points at no price row.
   */
  readonly configuredPricePerImage?: Usd;
  /** The quality this instance asks for when a request names none (OpenAI's `quality`): a price dimension. */
  readonly quality?: string;
  /** The size this instance makes when neither the request nor its style names one. */
  readonly defaultSize?: Size;
  /**
   * The size this instance makes nearest to `wanted` (already within the common bounds), for an
   * edit that names no size; absent when it takes any size in those bounds.
   */
  fitSize?(wanted: Size): Size;
  /**
   * Set when this instance edits: takes reference images (and maybe a mask) with the prompt. Specs
   * with references reach only instances that have it; chains skip the others for an edit.
   */
  readonly edits?: EditSupport;
  status(): Promise<BackendStatus>;
  /**
   * Refuse a spec this instance can never make (throw BackendError `invalid_request`), without
   * asking the provider. The runner asks before it reserves spend, so a request that is wrong
   * gets its 400 even when the caller's budget could not have paid for it.
   */
  checkSpec?(spec: GenerationSpec): void;
  /** How one attempt talks to the provider; the runner drives it. */
  readonly protocol: BackendProtocol;
}

type BackendProtocol = OneShotProtocol | JobProtocol;

/**
 * One call returns the images. Throw BackendError for every failure; honour `ctx.signal`
 * (the runner aborts it when the caller hangs up).
 *
 * @example
 * protocol: oneShot(async (spec, ctx) => ({ images: await callProvider(spec, ctx.signal), model, seed: spec.seed }))
 */
export interface OneShotProtocol {
  readonly kind: "one-shot";
  generate(spec: GenerationSpec, ctx: AttemptContext): Promise<BackendResult>;
}

export function oneShot(generate: OneShotProtocol["generate"]): OneShotProtocol {
  return { kind: "one-shot", generate };
}

/**
 * The provider keeps the job. The runner calls `submit` once, then `poll` (on its clock) or
 * `fromCallback` (jobs with webhooks) until the outcome is final, and `cancel` at the deadline
 * or when the caller is gone. Backends never loop or sleep themselves.
 */
export interface JobProtocol {
  readonly kind: "job";
  /**
   * Hand the work to the provider. A provider that can hold the call until it is done (Replicate
   * `Prefer: wait`) may return the final outcome at once when `options.hold` allows it.
   */
  submit(spec: GenerationSpec, ctx: AttemptContext, options: SubmitOptions): Promise<Submitted>;
  /** Ask the provider. Throws only when it cannot be asked (network, auth): the runner asks again later. */
  poll(submission: AsyncSubmission, ctx: AttemptContext): Promise<AsyncOutcome>;
  /** Best effort: stop paying for a job nobody waits for any more. */
  cancel(submission: AsyncSubmission, ctx: AttemptContext): Promise<void>;
  /**
   * Check a callback's signature with this instance's secret (throws BackendError
   * `not_configured` when the secret is not set). Only providers that call back have it.
   */
  verifyCallback?(delivery: CallbackDelivery): CallbackVerdict;
  /** The same answer as `poll`, from a verified callback body; null when it is not about this submission. */
  fromCallback?(payload: unknown, submission: AsyncSubmission, ctx: AttemptContext): Promise<AsyncOutcome | null>;
  /**
   * The submission a verified callback describes, for an attempt whose create answer was lost (the
   * callback came to that attempt's own URL, so the work is ours); null when the payload names no
   * work of this spec. The runner then reads the callback as for any submission.
   */
  adoptFromCallback?(payload: unknown, spec: GenerationSpec, deadline: number): AsyncSubmission | null;
  /**
   * Reconcile a create whose answer was never stored (lost, or the job restarted after sending):
   * the work it made, looked up at the provider; null = the provider has none (well past the send,
   * that proves the create never took). Throws when the provider cannot be asked.
   */
  findSent?(spec: GenerationSpec, sentAt: number, deadline: number, ctx: AttemptContext): Promise<AsyncSubmission | null>;
  /**
   * Live progress between polls (e.g. ComfyUI's websocket), best effort: null when it cannot
   * connect. Returns the function that stops watching.
   */
  watch?(submission: AsyncSubmission, ctx: AttemptContext, onProgress: (progress: AsyncProgress) => void): Promise<(() => void) | null>;
}

interface SubmitOptions {
  /** Where the provider may POST updates (carries the job id); ignored by providers without webhooks. */
  readonly webhookUrl?: string;
  /** The caller is waiting on this call: the provider may hold it until the outputs exist. */
  readonly hold: boolean;
}

export interface Submitted {
  readonly submission: AsyncSubmission;
  /** Set when the provider already finished (a held call); otherwise the runner polls. */
  readonly outcome?: AsyncOutcome;
}

/** What a job may store: plain JSON (it lives in Durable Object storage between steps). */
type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A job handed to a provider; everything needed to look at it, accept its callbacks or cancel it. */
export interface AsyncSubmission {
  /** The provider's id (Replicate prediction id, ComfyUI prompt id). */
  readonly externalId: string;
  /** Clock time (ms) by which the attempt must have ended; past it (plus a job's grace) the runner cancels it. */
  readonly deadline: number;
  /** When to look again, in ms from now, while the job is pending. */
  readonly pollAfterMs: number;
  /** The provider will call back (signed webhooks): polling is then only the fallback at the deadline. */
  readonly callbacks: boolean;
  /** Backend-private state (JSON: a job stores it between steps), handed back to poll / fromCallback / cancel / watch. */
  readonly state: { readonly [key: string]: JsonValue };
}

/** Where a pending job stands, as far as the provider tells. */
export interface AsyncProgress {
  readonly state: "queued" | "running";
  /** Jobs ahead of this one (0 = next). */
  readonly queuePosition?: number;
  /** Sampler step x of y, when the provider reports it. */
  readonly step?: number;
  readonly steps?: number;
}

export type AsyncOutcome =
  | { readonly state: "pending"; readonly progress?: AsyncProgress }
  | { readonly state: "succeeded"; readonly result: BackendResult }
  | { readonly state: "failed"; readonly error: BackendError };

/** A callback delivery exactly as received (the raw body: re-serialised JSON would not verify). */
interface CallbackDelivery {
  readonly headers: Headers;
  readonly rawBody: string;
}

type CallbackVerdict =
  | { readonly ok: true /** Same across the provider's retries: the dedupe key. */; readonly deliveryId: string; readonly payload: unknown }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

/** Everything a backend factory may read. Secrets come from `env` by the name config gives. */
export interface BackendRuntime {
  readonly env: Readonly<Record<string, unknown>>;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
}

/**
 * A backend type: its config schema (merged into the config's discriminated union) and a
 * factory. Adding a backend = one file exporting one of these + one line in the registry.
 */
export interface BackendType<Schema extends z.ZodObject<{ type: z.ZodLiteral<string> }>> {
  readonly type: z.infer<Schema>["type"];
  readonly configSchema: Schema;
  create(name: string, config: z.infer<Schema>, runtime: BackendRuntime): Backend;
}

export function defineBackendType<Schema extends z.ZodObject<{ type: z.ZodLiteral<string> }>>(definition: BackendType<Schema>): BackendType<Schema> {
  return definition;
}

/** Read a secret by the env var name config gives; blank counts as missing. */
export function readSecret(env: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = env[name];
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}
