/**
 * `[vars.IMAGEN_CONFIG.guard]`: spend caps, request limits and rate limits per caller, and how
 * long idempotency keys and spend reservations live. Every key has a default, so the table may
 * be left out (then nothing is capped).
 *
 * Limits resolve field by field: an API key record's `limits` win over the caller's entry in
 * `guard.callers`, which wins over `guard.default`. An absent cap means "no cap".
 *
 * @example (wrangler.toml)
 *   [vars.IMAGEN_CONFIG.guard.default]
 *   daily_usd = 5
 *   monthly_usd = 50
 *   max_images_per_request = 4
 *   max_megapixels_per_image = 4.2
 *   rate_limit = { requests = 30, window_seconds = 60 }
 *
 *   [vars.IMAGEN_CONFIG.guard.callers.blog]
 *   daily_usd = 1
 */
import { z } from "zod";

const rateLimitSchema = z.strictObject({
  /** Requests allowed per window, per API key. */
  requests: z.int().min(1).max(100_000),
  window_seconds: z.int().min(1).max(86_400),
});

export const limitsSchema = z.strictObject({
  /** USD the caller may spend per UTC day (settled + reserved). */
  daily_usd: z.number().min(0).max(1_000_000).optional(),
  /** USD the caller may spend per UTC calendar month. */
  monthly_usd: z.number().min(0).max(1_000_000).optional(),
  max_images_per_request: z.int().min(1).max(64).optional(),
  /** Width × height / 10⁶ of one image. */
  max_megapixels_per_image: z.number().gt(0).max(100).optional(),
  rate_limit: rateLimitSchema.optional(),
});

export const guardConfigSchema = z.strictObject({
  /** Limits of every caller without an entry of its own (and the base an entry extends). */
  default: limitsSchema.default({}),
  /** Per caller name (as on its API keys). */
  callers: z.record(z.string().min(1).max(64), limitsSchema).default({}),
  /** An `Idempotency-Key` is remembered this long after the first answer. */
  idempotency_hours: z
    .number()
    .gt(0)
    .max(24 * 30)
    .default(24),
  /** A duplicate waits this long for the first request with the same key before it gets 409. */
  idempotency_wait_seconds: z.int().min(0).max(900).default(120),
  /**
   * An Idempotency-Key claimed by a request that died (no answer stored) is free again after this.
   * Spend reservations do not use it: each lapses at its own attempt's deadline (src/spend/lapse.ts).
   */
  lease_seconds: z.int().min(1).max(86_400).default(1800),
  /**
   * An identical request with an explicit seed (same caller, backend, prompt, size, steps, style,
   * negative, n) within this many seconds gets the stored images again instead of paying twice;
   * 0 = off. `Cache-Control: no-cache` on the request always generates anew.
   */
  reuse_window_s: z.int().min(0).max(86_400).default(600),
});

export type RateLimit = z.infer<typeof rateLimitSchema>;
export type Limits = z.infer<typeof limitsSchema>;
export type GuardConfig = z.infer<typeof guardConfigSchema>;

/** The limits that apply to one request: default ← caller entry ← the API key's own limits. */
export function effectiveLimits(config: GuardConfig, caller: string, keyLimits: Limits | undefined): Limits {
  return { ...config.default, ...config.callers[caller], ...keyLimits };
}
