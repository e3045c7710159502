/** Fields every backend instance accepts, whatever its type. */
import { z } from "zod";
import { fallbackOnSchema } from "./fallback-triggers";

export const envVarName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "an env var name like REPLICATE_API_TOKEN (the secret itself never goes in config)");

export const baseInstanceFields = {
  model: z.string().min(1).max(200).optional(),
  default_steps: z.int().min(1).max(150).optional(),
  /** Instances to try, in order, when this one fails in a way another backend could fix. */
  fallback: z.array(z.string()).max(5).optional(),
  /** Which failures move on to `fallback` (README "Fallback"); default: every kind that may. */
  fallback_on: fallbackOnSchema.optional(),
  /** After failing as unreachable, chains skip this instance this long (0 = never skip); default 60. */
  cooldown_s: z.int().min(0).max(86_400).optional(),
};
