/**
 * `POST /v1/images/generations`: OpenAI's Images API in front of our pipeline. The request is
 * translated once into ours (model → instance or chain, user → usage source), generated, stored in
 * R2 and ledgered like every other generation, and answered in OpenAI's shape.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ImageMimeType } from "../../backends/backend";
import { hasOwnEntry } from "../../lib/lookup";
import { parseSize } from "../../lib/size";
import type { ImagenConfig } from "../../config/schema";
import { generate } from "../../core/generate";
import type { GenerationOutcome, PipelineDeps } from "../../core/pipeline";
import type { GenerationRequest } from "../../core/request";
import { admissionOf, spenderOf } from "../../http/request-guard";
import { admitted } from "../../guard/admission";
import type { App, AppEnv } from "../../http/context";
import { idempotencyKey } from "../../http/idempotency";
import { rateLimit } from "../../http/rate-limit";
import { requireJsonBody } from "../../http/json-body";
import { problem } from "../../http/problem";
import { answerOrigin } from "../../http/public-origin";
import { toBase64 } from "../../lib/base64";
import { imageUrlsFromEnv } from "../../storage/signed-urls";
import { resolveModel } from "./models";
import { ImagesResponseSchema, openAIErrorResponses, OpenAIImageRequest, type OpenAIImagesResponse, SOURCE_PATTERN } from "./schemas";

/** An attribution label for callers that cannot change the body (e.g. set once in the SDK's defaultHeaders). */
export const SOURCE_HEADER = "x-imagen-source";

/** OpenAI's names for the formats our backends produce. */
const OUTPUT_FORMAT: Record<ImageMimeType, "png" | "jpeg" | "webp"> = { "image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp" };

/** Legacy OpenAI styles: meaningless to our backends, so ignored unless config defines them. */
const OPENAI_STYLES = new Set(["vivid", "natural"]);

const route = createRoute({
  method: "post",
  path: "/v1/images/generations",
  operationId: "createImageOpenAI",
  summary: "Generate images, OpenAI Images API style (use the official openai SDKs with baseURL …/v1)",
  security: [{ bearer: [] }],
  // Idempotency-Key as on POST /v1/images; without one, the SDK's retries are recognised by their
  // x-stainless-retry-count and never generate twice.
  middleware: [rateLimit(), requireJsonBody(), idempotencyKey({ sdkRetries: true, varyHeaders: [SOURCE_HEADER] })] as const,
  request: {
    headers: z.object({ [SOURCE_HEADER]: z.string().optional().openapi({ description: "Usage source label; wins over `user`." }) }),
    body: { required: true, content: { "application/json": { schema: OpenAIImageRequest } } },
  },
  responses: {
    200: { description: "Images generated (stored in R2 and ledgered)", content: { "application/json": { schema: ImagesResponseSchema } } },
    ...openAIErrorResponses(400, 401, 402, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504),
  },
});

export function registerGenerationRoute(app: App): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const admission = admissionOf(c);
    const deps = c.var.deps.pipeline(c.var.log, { waitUntil: (work) => c.executionCtx.waitUntil(work), spender: spenderOf(c), admission });
    const correlation = c.get("correlationId");
    // The caller's X-Request-Id goes on every usage row, as on POST /v1/images.
    const request = { ...pipelineRequest(body, c.req.header(SOURCE_HEADER), deps.config), ...(correlation !== null && { clientRequestId: correlation }) };
    return c.json(await generateInOpenAIShape(c, request, deps, body.response_format ?? "b64_json"), 200);
  });
}

/** Run a translated request through the pipeline and answer it as OpenAI does (generations and edits alike). */
export async function generateInOpenAIShape(
  c: Context<AppEnv>,
  request: GenerationRequest,
  deps: PipelineDeps,
  format: "url" | "b64_json",
): Promise<OpenAIImagesResponse> {
  const stored = new Map<string, Uint8Array>();
  const outcome = await admitted(admissionOf(c), () => runPipeline(c, request, deps, (key, bytes) => stored.set(key, bytes)));
  const urlFor =
    format === "url" ? await imageUrlsFromEnv(c.env, deps.config.image_urls, answerOrigin(deps.config.public_base_url, c.req.url), deps.clock) : null;
  const delivered = await Promise.all(
    outcome.images.map(async (image) =>
      urlFor ? { url: await urlFor(image.key) } : { b64_json: toBase64(stored.get(image.key) ?? (await storedBytes(c.env.IMAGES, image.key))) },
    ),
  );
  return imagesResponse(outcome, delivered, deps.clock.now());
}

/** The usage source: the X-Imagen-Source header, else `safety_identifier`, else `user` (400 naming the header when it is malformed). */
export function sourceOf(
  sourceHeader: string | undefined,
  body: { readonly safety_identifier?: string | null; readonly user?: string | undefined },
): string | undefined {
  if (sourceHeader !== undefined && !SOURCE_PATTERN.test(sourceHeader)) {
    const message = "X-Imagen-Source is a short label: 1-64 letters, digits, '.', '_', ':' or '-'";
    throw problem("invalid-request", 400, message, { extra: { errors: [{ field: SOURCE_HEADER, message }] } });
  }
  return sourceHeader ?? (body.safety_identifier || undefined) ?? body.user;
}

/**
 * The one place this route enters the generation pipeline; the runner takes over from
 * `generate()` here without the translation around it changing.
 */
function runPipeline(
  c: Context<AppEnv>,
  request: GenerationRequest,
  deps: PipelineDeps,
  onStoredBytes: (key: string, bytes: Uint8Array) => void,
): Promise<GenerationOutcome> {
  // A client that hangs up cancels the provider's work, as on POST /v1/images.
  return generate(request, c.get("caller"), c.get("requestId"), deps, { signal: c.req.raw.signal, onStoredBytes });
}

/** OpenAI's request in our terms. Unknown models are 404 `model_not_found`, as OpenAI answers them. */
function pipelineRequest(body: OpenAIImageRequest, sourceHeader: string | undefined, config: ImagenConfig): GenerationRequest {
  const style = body.style ?? undefined;
  const source = sourceOf(sourceHeader, body);
  return {
    prompt: body.prompt,
    backend: resolveModel(config, body.model ?? config.default_backend),
    n: body.n ?? 1,
    ...(body.size && body.size !== "auto" && { size: parseSize(body.size)! }),
    ...(style !== undefined && !(OPENAI_STYLES.has(style) && !hasOwnEntry(config.styles, style)) && { style }),
    ...(source !== undefined && { source }),
    ...(body.quality && { quality: body.quality }),
    ...(body.output_format && { outputFormat: body.output_format }),
  };
}

/** OpenAI's answer: each image as delivered (url or b64_json), plus what the backend reported. */
export function imagesResponse(
  outcome: GenerationOutcome,
  delivered: readonly ({ readonly url: string } | { readonly b64_json: string })[],
  now: number,
): OpenAIImagesResponse {
  const first = outcome.images[0];
  return {
    created: Math.floor(now / 1000),
    data: delivered.map((image) => ({ ...image, ...(outcome.revised_prompt !== undefined && { revised_prompt: outcome.revised_prompt }) })),
    ...(first && { output_format: OUTPUT_FORMAT[first.mime_type as ImageMimeType], size: `${first.width}x${first.height}` }),
    ...(outcome.usage && { usage: outcome.usage }),
  };
}

/**
 * A stored image's bytes read back from R2, for images that were streamed into it (never whole in
 * memory); the others are answered from the very bytes that were stored.
 */
async function storedBytes(bucket: R2Bucket, key: string): Promise<Uint8Array> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`image ${key} vanished between storing and answering`);
  return new Uint8Array(await object.arrayBuffer());
}
