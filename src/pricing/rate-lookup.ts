/**
 * Pure cost arithmetic over a list of price lines: pick the line that prices this attempt and
 * multiply by the units actually produced. No I/O, so the rules are tested in isolation and the
 * caching estimator (estimate.ts) stays a thin shell.
 *
 * Rules:
 * - provider "mock" costs 0 and names no price row;
 * - provider "comfyui" (self-hosted) costs 0 unless a per-image row exists for the model;
 * - an unknown model, or a known one with no line for the produced size, is null — never a guess;
 * - a line with a size only matches that exact size; a line without one matches every size;
 * - a quality the caller names must match (or the line has no quality); when the caller names
 *   none or "auto" (OpenAI then picks), the most expensive matching quality is used: an upper
 *   bound is the safe side for budgets. Backends that learn the quality used should pass it.
 * - "second" lines are ignored: an estimate has no predict time to multiply them by.
 */
import type { CostEstimate, EstimateInput } from "./estimator";
import { normaliseModel, normaliseProvider, sizeLabel } from "./model-key";
import type { PriceKey } from "./store";
import { usd, ZERO_USD } from "../lib/money";

/** A price line as the estimator sees it: a stored row (id) or a snapshot line (id null). */
export interface RateLine extends PriceKey {
  readonly id: number | null;
  readonly usd_rate: number;
}

const FREE: CostEstimate = { usd: ZERO_USD, priceId: null };

export function estimateFromLines(lines: readonly RateLine[], input: EstimateInput): CostEstimate | null {
  if (!Number.isInteger(input.imagesProduced) || input.imagesProduced < 0) {
    throw new RangeError(`imagesProduced must be a non-negative integer, got ${input.imagesProduced}`);
  }
  const provider = normaliseProvider(input.provider);
  if (provider === "mock") return FREE;

  const model = normaliseModel(input.model);
  const forModel = lines.filter(
    (l) => normaliseProvider(l.provider) === provider && normaliseModel(l.model) === model && (l.unit === "image" || l.unit === "megapixel"),
  );
  if (provider === "comfyui") {
    const perImage = forModel.filter((l) => l.unit === "image");
    if (perImage.length === 0) return FREE;
    return priceForAttempt(perImage, input);
  }
  if (forModel.length === 0) return null;
  return priceForAttempt(forModel, input);
}

/** Narrows the model's lines to the ones that price this size and quality, then costs them. */
function priceForAttempt(lines: readonly RateLine[], input: EstimateInput): CostEstimate | null {
  const size = sizeLabel(input.width, input.height);
  const exactSize = lines.filter((l) => l.size?.toLowerCase() === size);
  const bySize = exactSize.length > 0 ? exactSize : lines.filter((l) => l.size === null);
  if (bySize.length === 0) return null;

  const quality = input.quality?.trim().toLowerCase();
  let candidates: readonly RateLine[];
  if (quality && quality !== "auto") {
    const exactQuality = bySize.filter((l) => l.quality?.toLowerCase() === quality);
    candidates = exactQuality.length > 0 ? exactQuality : bySize.filter((l) => l.quality === null);
  } else {
    const unqualified = bySize.filter((l) => l.quality === null);
    candidates = unqualified.length > 0 ? unqualified : bySize;
  }
  if (candidates.length === 0) return null;

  // Several lines left means a genuinely ambiguous table (e.g. quality unknown): take the
  // highest cost, the side that never under-reserves a budget.
  let best: { cost: number; line: RateLine } | null = null;
  for (const line of candidates) {
    const cost = costOf(line, input);
    if (cost === null) continue;
    if (best === null || cost > best.cost) best = { cost, line };
  }
  return best === null ? null : { usd: usd(best.cost), priceId: best.line.id };
}

function costOf(line: RateLine, input: EstimateInput): number | null {
  if (line.unit === "image") return line.usd_rate * input.imagesProduced;
  if (!(input.width > 0 && input.height > 0)) return null;
  const megapixelsPerImage = (input.width * input.height) / 1e6;
  return line.usd_rate * megapixelsPerImage * input.imagesProduced;
}
