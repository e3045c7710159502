/** Image sizes as users write them ("1024x768") and the bounds every backend accepts. */
import { z } from "zod";

export const MIN_SIDE = 64;
export const MAX_SIDE = 2048;
/** Latent-space models work in multiples of 8 pixels; anything else is silently resized by them. */
export const SIDE_STEP = 8;

export interface Size {
  readonly width: number;
  readonly height: number;
}

export const sizeString = z
  .string()
  .regex(/^\d{1,5}x\d{1,5}$/, "size must look like WxH, e.g. 1024x768")
  .transform((value, ctx): Size => {
    const [width, height] = value.split("x").map(Number) as [number, number];
    for (const [axis, side] of [["width", width], ["height", height]] as const) {
      if (side < MIN_SIDE || side > MAX_SIDE) {
        ctx.addIssue({ code: "custom", message: `${axis} ${side} is outside ${MIN_SIDE}..${MAX_SIDE}` });
        return z.NEVER;
      }
      if (side % SIDE_STEP !== 0) {
        ctx.addIssue({ code: "custom", message: `${axis} ${side} is not a multiple of ${SIDE_STEP}` });
        return z.NEVER;
      }
    }
    return { width, height };
  });

export const DEFAULT_SIZE: Size = { width: 1024, height: 1024 };
