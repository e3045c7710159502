/**
 * The OpenAI-compatible request and answer shapes. Requests are validated by zod (which also
 * documents them in /openapi.json); the types are checked against the official `openai` SDK's
 * own, so a field the SDK sends differently fails the typecheck, not a user.
 */
import { z } from "@hono/zod-openapi";
import type { Image, ImageGenerateParamsNonStreaming, ImagesResponse } from "openai/resources/images";
import type { Model } from "openai/resources/models";
import { sizeField } from "../../lib/size";
import { MAX_IMAGES, MAX_PROMPT_CHARS } from "../schemas";

/** The attribution label, as `POST /v1/images` takes it in `source`. */
export const SOURCE_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
const sourceLabel = z.string().regex(SOURCE_PATTERN, "becomes the usage source: 1-64 letters, digits, '.', '_', ':' or '-' (hash an email first)");

export const OpenAIImageRequest = z
  .strictObject({
    model: z
      .string()
      .max(128)
      .optional()
      .openapi({ description: "An instance name from GET /v1/models, or an alias from config. Default: config's default_backend." }),
    prompt: z.string().trim().min(1, "prompt must not be empty").max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`),
    n: z
      .int()
      .min(1)
      .max(MAX_IMAGES)
      .nullish()
      .openapi({ description: `1..${MAX_IMAGES}.` }),
    size: z
      .union([z.literal("auto"), sizeField])
      .nullish()
      .openapi({ description: "WxH (each side 64..2048, a multiple of 8) or auto (the instance's default)." }),
    response_format: z
      .enum(["url", "b64_json"])
      .nullish()
      .openapi({ description: "Default b64_json, as OpenAI's GPT image models answer; url = a signed URL that opens without a key." }),
    output_format: z
      .enum(["png", "jpeg", "webp"])
      .nullish()
      .openapi({ description: "Used by backends that can choose (OpenAI images); others make their own format, which the answer's output_format names." }),
    quality: z.enum(["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"]).nullish().openapi({
      description:
        "Used by backends with a quality setting (OpenAI images: low/medium/high/auto for GPT image models, standard/hd for DALL·E); others ignore it.",
    }),
    style: z
      .string()
      .max(64)
      .nullish()
      .openapi({ description: "One of our configured styles; OpenAI's legacy vivid / natural are ignored unless configured." }),
    user: sourceLabel.optional().openapi({ description: "Recorded as the usage source (unless X-Imagen-Source is sent)." }),
    safety_identifier: sourceLabel.nullish().openapi({ description: "Like user; wins over it." }),
    background: z.enum(["transparent", "opaque", "auto"]).nullish(),
    moderation: z.enum(["low", "auto"]).nullish(),
    output_compression: z.int().min(0).max(100).nullish(),
    stream: z.literal(false).nullish().openapi({ description: "Streaming is not offered." }),
  })
  .openapi("OpenAIImageRequest");

export type OpenAIImageRequest = z.infer<typeof OpenAIImageRequest>;

/**
 * Our request must be one the SDK can send: every field's type fits the SDK's parameter. `style`
 * is the exception on purpose: besides OpenAI's vivid | natural it takes our configured styles.
 */
type Fits<Ours, Theirs> = { [K in keyof Ours]-?: K extends keyof Theirs ? (NonNullable<Ours[K]> extends NonNullable<Theirs[K]> ? true : false) : false };
type AllFit<Ours, Theirs> = false extends Fits<Ours, Theirs>[keyof Ours] ? false : true;
const requestFitsSdk: AllFit<Omit<OpenAIImageRequest, "style">, ImageGenerateParamsNonStreaming> = true;
void requestFitsSdk;

/** A file part of a multipart body (the SDK's `toFile(...)`, a File, a Blob). */
const filePart = z.custom<File>((value) => value instanceof File, "must be a file part").openapi({ type: "string", format: "binary" });

/**
 * `POST /v1/images/edits` as the SDK sends it: multipart/form-data, one `image` part or several
 * `image[]` parts, an optional `mask` part, the other fields as text. Fields we do not use
 * (`background`, `moderation`, `output_compression`) are taken and ignored, as on generations.
 */
export const OpenAIImageEditForm = z
  .strictObject({
    image: z
      .union([filePart, z.array(filePart)])
      .optional()
      .openapi({ description: "The image to edit (PNG, JPEG or WebP), or use image[] for several." }),
    "image[]": z.array(filePart).optional().openapi({ description: "Several reference images (GPT image models take up to 16), in order." }),
    mask: filePart.optional().openapi({ description: "A PNG with an alpha channel, the size of the first image; transparent pixels mark where to edit." }),
    prompt: z.string().trim().min(1, "prompt must not be empty").max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`),
    model: z
      .string()
      .max(128)
      .optional()
      .openapi({ description: "An instance, chain or alias that edits (GET /v1/models: `edits`). Default: config's default_backend." }),
    n: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_IMAGES)
      .optional()
      .openapi({ description: `1..${MAX_IMAGES}.` }),
    size: z
      .union([z.literal("auto"), sizeField])
      .optional()
      .openapi({ description: "WxH (each side 64..2048, a multiple of 8) or auto (the instance's default)." }),
    quality: z.enum(["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"]).optional(),
    output_format: z.enum(["png", "jpeg", "webp"]).optional(),
    response_format: z.enum(["url", "b64_json"]).optional().openapi({ description: "Default b64_json; url = a signed URL that opens without a key." }),
    user: sourceLabel.optional().openapi({ description: "Recorded as the usage source (unless X-Imagen-Source is sent)." }),
    safety_identifier: sourceLabel.optional().openapi({ description: "Like user; wins over it." }),
    background: z.enum(["transparent", "opaque", "auto"]).optional(),
    input_fidelity: z
      .enum(["high", "low"])
      .optional()
      .openapi({ description: "Passed to backends that take it (OpenAI's GPT image models); others ignore it." }),
    moderation: z.enum(["low", "auto"]).optional(),
    output_compression: z.coerce.number().int().min(0).max(100).optional(),
    stream: z.literal("false").optional().openapi({ description: "Streaming is not offered." }),
  })
  .openapi("OpenAIImageEditForm");

/** The SDK's answer type; `data` is always present in ours. */
export type OpenAIImagesResponse = ImagesResponse & { data: Image[] };

/** OpenAI's model object plus what only we know. */
export interface ModelEntry extends Model {
  /** The backend's status line, as GET /v1/backends shows it. */
  readonly status: string;
  /** For an alias: the instance or chain it stands for. */
  readonly alias_of?: string;
  /** For a chain: its instances, tried in this order. */
  readonly chain?: string[];
  /** It edits (`POST /v1/images/edits`): the instance, or some member of the chain. */
  readonly edits: boolean;
}

const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.int(),
    owned_by: z.string(),
    status: z.string().openapi({ example: "ok" }),
    alias_of: z.string().optional(),
    chain: z.array(z.string()).optional(),
    edits: z.boolean().openapi({ description: "Whether it takes POST /v1/images/edits (a chain: some member does)." }),
  })
  .openapi("OpenAIModel");

export const ModelResponse = ModelSchema;
export const ModelListResponse = z.object({ object: z.literal("list"), data: z.array(ModelSchema) }).openapi("OpenAIModelList");
export const ModelIdParam = z.object({ model: z.string().openapi({ param: { name: "model", in: "path" } }) });

export const ImagesResponseSchema = z
  .object({
    created: z.int(),
    data: z.array(z.object({ b64_json: z.string().optional(), url: z.string().optional(), revised_prompt: z.string().optional() })),
    output_format: z.string().optional().openapi({ description: "What the backend produced: png, jpeg or webp." }),
    size: z.string().optional(),
    usage: z
      .object({
        input_tokens: z.int(),
        output_tokens: z.int(),
        total_tokens: z.int(),
        input_tokens_details: z.object({ text_tokens: z.int(), image_tokens: z.int() }),
      })
      .optional(),
  })
  .openapi("OpenAIImagesResponse");

const OpenAIErrorSchema = z
  .object({ error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }) })
  .openapi("OpenAIError");

export const openAIErrorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [status, { description: "OpenAI-shaped error", content: { "application/json": { schema: OpenAIErrorSchema } } }]),
  );
