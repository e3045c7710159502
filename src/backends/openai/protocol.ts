/**
 * OpenAI's Images API, as data: the request we send for a spec and what we read from the answer.
 * `POST /v1/images/generations` — https://platform.openai.com/docs/api-reference/images/create
 *
 * GPT image models always answer base64 and take `output_format`; DALL·E models answer URLs unless
 * asked for `response_format: "b64_json"` and know no `output_format`. The model itself comes from
 * configuration: only its family (name starting `dall-e`) changes the request.
 */
import type { ImageGenerateParamsNonStreaming } from "openai/resources/images";
import { z } from "zod";
import { type EditSupport, EXTENSION_BY_MIME, type GeneratedImage, type GenerationSpec, type ImageMimeType, type TokenUsage } from "../backend";
import { BackendError } from "../errors";
import { b64ImageSchema, decodeB64Image } from "../openai-style";

export const OPENAI_IMAGES_PATH = "/images/generations";
/** Multipart: https://platform.openai.com/docs/api-reference/images/createEdit */
export const OPENAI_EDITS_PATH = "/images/edits";

export const openAiQualities = ["auto", "low", "medium", "high", "xhigh", "max", "standard", "hd"] as const satisfies readonly NonNullable<
  ImageGenerateParamsNonStreaming["quality"]
>[];
export const openAiOutputFormats = ["png", "jpeg", "webp"] as const satisfies readonly NonNullable<ImageGenerateParamsNonStreaming["output_format"]>[];

/** The SDK's own request type, narrowed to what we send. */
export type OpenAiImageRequest = ImageGenerateParamsNonStreaming & {
  readonly model: string;
  readonly n: number;
  /** "WxH" */
  readonly size: string;
  readonly quality?: (typeof openAiQualities)[number];
};

export function isDallE(model: string): boolean {
  return model.toLowerCase().startsWith("dall-e");
}

export function openAiImageRequest(
  spec: GenerationSpec,
  instance: {
    readonly model: string;
    readonly quality?: OpenAiImageRequest["quality"];
    readonly outputFormat: NonNullable<OpenAiImageRequest["output_format"]>;
  },
): OpenAiImageRequest {
  return {
    model: instance.model,
    prompt: spec.prompt,
    n: spec.n,
    size: `${spec.width}x${spec.height}`,
    ...(instance.quality !== undefined && { quality: instance.quality }),
    ...(isDallE(instance.model) ? { response_format: "b64_json" as const } : { output_format: instance.outputFormat }),
  };
}

/** What an instance edits with: GPT image models take up to 16 images and a mask; DALL·E 2 one PNG and a mask; DALL·E 3 none. */
export function openAiEditSupport(model: string): EditSupport | undefined {
  const name = model.toLowerCase();
  if (name.startsWith("dall-e-2")) return { maxImages: 1, mask: true };
  if (isDallE(name)) return undefined;
  return { maxImages: 16, mask: true };
}

/** One input image as a multipart file part. */
export interface EditInput {
  readonly bytes: Uint8Array;
  readonly mimeType: ImageMimeType;
}

/**
 * The edit request: the same fields as a generation, as text parts, plus the images — one as
 * `image`, several as `image[]` (as the official SDKs send them) — and the mask.
 */
export function openAiEditForm(request: OpenAiImageRequest, images: readonly EditInput[], mask: EditInput | undefined): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(request)) if (value !== undefined && value !== null) form.append(name, String(value));
  const field = images.length === 1 ? "image" : "image[]";
  for (const [index, image] of images.entries()) form.append(field, filePart(image), `image-${index + 1}.${EXTENSION_BY_MIME[image.mimeType]}`);
  if (mask) form.append("mask", filePart(mask), "mask.png");
  return form;
}

function filePart(input: EditInput): Blob {
  return new Blob([input.bytes as Uint8Array<ArrayBuffer>], { type: input.mimeType });
}

const tokens = z.number().int().nonnegative();
const usageSchema = z.looseObject({
  input_tokens: tokens,
  output_tokens: tokens,
  total_tokens: tokens,
  input_tokens_details: z.looseObject({ text_tokens: tokens, image_tokens: tokens }),
});

const openAiResponseSchema = z.looseObject({
  created: z.number().optional(),
  data: z.array(b64ImageSchema.extend({ revised_prompt: z.string().optional() })).min(1),
  /** GPT image models say which quality they used (useful when we asked for `auto`). */
  quality: z.string().optional(),
  usage: usageSchema.optional(),
});

export interface OpenAiImages {
  readonly images: readonly GeneratedImage[];
  readonly quality?: string;
  readonly usage?: TokenUsage;
}

export function parseOpenAiImages(body: unknown): OpenAiImages {
  const parsed = openAiResponseSchema.safeParse(body);
  if (!parsed.success) throw new BackendError("failed", "OpenAI answered without base64 images in data[].b64_json");
  const { data, quality, usage } = parsed.data;
  return {
    images: data.map((item) => ({
      ...decodeB64Image("OpenAI", item.b64_json),
      ...(item.revised_prompt !== undefined && { revisedPrompt: item.revised_prompt }),
    })),
    ...(quality !== undefined && { quality }),
    ...(usage !== undefined && { usage: tokenUsage(usage) }),
  };
}

function tokenUsage(usage: z.infer<typeof usageSchema>): TokenUsage {
  const { input_tokens, output_tokens, total_tokens, input_tokens_details } = usage;
  return {
    input_tokens,
    output_tokens,
    total_tokens,
    input_tokens_details: { text_tokens: input_tokens_details.text_tokens, image_tokens: input_tokens_details.image_tokens },
  };
}
