/**
 * Request and response schemas. The same zod objects validate requests and generate
 * /openapi.json, so the document cannot drift from the behaviour.
 */
import { z } from "@hono/zod-openapi";
import { CALLER_PATTERN } from "../auth/api-keys";
import { sizeField } from "../lib/size";
import { limitsSchema } from "../config/guard";
import { MAX_REF_CHARS, REF_PATTERN } from "../usage/event";

export const MAX_PROMPT_CHARS = 4000;
export const MAX_IMAGES = 4;

/**
 * One input image of an edit: a stored image the caller owns, by the `key` an earlier answer gave
 * (or an earlier upload's), or the image itself as base64 (stored under the caller's folder).
 */
const InputImage = z
  .union([
    z.strictObject({ key: z.string().min(1).max(1024).openapi({ description: "The key of an image you own (`images[].key` of an earlier answer)." }) }),
    z.strictObject({
      b64_json: z
        .string()
        .min(1)
        .openapi({ description: "The image's bytes as base64: PNG, JPEG or WebP (sniffed from the bytes), within the configured bounds." }),
    }),
  ])
  .openapi("InputImage");

export type InputImage = z.infer<typeof InputImage>;

export const GenerateImagesRequest = z
  .strictObject({
    prompt: z
      .string()
      .trim()
      .min(1, "prompt must not be empty")
      .max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`)
      .openapi({ example: "a small fishbowl with a cat staring out, photo, soft light" }),
    backend: z.string().max(64).optional().openapi({ description: "Backend instance name; default: config's default_backend." }),
    size: sizeField
      .optional()
      .openapi({ description: "WxH, each side 64..2048 and a multiple of 8. Default: the style's size, else 1024x1024.", example: "1536x768" }),
    seed: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({ description: "0 or absent = a fresh random seed (reported back). Capped at 2^53-1 so it stays exact in JSON." }),
    steps: z.int().min(1).max(150).optional().openapi({ description: "Sampler steps; default: the instance's default_steps." }),
    style: z.string().max(64).optional().openapi({ description: "A style name from config; its template wraps the prompt." }),
    negative: z.string().max(2000).optional(),
    n: z
      .int()
      .min(1)
      .max(MAX_IMAGES)
      .default(1)
      .openapi({ description: `Images to generate, 1..${MAX_IMAGES}.` }),
    output: z.string().max(512).optional().openapi({
      description: "Explicit object key instead of the naming template, in the caller's own folder (`<caller>/…`); never overwrites.",
      example: "alice/blog/header.png",
    }),
    sidecar: z.boolean().optional().openapi({ description: "Write the JSON sidecar; default: config output.sidecar." }),
    source: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, "source is a short label: letters, digits, '.', '_', ':' or '-'")
      .optional()
      .openapi({ description: "Attribution label kept for usage reports, e.g. webhook, admin, script.", example: "script" }),
    ref: z.string().regex(REF_PATTERN, `ref is 1..${MAX_REF_CHARS} characters: letters, digits, '.', '_', ':', '/', '#', '=' or '-'`).optional().openapi({
      description: "Your own attribution kept on every usage row of this request, e.g. a post id; filter and group usage by it.",
      example: "post/2026-05-04-cats",
    }),
    callback_url: z
      .string()
      .max(2048)
      .optional()
      .openapi({ description: "With `Prefer: respond-async`: the finished job is POSTed here, signed (Standard Webhooks). https only." }),
    reference_images: z.array(InputImage).min(1).max(16).optional().openapi({
      description:
        "Edit: the images to start from (yours by key, or uploaded as base64), in order. Only backends that edit take them (GET /v1/backends: `edits`).",
    }),
    input_fidelity: z.enum(["high", "low"]).optional().openapi({
      description: "Edit: how closely to keep the inputs' features, for backends that take it (OpenAI's GPT image models); others ignore it.",
    }),
    mask: InputImage.optional().openapi({
      description: "Edit: a PNG with an alpha channel, the size of the first reference image; its transparent pixels mark where to edit.",
    }),
  })
  .openapi("GenerateImagesRequest");

const ImageRecord = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: "R2 object key." }),
    url: z.string().openapi({ description: "Where the caller (or an admin) fetches the image." }),
    sidecar_url: z.string().nullable(),
    width: z.int(),
    height: z.int(),
    mime_type: z.string(),
    bytes: z.int(),
  })
  .openapi("Image");

export const FailedAttemptSchema = z
  .object({ backend: z.string(), kind: z.string(), detail: z.string(), latency_ms: z.number(), external_id: z.string().optional() })
  .openapi("FailedAttempt");

export const GenerateImagesResponse = z
  .object({
    request_id: z.string(),
    backend: z.string().openapi({ description: "The instance that produced the images." }),
    model: z.string(),
    model_version: z.string().nullable(),
    seed: z.int().openapi({ description: "The seed actually used." }),
    latency_ms: z.number(),
    cost_usd_estimate: z.number().nullable().openapi({ description: "null when the model has no known price." }),
    images: z.array(ImageRecord),
    failed_attempts: z.array(FailedAttemptSchema),
    revised_prompt: z.string().optional().openapi({ description: "The prompt as the backend rewrote it, when it reports one." }),
    usage: z
      .object({ input_tokens: z.int(), output_tokens: z.int(), total_tokens: z.int() })
      .optional()
      .openapi({ description: "Tokens billed, when the backend bills by tokens and reports them." }),
    reused_from: z
      .string()
      .optional()
      .openapi({ description: 'The request whose images these are: an identical seeded request within the reuse window (cost 0, README "Spend safety").' }),
  })
  .openapi("GenerateImagesResponse");

const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const BackendInfo = z
  .object({
    name: z.string(),
    type: z.string(),
    model: z.string(),
    default: z.boolean(),
    fallback: z.array(z.string()),
    fallback_on: z.array(z.string()).openapi({ description: 'The failures that move on to `fallback` (README "Fallback").' }),
    edits: z
      .object({ max_images: z.int(), mask: z.boolean() })
      .nullable()
      .openapi({ description: "What it takes in an edit (reference images, and whether a mask); null: it only makes images from text." }),
    status: z.string().openapi({ example: "not configured (set REPLICATE_API_TOKEN)" }),
  })
  .openapi("Backend");

const ChainInfo = z
  .object({
    name: z.string(),
    default: z.boolean(),
    backends: z.array(z.string()).openapi({ description: "Instances, tried in this order." }),
    fallback_on: z.array(z.string()),
    edits: z.boolean().openapi({ description: "Some member edits; an edit on this chain runs only on those members." }),
    status: z.string().openapi({ example: "ok via flux-schnell-replicate (flux-schnell-local: skipped: cooling down until …)" }),
  })
  .openapi("Chain");

const StyleInfo = z
  .object({
    name: z.string().openapi({ description: "The value for `style` in a generate request." }),
    size: z.string().nullable().openapi({ description: "The style's default size (WxH), when it has one." }),
  })
  .openapi("Style");

export const BackendsResponse = z
  .object({
    backends: z.array(BackendInfo),
    chains: z.array(ChainInfo),
    styles: z.array(StyleInfo).openapi({ description: "The configured styles (templates stay on the server)." }),
  })
  .openapi("BackendsResponse");

export const ImageKeyParam = z.object({
  key: z
    .string()
    .min(1)
    .openapi({ param: { name: "key", in: "path" }, description: "The URL-encoded object key." }),
});

export const SignedUrlQuery = z.object({
  exp: z.string().optional().openapi({ description: "Signed URLs: expiry, unix seconds (as handed out)." }),
  sig: z.string().optional().openapi({ description: "Signed URLs: signature (as handed out)." }),
});

export const CreateKeyRequest = z
  .strictObject({
    caller: z.string().regex(CALLER_PATTERN, "caller: lowercase letters, digits, '.', '_', '/' or '-'"),
    role: z.enum(["admin", "user"]).default("user"),
    label: z.string().max(200).optional(),
    limits: limitsSchema.optional().openapi({ description: "This key's own caps and rate limit; override the caller's from config, field by field." }),
  })
  .openapi("CreateKeyRequest");

export const KeyInfo = z
  .object({
    id: z.string(),
    caller: z.string(),
    role: z.enum(["admin", "user"]),
    label: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
    limits: limitsSchema.nullable(),
  })
  .openapi("ApiKey");

export const CreatedKey = KeyInfo.extend({ key: z.string().openapi({ description: "Shown once; only its hash is stored." }) }).openapi("CreatedApiKey");

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, { description: "Problem details", content: { "application/problem+json": { schema: Problem } } }]));
