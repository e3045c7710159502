/** Image sizes as users write them ("1024x768") and the bounds every backend accepts. */
import { z } from "zod";

const MIN_SIDE = 64;
const MAX_SIDE = 2048;
/** Latent-space models work in multiples of 8 pixels; anything else is silently resized by them. */
const SIDE_STEP = 8;

export interface Size {
  readonly width: number;
  readonly height: number;
}

export const DEFAULT_SIZE: Size = { width: 1024, height: 1024 };

/**
 * The nearest size every backend accepts to `size`, keeping its ratio as closely as the bounds
 * allow: scaled down until the longer side fits, each side rounded to the step. An edit that names
 * no size is made at its input's size through this.
 */
export function withinBounds(size: Size): Size {
  const scale = Math.min(1, MAX_SIDE / Math.max(size.width, size.height));
  const side = (n: number) => Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.round((n * scale) / SIDE_STEP) * SIDE_STEP));
  return { width: side(size.width), height: side(size.height) };
}

/** Of `choices`, the one closest in ratio to `size`, then in area. */
export function nearestSize(choices: readonly Size[], size: Size): Size | undefined {
  const ratioGap = (c: Size) => Math.abs(Math.log(c.width / c.height) - Math.log(size.width / size.height));
  const areaGap = (c: Size) => Math.abs(Math.log((c.width * c.height) / (size.width * size.height)));
  return [...choices].sort((a, b) => ratioGap(a) - ratioGap(b) || areaGap(a) - areaGap(b))[0];
}

/** Parse "WxH" without range checks; null when malformed. */
export function parseSize(value: string): Size | null {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(value);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : null;
}

/** Why a size is unacceptable, or null. */
function sizeProblem(size: Size): string | null {
  for (const [axis, side] of [
    ["width", size.width],
    ["height", size.height],
  ] as const) {
    if (side < MIN_SIDE || side > MAX_SIDE) return `${axis} ${side} is outside ${MIN_SIDE}..${MAX_SIDE}`;
    if (side % SIDE_STEP !== 0) return `${axis} ${side} is not a multiple of ${SIDE_STEP}`;
  }
  return null;
}

/** A "WxH" string, checked but kept as a string (OpenAPI documents it as one). */
export const sizeField = z
  .string()
  .regex(/^\d{1,5}x\d{1,5}$/, "size must look like WxH, e.g. 1024x768")
  .superRefine((value, ctx) => {
    const size = parseSize(value);
    const problem = size && sizeProblem(size);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** Config form: "WxH" → Size. */
export const sizeString = sizeField.transform((value) => parseSize(value)!);
