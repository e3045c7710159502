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

export interface TogetherImageRequest {
  readonly model: string;
  readonly prompt: string;
  readonly width: number;
  readonly height: number;
  readonly n: number;
  readonly seed: number;
  readonly steps?: number;
  readonly negative_prompt?: string;
  readonly response_format: "base64";
  readonly output_format: (typeof togetherOutputFormats)[number];
}

/** The body for one spec; steps only when the request or the instance names them. */
export function togetherImageRequest(
  spec: GenerationSpec,
  instance: { readonly model: string; readonly defaultSteps?: number; readonly outputFormat: TogetherImageRequest["output_format"] },
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
