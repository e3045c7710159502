/**
 * The one interface every backend implements (DESIGN principle 2). A backend turns a resolved
 * generation spec into images plus metadata and reports its own status; everything else
 * (naming, storage, usage events, HTTP) belongs to the pipeline and the handlers.
 */
import type { z } from "zod";
import type { Clock } from "../lib/clock";
import type { Size } from "../config/size";
import type { Usd } from "../lib/money";
import type { Logger } from "../lib/log";

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
}

/**
 * One produced image. A stream must come with its byte length: R2 only accepts streams of known
 * length (DESIGN principle 8), so a backend that cannot know it buffers instead.
 */
export type GeneratedImage = {
  readonly mimeType: ImageMimeType;
  readonly width: number;
  readonly height: number;
} & (
  | { readonly bytes: Uint8Array }
  | { readonly stream: ReadableStream<Uint8Array>; readonly byteLength: number }
);

export interface BackendResult {
  readonly images: readonly GeneratedImage[];
  readonly model: string;
  readonly modelVersion?: string;
  /** The seed the backend actually used. */
  readonly seed: number;
  readonly predictTimeSeconds?: number;
  /** The provider's id for this job (e.g. a Replicate prediction id). */
  readonly externalId?: string;
}

export type BackendStatus =
  | { readonly state: "ok"; readonly detail?: string }
  | { readonly state: "not_configured"; readonly missingEnv: readonly string[] }
  | { readonly state: "unreachable"; readonly reason: string };

/** The status line users see: `ok`, `not configured (set X)`, `unreachable: reason`. */
export function describeStatus(status: BackendStatus): string {
  switch (status.state) {
    case "ok":
      return status.detail ? `ok (${status.detail})` : "ok";
    case "not_configured":
      return `not configured (set ${status.missingEnv.join(", ")})`;
    case "unreachable":
      return `unreachable: ${status.reason}`;
  }
}

/** What an attempt may use besides its spec. */
export interface AttemptContext {
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly requestId: string;
  readonly log: Logger;
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
  /** The size this instance makes when neither the request nor its style names one. */
  readonly defaultSize?: Size;
  status(): Promise<BackendStatus>;
  generate(spec: GenerationSpec, ctx: AttemptContext): Promise<BackendResult>;
}

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

export function defineBackendType<Schema extends z.ZodObject<{ type: z.ZodLiteral<string> }>>(
  definition: BackendType<Schema>,
): BackendType<Schema> {
  return definition;
}

/** Read a secret by the env var name config gives; blank counts as missing. */
export function readSecret(env: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = env[name];
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}
