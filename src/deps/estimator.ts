/** The cost estimator for a config: it caches current prices per isolate, so there is one per config object and ledger. */
import type { ImagenConfig } from "../config/schema";
import type { Env } from "../env";
import { systemClock } from "../lib/clock";
import type { Logger } from "../lib/log";
import { createCostEstimator } from "../pricing/estimate";
import type { CostEstimator } from "../pricing/estimator";
import type { PriceStore } from "../pricing/store";
import { type LedgerTarget, ledgerTarget, priceStoreFor } from "./ledger";

const estimators = new WeakMap<ImagenConfig, Map<string, CostEstimator>>();

export function estimatorFor(env: Env, config: ImagenConfig, log: Logger): CostEstimator {
  let byTarget = estimators.get(config);
  if (!byTarget) estimators.set(config, (byTarget = new Map()));
  let target: LedgerTarget | Error;
  try {
    target = ledgerTarget(config, env);
  } catch (error) {
    target = error instanceof Error ? error : new Error(String(error));
  }
  const id = target instanceof Error ? "unavailable" : target.kind === "d1" ? "d1" : target.settings.url;
  let estimator = byTarget.get(id);
  if (!estimator) {
    // A misconfigured ledger must not fail generations: estimate from the bundled snapshot
    // (the estimator's own fallback) while /healthz reports the problem.
    const store = target instanceof Error ? unavailablePriceStore(target) : priceStoreFor(env, config);
    estimator = createCostEstimator({ store, clock: systemClock, log, cacheMs: config.pricing.cache_seconds * 1000 });
    byTarget.set(id, estimator);
  }
  return estimator;
}

function unavailablePriceStore(error: unknown): PriceStore {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return { current: fail, apply: fail, hold: fail, held: fail, supersede: fail, approveHeld: fail, rejectHeld: fail, recordRun: fail, lastRun: fail };
}
