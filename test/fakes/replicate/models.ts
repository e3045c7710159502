/**
 * The models the fake Replicate knows, with the input schema each one validates (the subset of
 * the real OpenAPI schemas the project relies on) and the 422 `invalid_fields` entries Replicate
 * answers with when an input breaks it.
 */
import { createHash } from "node:crypto";

export type Family = "schnell" | "dev" | "1.1-pro" | "pro" | "kontext" | "kontext-dev";

export interface FakeModel {
  readonly name: string;
  readonly family: Family;
  /** flux-schnell/dev return an array of URLs; flux-1.1-pro/pro and the Kontext models a single URL string. */
  readonly output: "array" | "single";
}

export const MODELS: readonly FakeModel[] = [
  { name: "black-forest-labs/flux-schnell", family: "schnell", output: "array" },
  { name: "black-forest-labs/flux-dev", family: "dev", output: "array" },
  { name: "black-forest-labs/flux-1.1-pro", family: "1.1-pro", output: "single" },
  { name: "black-forest-labs/flux-pro", family: "pro", output: "single" },
  { name: "black-forest-labs/flux-kontext-pro", family: "kontext", output: "single" },
  { name: "black-forest-labs/flux-kontext-max", family: "kontext", output: "single" },
  { name: "black-forest-labs/flux-kontext-dev", family: "kontext-dev", output: "single" },
];

/** The input that names the image to edit (a URL Replicate fetches, or a data URI). */
export const INPUT_IMAGE = "input_image";

/** Whether a model takes an input image. */
export function takesInputImage(model: FakeModel): boolean {
  return model.family === "kontext" || model.family === "kontext-dev";
}

/** The fake's version id of a model: 64 hex characters, stable across runs. */
export function versionOf(model: string): string {
  return createHash("sha256").update(`fake-replicate:${model}`).digest("hex");
}

export function modelByName(name: string): FakeModel | undefined {
  return MODELS.find((m) => m.name === name);
}

export function modelByVersion(version: string): FakeModel | undefined {
  return MODELS.find((m) => versionOf(m.name) === version);
}

/** Sizes at megapixels "1" (replicate/cog-flux ASPECT_RATIOS); "0.25" halves each side. */
const ASPECT_RATIO_SIZES: Record<string, readonly [number, number]> = {
  "1:1": [1024, 1024],
  "16:9": [1344, 768],
  "21:9": [1536, 640],
  "3:2": [1216, 832],
  "2:3": [832, 1216],
  "4:5": [896, 1088],
  "5:4": [1088, 896],
  "3:4": [896, 1152],
  "4:3": [1152, 896],
  "9:16": [768, 1344],
  "9:21": [640, 1536],
};
const PRO_RATIOS = ["custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3"];
/** Kontext's ratios: `match_input_image` (the default) or one of these. */
const KONTEXT_RATIOS = ["match_input_image", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21", "2:1", "1:2"];
const FORMATS = ["webp", "jpg", "png"];

export interface InvalidField {
  readonly type: string;
  readonly field: string;
  readonly description: string;
}

type Rule =
  | { kind: "int" | "number"; min?: number; max?: number; multipleOf?: number }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "bool" }
  | { kind: "string" };

const SHARED: Record<string, Rule> = {
  prompt: { kind: "string" },
  seed: { kind: "int" },
  output_format: { kind: "enum", values: FORMATS },
  output_quality: { kind: "int", min: 0, max: 100 },
};

const SCHEMAS: Record<Family, Record<string, Rule>> = {
  schnell: {
    ...SHARED,
    aspect_ratio: { kind: "enum", values: Object.keys(ASPECT_RATIO_SIZES) },
    num_outputs: { kind: "int", min: 1, max: 4 },
    num_inference_steps: { kind: "int", min: 1, max: 4 },
    go_fast: { kind: "bool" },
    megapixels: { kind: "enum", values: ["1", "0.25"] },
    disable_safety_checker: { kind: "bool" },
  },
  dev: {
    ...SHARED,
    aspect_ratio: { kind: "enum", values: Object.keys(ASPECT_RATIO_SIZES) },
    num_outputs: { kind: "int", min: 1, max: 4 },
    num_inference_steps: { kind: "int", min: 1, max: 50 },
    guidance: { kind: "number", min: 0, max: 10 },
    prompt_strength: { kind: "number", min: 0, max: 1 },
    go_fast: { kind: "bool" },
    megapixels: { kind: "enum", values: ["1", "0.25"] },
    disable_safety_checker: { kind: "bool" },
  },
  "1.1-pro": {
    ...SHARED,
    aspect_ratio: { kind: "enum", values: PRO_RATIOS },
    width: { kind: "int", min: 256, max: 1440, multipleOf: 32 },
    height: { kind: "int", min: 256, max: 1440, multipleOf: 32 },
    safety_tolerance: { kind: "int", min: 1, max: 6 },
    prompt_upsampling: { kind: "bool" },
  },
  pro: {
    ...SHARED,
    aspect_ratio: { kind: "enum", values: PRO_RATIOS },
    width: { kind: "int", min: 256, max: 1440, multipleOf: 32 },
    height: { kind: "int", min: 256, max: 1440, multipleOf: 32 },
    steps: { kind: "int", min: 1, max: 50 },
    guidance: { kind: "number", min: 2, max: 5 },
    interval: { kind: "number", min: 1, max: 4 },
    safety_tolerance: { kind: "int", min: 1, max: 6 },
    prompt_upsampling: { kind: "bool" },
  },
  // flux-kontext-pro / -max: png (default) or jpg only; safety 0..6 (the model page: at most 2 with an input image).
  kontext: {
    ...SHARED,
    input_image: { kind: "string" },
    aspect_ratio: { kind: "enum", values: KONTEXT_RATIOS },
    output_format: { kind: "enum", values: ["jpg", "png"] },
    safety_tolerance: { kind: "int", min: 0, max: 6 },
    prompt_upsampling: { kind: "bool" },
  },
  // flux-kontext-dev: the input image is required; webp (default), jpg or png.
  "kontext-dev": {
    ...SHARED,
    input_image: { kind: "string" },
    aspect_ratio: { kind: "enum", values: KONTEXT_RATIOS },
    num_inference_steps: { kind: "int", min: 4, max: 50 },
    guidance: { kind: "number", min: 0, max: 10 },
    go_fast: { kind: "bool" },
    disable_safety_checker: { kind: "bool" },
  },
};

/** Inputs a family cannot run without, besides the prompt. */
const REQUIRED: Partial<Record<Family, readonly string[]>> = { "kontext-dev": [INPUT_IMAGE] };

/** Every broken rule; unknown inputs are ignored, as Replicate does. */
export function validateInput(family: Family, input: Record<string, unknown>): InvalidField[] {
  const problems: InvalidField[] = [];
  const schema = SCHEMAS[family];
  if (typeof input.prompt !== "string" || input.prompt === "") {
    problems.push({ type: "required", field: "input.prompt", description: "prompt is required" });
  }
  for (const name of REQUIRED[family] ?? []) {
    if (input[name] === undefined || input[name] === null) problems.push({ type: "required", field: `input.${name}`, description: `${name} is required` });
  }
  for (const [name, rule] of Object.entries(schema)) {
    const value = input[name];
    if (value === undefined || value === null || name === "prompt") continue;
    const field = `input.${name}`;
    switch (rule.kind) {
      case "string":
        if (typeof value !== "string") problems.push({ type: "invalid_type", field, description: "Invalid type. Expected: string" });
        break;
      case "bool":
        if (typeof value !== "boolean") problems.push({ type: "invalid_type", field, description: "Invalid type. Expected: boolean" });
        break;
      case "enum":
        if (typeof value !== "string" || !rule.values.includes(value)) {
          problems.push({ type: "enum", field, description: `${name} must be one of the following: ${rule.values.map((v) => `"${v}"`).join(", ")}` });
        }
        break;
      case "int":
      case "number":
        if (typeof value !== "number" || (rule.kind === "int" && !Number.isInteger(value))) {
          problems.push({ type: "invalid_type", field, description: `Invalid type. Expected: ${rule.kind === "int" ? "integer" : "number"}` });
        } else if (rule.max !== undefined && value > rule.max) {
          problems.push({ type: "number_lte", field, description: `Must be less than or equal to ${rule.max}` });
        } else if (rule.min !== undefined && value < rule.min) {
          problems.push({ type: "number_gte", field, description: `Must be greater than or equal to ${rule.min}` });
        } else if (rule.multipleOf !== undefined && value % rule.multipleOf !== 0) {
          problems.push({ type: "multiple_of", field, description: `Must be a multiple of ${rule.multipleOf}` });
        }
        break;
    }
  }
  return problems;
}

/** Defaults the real models apply when an input is left out: webp, except png on Kontext pro/max. */
export function outputFormatOf(model: FakeModel, input: Record<string, unknown>): "webp" | "jpg" | "png" {
  const format = input.output_format;
  if (format === "png" || format === "jpg" || format === "webp") return format;
  return model.family === "kontext" ? "png" : "webp";
}

export function numOutputs(model: FakeModel, input: Record<string, unknown>): number {
  return model.output === "single" ? 1 : typeof input.num_outputs === "number" ? input.num_outputs : 1;
}

/**
 * The pixel size a prediction with this input produces. Kontext makes about one megapixel in the
 * input image's ratio (`match_input_image`) or the ratio asked for; the fake's sides are
 * multiples of 32 (the real model's exact rounding is not documented).
 */
export function producedSize(model: FakeModel, input: Record<string, unknown>, inputImage?: { width: number; height: number }): [number, number] {
  if (takesInputImage(model)) {
    const ratio = typeof input.aspect_ratio === "string" ? input.aspect_ratio : "match_input_image";
    const [w, h] = ratio === "match_input_image" ? (inputImage ? [inputImage.width, inputImage.height] : [1, 1]) : ratio.split(":").map(Number);
    return aboutOneMegapixel(w!, h!);
  }
  if ((model.family === "1.1-pro" || model.family === "pro") && input.aspect_ratio === "custom") {
    return [Number(input.width ?? 1024), Number(input.height ?? 1024)];
  }
  const ratio = typeof input.aspect_ratio === "string" ? input.aspect_ratio : "1:1";
  const [w, h] = ASPECT_RATIO_SIZES[ratio] ?? [1024, 1024];
  return input.megapixels === "0.25" ? [w / 2, h / 2] : [w, h];
}

function aboutOneMegapixel(ratioWidth: number, ratioHeight: number): [number, number] {
  const width = Math.sqrt((1024 * 1024 * ratioWidth) / ratioHeight);
  const side = (value: number) => Math.max(32, Math.round(value / 32) * 32);
  return [side(width), side((width * ratioHeight) / ratioWidth)];
}
