/**
 * The estimator used until a price table is wired: free backends cost 0, everything else is
 * unknown (NULL), never guessed.
 */
import { ZERO_USD } from "../lib/money";
import type { CostEstimator } from "./estimator";

const FREE_PROVIDERS = new Set(["mock"]);

export const freeOnlyEstimator: CostEstimator = {
  async estimate(input) {
    return FREE_PROVIDERS.has(input.provider) ? { usd: ZERO_USD, priceId: null } : null;
  },
};
