/**
 * What an attempt may cost at most, priced the way its provider bills, from the same price table
 * the ledger uses (src/pricing): per image, per megapixel, or per quality × size (an unnamed
 * quality takes the most expensive line). An instance's own `cost_per_image_usd` (the home box)
 * wins, as it does when the ledger prices the finished attempt.
 */
import type { Backend } from "../backends/backend";
import { type Usd, usd } from "../lib/money";
import type { CostEstimate, CostEstimator } from "../pricing/estimator";

export type AttemptPrice =
  /** Costs nothing (mock, a home box at cost 0): never blocked by money caps. */
  | { readonly kind: "free" }
  | { readonly kind: "priced"; readonly usd: Usd; readonly priceId: number | null }
  /** Paid, but no price line matches (unknown model or size): the cost is unknown. */
  | { readonly kind: "unpriced" };

/** What is priced: the size and number of images an attempt asks for. */
export interface RequestShape {
  readonly width: number;
  readonly height: number;
  readonly n: number;
}

export type PricedBackend = Pick<Backend, "provider" | "model" | "configuredPricePerImage" | "quality">;

/** `quality`: the caller's; absent, the instance's configured one prices the attempt, as it will bill. */
export async function priceAttempt(backend: PricedBackend, shape: RequestShape & { readonly quality?: string }, pricing: CostEstimator): Promise<AttemptPrice> {
  if (backend.configuredPricePerImage !== undefined) return priced(usd(backend.configuredPricePerImage * shape.n), null);
  const quality = shape.quality ?? backend.quality;
  let estimate: CostEstimate | null;
  try {
    estimate = await pricing.estimate({
      provider: backend.provider,
      model: backend.model,
      imagesProduced: shape.n,
      width: shape.width,
      height: shape.height,
      ...(quality !== undefined && { quality }),
    });
  } catch {
    return { kind: "unpriced" };
  }
  return estimate === null ? { kind: "unpriced" } : priced(estimate.usd, estimate.priceId);
}

/** `AttemptCharge.worstCaseUsd`: the amount to reserve, or null when there is nothing to reserve. */
export function worstCaseUsd(price: AttemptPrice): Usd | null {
  return price.kind === "priced" ? price.usd : null;
}

function priced(amount: Usd, priceId: number | null): AttemptPrice {
  return amount > 0 ? { kind: "priced", usd: amount, priceId } : { kind: "free" };
}
