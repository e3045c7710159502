/**
 * The pricing port the pipeline uses. An unknown model gets null, never a guess; a known one
 * names the price row it used so the usage row can point at it.
 */
import type { Usd } from "../lib/money";

export interface EstimateInput {
  /** Pricing provider key, e.g. `replicate`, `together`, `openai`, `mock`, `comfyui`. */
  readonly provider: string;
  readonly model: string;
  readonly imagesProduced: number;
  readonly width: number;
  readonly height: number;
  /** Provider-specific price dimension, e.g. OpenAI quality. */
  readonly quality?: string;
}

export interface CostEstimate {
  readonly usd: Usd;
  /** Id of the price row used; null for free backends that have no row. */
  readonly priceId: number | null;
}

export interface CostEstimator {
  estimate(input: EstimateInput): Promise<CostEstimate | null>;
}
