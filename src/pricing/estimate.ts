/**
 * The CostEstimator the pipeline uses (port: estimator.ts) backed by a PriceStore.
 *
 * Current prices are read once and cached for `cacheMs` (per isolate: create one estimator per
 * isolate and reuse it), so a generation costs no extra round trip. If the store is unreachable
 * (or holds no prices at all, e.g. migrations not applied), the bundled snapshot is used instead:
 * the estimate is still made, but `priceId` is null because no stored row backs it, and a
 * warning is logged. That fallback is cached for a shorter time so a recovered store is picked
 * up quickly.
 *
 * @example
 *   const pricing = createCostEstimator({ store, clock: systemClock, log });
 *   await pricing.estimate({ provider: "replicate", model: "black-forest-labs/flux-schnell",
 *     imagesProduced: 2, width: 1024, height: 1024 }); // { usd: 0.006, priceId: 3 }
 */
import type { Clock } from "../lib/clock";
import { type Logger, silentLogger } from "../lib/log";
import type { CostEstimate, CostEstimator, EstimateInput } from "./estimator";
import { estimateFromLines, type RateLine } from "./rate-lookup";
import { BUNDLED_PRICES, SNAPSHOT_SOURCE } from "./snapshot";
import type { NewPrice, PriceStore } from "./store";

export interface StoreCostEstimatorOptions {
  readonly store: PriceStore;
  readonly clock: Clock;
  readonly log?: Logger;
  /** How long current prices are reused, ms. Default 60 s. */
  readonly cacheMs?: number;
  /** How long the snapshot fallback is reused before the store is tried again, ms. Default 10 s. */
  readonly fallbackCacheMs?: number;
  /** The fallback lines; defaults to the bundled snapshot. */
  readonly snapshot?: readonly NewPrice[];
}

export interface StoreCostEstimator extends CostEstimator {
  /** Drops the cache, e.g. right after a refresh applied new prices. */
  invalidate(): void;
}

interface Cached {
  readonly lines: readonly RateLine[];
  readonly expiresAt: number;
}

export function createCostEstimator(options: StoreCostEstimatorOptions): StoreCostEstimator {
  const { store, clock } = options;
  const log = options.log ?? silentLogger;
  const cacheMs = options.cacheMs ?? 60_000;
  const fallbackCacheMs = options.fallbackCacheMs ?? 10_000;
  const fallbackLines: readonly RateLine[] = (options.snapshot ?? BUNDLED_PRICES).map((p) => ({ ...p, id: null }));

  let cached: Cached | null = null;
  // Concurrent requests on a cold isolate share one store read instead of stampeding it.
  let loading: Promise<readonly RateLine[]> | null = null;

  async function load(): Promise<readonly RateLine[]> {
    try {
      const rows = await store.current();
      if (rows.length > 0) {
        cached = { lines: rows, expiresAt: clock.now() + cacheMs };
        return rows;
      }
      log.warn("pricing store has no current prices; estimating from the bundled snapshot (price_id null)", {
        snapshot: SNAPSHOT_SOURCE,
      });
    } catch (error) {
      log.warn("pricing store unreachable; estimating from the bundled snapshot (price_id null)", {
        snapshot: SNAPSHOT_SOURCE,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    cached = { lines: fallbackLines, expiresAt: clock.now() + fallbackCacheMs };
    return fallbackLines;
  }

  async function currentLines(): Promise<readonly RateLine[]> {
    if (cached && clock.now() < cached.expiresAt) return cached.lines;
    loading ??= load().finally(() => {
      loading = null;
    });
    return loading;
  }

  return {
    async estimate(input: EstimateInput): Promise<CostEstimate | null> {
      // Free providers need no table: do not let a slow store delay a mock generation.
      if (input.provider.trim().toLowerCase() === "mock") return estimateFromLines([], input);
      return estimateFromLines(await currentLines(), input);
    },
    invalidate() {
      cached = null;
    },
  };
}
