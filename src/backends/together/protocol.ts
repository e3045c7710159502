/**
 * Together's image API, as data: the request we send for a spec and what we read from the answer.
 * `POST /v1/images/generations` — https://docs.together.ai/reference/post-images-generations
 * Together's spelling differs from OpenAI's in two places: `response_format: "base64"` (not
 * `b64_json`) and `width`/`height` (not `size`). The answer has no `created` and no usage.
 */
import { z } from "zod";
import type { GeneratedImage, GenerationSpec } from "../backend";
import { BackendError } from "../errors";
import { b64ImageSchema, decodeB64Image } from "../openai-style";

export const TOGETHER_IMAGES_PATH = "/images/generations";

export const togetherOutputFormats = ["png", "jpeg"] as const;

/** Together's FLUX.1 Kontext models take the image to edit as `image_url`. */
export function takesImageUrl(model: string): boolean {
  return /^black-forest-labs\/flux\.1-kontext-(pro|max|dev)$/i.test(model);
}

export interface TogetherImageRequest {
  readonly model: string;
  readonly prompt: string;
  readonly width: number;
  readonly height: number;
  readonly n: number;
  readonly seed: number;
  readonly steps?: number;
  readonly negative_prompt?: string;
  /** An edit (Kontext): the image to start from, as a URL Together fetches. */
  readonly image_url?: string;
  readonly response_format: "base64";
  readonly output_format: (typeof togetherOutputFormats)[number];
}

/** The body for one spec; steps only when the request or the instance names them. */
export function togetherImageRequest(
  spec: GenerationSpec,
  instance: {
    readonly model: string;
    readonly defaultSteps?: number;
    readonly outputFormat: TogetherImageRequest["output_format"];
    readonly imageUrl?: string;
  },
): TogetherImageRequest {
  const steps = spec.steps ?? instance.defaultSteps;
  return {
    model: instance.model,
    prompt: spec.prompt,
    width: spec.width,
    height: spec.height,
    n: spec.n,
    seed: spec.seed,
    ...(steps !== undefined && { steps }),
    ...(spec.negative !== undefined && spec.negative !== "" && { negative_prompt: spec.negative }),
    ...(instance.imageUrl !== undefined && { image_url: instance.imageUrl }),
    response_format: "base64",
    output_format: instance.outputFormat,
  };
}

const togetherResponseSchema = z.looseObject({
  id: z.string().optional(),
  model: z.string().optional(),
  data: z.array(b64ImageSchema).min(1),
});

export interface TogetherImages {
  /** Together's id for the generation. */
  readonly id?: string;
  readonly images: readonly GeneratedImage[];
}

export function parseTogetherImages(body: unknown): TogetherImages {
  const parsed = togetherResponseSchema.safeParse(body);
  if (!parsed.success) throw new BackendError("failed", "Together answered without base64 images in data[].b64_json");
  return {
    ...(parsed.data.id !== undefined && { id: parsed.data.id }),
    images: parsed.data.data.map((image) => decodeB64Image("Together", image.b64_json)),
  };
}
