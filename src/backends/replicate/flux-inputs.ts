/**
 * How a GenerationSpec becomes the `input` of each FLUX model on Replicate. The families differ:
 * schnell/dev take an aspect ratio from a fixed list (no free size) and up to 4 outputs;
 * 1.1-pro/pro take a custom width/height in multiples of 32 and make one image per prediction.
 * FLUX.1 Kontext (pro/max: `kontext`; dev: `kontext-dev`) edits `input_image` — a URL Replicate
 * fetches, or a data URI — into about one megapixel in the input's ratio (`match_input_image`)
 * or one of its listed ratios, one image per prediction; dev needs the image, pro/max also make
 * images from text alone. Schemas: GET /v1/models/{owner}/{name} → latest_version.openapi_schema; sizes from
 * replicate/cog-flux (ASPECT_RATIOS, megapixels "0.25" halves each side).
 */
import type { Size } from "../../lib/size";
import type { GenerationSpec } from "../backend";
import { BackendError } from "../errors";

export const fluxFamilies = ["schnell", "dev", "pro", "1.1-pro", "kontext", "kontext-dev"] as const;
export type FluxFamily = (typeof fluxFamilies)[number];

/** The families that edit: they take an input image. */
export function isKontext(family: FluxFamily): family is "kontext" | "kontext-dev" {
  return family === "kontext" || family === "kontext-dev";
}

/** Most sampler steps a family takes; undefined = it has no steps setting (flux-1.1-pro, Kontext pro/max). */
export const MAX_STEPS: Readonly<Record<FluxFamily, number | undefined>> = {
  schnell: 4,
  dev: 50,
  pro: 50,
  "1.1-pro": undefined,
  kontext: undefined,
  "kontext-dev": 50,
};
/** Fewest steps; 1 unless listed (flux-kontext-dev takes 4..50). */
const MIN_STEPS: Partial<Record<FluxFamily, number>> = { "kontext-dev": 4 };

/** The family from a model name, or null when the name does not say (set `family` in config). */
export function inferFamily(modelName: string): FluxFamily | null {
  if (/^flux-kontext-(pro|max)$/.test(modelName)) return "kontext";
  if (/^flux-kontext-dev$/.test(modelName)) return "kontext-dev";
  if (/(^|-)flux-schnell(-|$)/.test(modelName)) return "schnell";
  if (/(^|-)flux-dev(-|$)/.test(modelName)) return "dev";
  if (/^flux-1\.1-pro$/.test(modelName)) return "1.1-pro";
  if (/^flux-pro$/.test(modelName)) return "pro";
  return null;
}

/** Pixel size of each ratio at megapixels "1" (cog-flux's table). */
export const ASPECT_RATIO_SIZES = {
  "1:1": { width: 1024, height: 1024 },
  "16:9": { width: 1344, height: 768 },
  "21:9": { width: 1536, height: 640 },
  "3:2": { width: 1216, height: 832 },
  "2:3": { width: 832, height: 1216 },
  "4:5": { width: 896, height: 1088 },
  "5:4": { width: 1088, height: 896 },
  "3:4": { width: 896, height: 1152 },
  "4:3": { width: 1152, height: 896 },
  "9:16": { width: 768, height: 1344 },
  "9:21": { width: 640, height: 1536 },
} as const satisfies Record<string, Size>;
export type AspectRatio = keyof typeof ASPECT_RATIO_SIZES;
export const aspectRatios = Object.keys(ASPECT_RATIO_SIZES) as [AspectRatio, ...AspectRatio[]];

/** Kontext's ratios besides `match_input_image` (the model's input schema). */
const KONTEXT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21", "2:1", "1:2"] as const;

/** The listed ratio closest to WxH (compared on a log scale, so 2:1 and 1:2 are equally far from 1:1). */
function nearestOf<Ratio extends string>(ratios: readonly [Ratio, ...Ratio[]], width: number, height: number): Ratio {
  const wanted = Math.log(width / height);
  let best = ratios[0];
  let bestDistance = Infinity;
  for (const ratio of ratios) {
    const [w, h] = ratio.split(":").map(Number) as [number, number];
    const distance = Math.abs(Math.log(w / h) - wanted);
    if (distance < bestDistance) {
      best = ratio;
      bestDistance = distance;
    }
  }
  return best;
}

/** How far (log scale) a requested ratio may be from the input's and still mean "keep its ratio": about 1 %. */
const SAME_RATIO = 0.01;

/** Largest number of images one schnell/dev prediction makes. */
const MAX_OUTPUTS = 4;
/** Custom sizes of 1.1-pro/pro: multiples of 32 within 256..1440. */
const CUSTOM_SIDE = { min: 256, max: 1440, step: 32 } as const;

/** Input names this module sets from the request; config's `extra_input` may not set them. */
export const REQUEST_DERIVED_INPUTS = [
  "prompt",
  "seed",
  "num_outputs",
  "num_inference_steps",
  "steps",
  "aspect_ratio",
  "width",
  "height",
  "megapixels",
  "output_format",
  "input_image",
] as const;

type OutputFormat = "png" | "jpg" | "webp";

export interface FluxInputOptions {
  readonly family: FluxFamily;
  readonly modelName: string;
  /** The request's steps, else the instance's default_steps; undefined = the model's default. */
  readonly steps?: number;
  readonly outputFormat: OutputFormat;
  /** Fixed inputs from config (e.g. guidance, safety_tolerance); request-derived fields win. */
  readonly extraInput: Readonly<Record<string, unknown>>;
  /** An edit (Kontext): the input image as Replicate takes it (URL or data URI) and its pixel size. */
  readonly inputImage?: { readonly uri: string; readonly width: number; readonly height: number };
}

/**
 * The model input for one prediction. Throws BackendError invalid_request, naming the field,
 * when the request asks for something this model cannot do.
 */
export function fluxInput(spec: GenerationSpec, options: FluxInputOptions): Record<string, unknown> {
  const { family, modelName } = options;
  if (isKontext(family)) return kontextInput(spec, options);
  const base = {
    // FLUX's fp8 fast path is not deterministic even with a seed; we always send a seed, so
    // turn it off unless config's extra_input says otherwise.
    ...(family === "schnell" || family === "dev" ? { go_fast: false } : {}),
    ...options.extraInput,
    prompt: spec.prompt,
    seed: spec.seed,
    output_format: options.outputFormat,
  };

  if (family === "schnell" || family === "dev") {
    if (spec.n < 1 || spec.n > MAX_OUTPUTS) {
      throw invalid(`${modelName} makes 1..${MAX_OUTPUTS} images per request (num_outputs); asked for ${spec.n}`, "num_outputs");
    }
    const maxSteps = MAX_STEPS[family]!;
    if (options.steps !== undefined && (options.steps < 1 || options.steps > maxSteps)) {
      throw invalid(`${modelName} takes 1..${maxSteps} steps (num_inference_steps); asked for ${options.steps}`, "num_inference_steps");
    }
    return {
      ...base,
      aspect_ratio: nearestOf(aspectRatios, spec.width, spec.height),
      // Between the two sizes the model offers, pick the one nearer the requested area.
      megapixels: spec.width * spec.height <= 0.5 * 1024 * 1024 ? "0.25" : "1",
      num_outputs: spec.n,
      ...(options.steps !== undefined ? { num_inference_steps: options.steps } : {}),
    };
  }

  if (spec.n !== 1) {
    throw invalid(`${modelName} makes one image per prediction; ask for n=1`, "num_outputs");
  }
  const stepsInput: Record<string, number> = {};
  if (family === "pro" && options.steps !== undefined) {
    if (options.steps < 1 || options.steps > MAX_STEPS.pro!) {
      throw invalid(`${modelName} takes 1..${MAX_STEPS.pro} steps; asked for ${options.steps}`, "steps");
    }
    stepsInput.steps = options.steps;
  }
  // flux-1.1-pro has no steps setting: a request's steps are ignored there (documented).
  return {
    ...base,
    aspect_ratio: "custom",
    width: customSide(spec.width),
    height: customSide(spec.height),
    ...stepsInput,
  };
}

/**
 * FLUX.1 Kontext: one image per prediction. The input keeps its ratio (`match_input_image`) unless
 * the request asks for another size; then the nearest listed ratio (Kontext sizes the output
 * itself, about one megapixel).
 */
function kontextInput(spec: GenerationSpec, options: FluxInputOptions): Record<string, unknown> {
  const { family, modelName, inputImage } = options;
  if (spec.n !== 1) throw invalid(`${modelName} makes one image per prediction; ask for n=1`, "num_outputs");
  if (!inputImage && family === "kontext-dev") throw invalid(`${modelName} edits an image; send one`, "input_image");
  const steps: Record<string, number> = {};
  if (family === "kontext-dev" && options.steps !== undefined) {
    const [min, max] = [MIN_STEPS[family]!, MAX_STEPS[family]!];
    if (options.steps < min || options.steps > max) {
      throw invalid(`${modelName} takes ${min}..${max} steps (num_inference_steps); asked for ${options.steps}`, "num_inference_steps");
    }
    steps.num_inference_steps = options.steps;
  }
  const keepsRatio = inputImage && Math.abs(Math.log(spec.width / spec.height) - Math.log(inputImage.width / inputImage.height)) < SAME_RATIO;
  return {
    // As for FLUX dev: the fast path is not deterministic even with a seed.
    ...(family === "kontext-dev" ? { go_fast: false } : {}),
    ...options.extraInput,
    prompt: spec.prompt,
    seed: spec.seed,
    output_format: options.outputFormat,
    ...(inputImage && { input_image: inputImage.uri }),
    aspect_ratio: keepsRatio ? "match_input_image" : nearestOf(KONTEXT_RATIOS, spec.width, spec.height),
    ...steps,
  };
}

/** Nearest multiple of 32 within 256..1440. */
function customSide(side: number): number {
  const rounded = Math.round(side / CUSTOM_SIDE.step) * CUSTOM_SIDE.step;
  return Math.min(CUSTOM_SIDE.max, Math.max(CUSTOM_SIDE.min, rounded));
}

/**
 * The size a prediction with this input produces, used when the image bytes do not tell
 * (an unknown format). Null when the input does not say.
 */
export function expectedSize(input: Readonly<Record<string, unknown>>): Size | null {
  const { aspect_ratio: ratio, width, height, megapixels } = input;
  if (ratio === "custom" && typeof width === "number" && typeof height === "number") return { width, height };
  if (typeof ratio === "string" && ratio in ASPECT_RATIO_SIZES) {
    const size = ASPECT_RATIO_SIZES[ratio as AspectRatio];
    return megapixels === "0.25" ? { width: size.width / 2, height: size.height / 2 } : size;
  }
  return null;
}

function invalid(detail: string, field: string): BackendError {
  return new BackendError("invalid_request", detail, {
    invalidFields: [{ field: `input.${field}`, description: detail }],
  });
}
