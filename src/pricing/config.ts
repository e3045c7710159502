/**
 * The `pricing` section of the service configuration. The lead merges it into
 * src/config/schema.ts as `pricing: pricingConfigSchema.prefault({}),` so a config without the
 * section gets every default below.
 *
 * @example (wrangler.toml)
 *   [vars.IMAGEN_CONFIG.pricing]
 *   refresh_threshold = 0.25
 *   sources = ["portkey:openai", "portkey:together-ai", "replicate"]
 */
import { z } from "zod";
import { DEFAULT_HELD_MAX_AGE_DAYS } from "./held";
import { PORTKEY_BASE_URL } from "./sources/portkey";
import { REPLICATE_WEB_URL } from "./sources/replicate";

/** Every source this build knows how to read (each with an explicit unit conversion). */
const PRICING_SOURCE_IDS = ["portkey:openai", "portkey:together-ai", "replicate"] as const;
export type PricingSourceId = (typeof PRICING_SOURCE_IDS)[number];

export const pricingConfigSchema = z.strictObject({
  /** Largest relative change applied without review (0.25 = ±25%); bigger changes are held. */
  refresh_threshold: z.number().gt(0).max(10).default(0.25),
  /** Sources the refresh reads, in order. An empty list disables the refresh. */
  sources: z
    .array(z.enum(PRICING_SOURCE_IDS))
    .default([...PRICING_SOURCE_IDS])
    .refine((ids) => new Set(ids).size === ids.length, "a pricing source is listed twice"),
  /**
   * Days a held change stays approvable after the last refresh that proposed it. Older proposals
   * are expired: no longer listed in /v1/pricing and refused on approval (409).
   */
  held_max_age_days: z.int().min(1).max(365).default(DEFAULT_HELD_MAX_AGE_DAYS),
  /** How long an isolate reuses the current prices before reading the store again, seconds. */
  cache_seconds: z.int().min(0).max(3600).default(60),
  /** A converted rate outside [min, max] USD per image or megapixel means the units look wrong: held. */
  plausible_usd: z
    .strictObject({ min: z.number().positive(), max: z.number().positive() })
    .refine((r) => r.min < r.max, "plausible_usd.min must be below max")
    .default({ min: 0.0001, max: 1 }),
  /** Overridable for a mirror or a local fake. */
  portkey_base_url: z.url().default(PORTKEY_BASE_URL),
  replicate_base_url: z.url().default(REPLICATE_WEB_URL),
});

export type PricingConfig = z.infer<typeof pricingConfigSchema>;

export const DEFAULT_PRICING_CONFIG: PricingConfig = pricingConfigSchema.parse({});
