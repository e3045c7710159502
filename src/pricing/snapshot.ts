/**
 * The bundled, dated price snapshot for every model we ship. It seeds the price table (the SQL
 * migrations insert exactly these rows; docs/pricing.md lists them for cross-checking) and is the
 * estimator's fallback when the price store is unreachable.
 *
 * Where the numbers come from (checked 2026-11-22):
 * - Replicate: per output image for the official FLUX models (replicate.com model pages; Replicate
 *   has no pricing API).
 * - Together: per megapixel for FLUX.1 schnell/dev/pro, per image for FLUX1.1 pro (Together's
 *   pricing page; Portkey's together-ai.json agrees, in dollars).
 * - OpenAI: per image by quality and size from Portkey's openai.json, which is in CENTS
 *   (gpt-image-1.5 high 1024x1024 = 13.3 → $0.133). Only concrete qualities and sizes are listed:
 *   Portkey's "default" entries duplicate "high". gpt-image-1 (retired 2026-10-23) and
 *   gpt-image-1-mini (token-priced only, shutting down 2026-12-01) are deliberately absent.
 *   Note: the source prices gpt-image-2's portrait/landscape sizes BELOW its square size; copied
 *   as published, flagged in docs/pricing.md.
 *
 * The FLUX.1 Kontext editing models joined on 2026-12-07, as lines of their own date (seeded by
 * their own migrations, after the first snapshot's rows): Replicate per output image (Kontext pro
 * $0.04, max $0.08, dev $0.025, as Black Forest Labs prices pro and max), Together per megapixel
 * as Portkey's together-ai.json lists them (pro 0.04, max 0.08, dev 0.025).
 */
import { roundRate } from "./model-key";
import type { NewPrice, PriceUnit } from "./store";

const SNAPSHOT_DATE = "2026-11-22";
export const SNAPSHOT_SOURCE = snapshotSource(SNAPSHOT_DATE);
const KONTEXT_DATE = "2026-12-07";
export const KONTEXT_SNAPSHOT_SOURCE = snapshotSource(KONTEXT_DATE);

function snapshotSource(date: string): string {
  return `bundled-snapshot-${date}`;
}

function dated(date: string) {
  return (provider: string, model: string, unit: PriceUnit, usd_rate: number, dims: { quality?: string; size?: string } = {}): NewPrice => ({
    provider,
    model,
    unit,
    quality: dims.quality ?? null,
    size: dims.size ?? null,
    usd_rate: roundRate(usd_rate),
    source: snapshotSource(date),
    fetched_at: `${date}T00:00:00.000Z`,
    effective_from: `${date}T00:00:00.000Z`,
  });
}

const line = dated(SNAPSHOT_DATE);
const kontextLine = dated(KONTEXT_DATE);

/** OpenAI per-image rates in cents as published: quality → size → cents. */
const OPENAI_CENTS: Record<string, Record<string, Record<string, number>>> = {
  "gpt-image-1.5": {
    low: { "1024x1024": 0.9, "1024x1536": 1.3, "1536x1024": 1.3 },
    medium: { "1024x1024": 3.4, "1024x1536": 5, "1536x1024": 5 },
    high: { "1024x1024": 13.3, "1024x1536": 20, "1536x1024": 20 },
  },
  "gpt-image-2": {
    low: { "1024x1024": 0.6, "1024x1536": 0.5, "1536x1024": 0.5 },
    medium: { "1024x1024": 5.3, "1024x1536": 4.1, "1536x1024": 4.1 },
    high: { "1024x1024": 21.1, "1024x1536": 16.5, "1536x1024": 16.5 },
  },
};

const openAiLines: NewPrice[] = Object.entries(OPENAI_CENTS).flatMap(([model, qualities]) =>
  Object.entries(qualities).flatMap(([quality, sizes]) =>
    Object.entries(sizes).map(([size, cents]) => line("openai", model, "image", cents / 100, { quality, size })),
  ),
);

/** Model names are stored normalised (lowercase, no ":version"), see model-key.ts. */
export const BUNDLED_PRICES: readonly NewPrice[] = Object.freeze([
  line("replicate", "black-forest-labs/flux-schnell", "image", 0.003),
  line("replicate", "black-forest-labs/flux-dev", "image", 0.025),
  line("replicate", "black-forest-labs/flux-pro", "image", 0.055),
  line("replicate", "black-forest-labs/flux-1.1-pro", "image", 0.04),
  line("together", "black-forest-labs/flux.1-schnell", "megapixel", 0.0027),
  line("together", "black-forest-labs/flux.1-dev", "megapixel", 0.025),
  line("together", "black-forest-labs/flux.1-pro", "megapixel", 0.05),
  line("together", "black-forest-labs/flux.1.1-pro", "image", 0.04),
  ...openAiLines,
  kontextLine("replicate", "black-forest-labs/flux-kontext-pro", "image", 0.04),
  kontextLine("replicate", "black-forest-labs/flux-kontext-max", "image", 0.08),
  kontextLine("replicate", "black-forest-labs/flux-kontext-dev", "image", 0.025),
  kontextLine("together", "black-forest-labs/flux.1-kontext-pro", "megapixel", 0.04),
  kontextLine("together", "black-forest-labs/flux.1-kontext-max", "megapixel", 0.08),
  kontextLine("together", "black-forest-labs/flux.1-kontext-dev", "megapixel", 0.025),
]);
