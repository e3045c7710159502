/**
 * One price refresh as configured: the sources and limits come from the `pricing` config
 * section. The Worker's scheduled() handler and the Supabase Edge Function both call this, so
 * the two entry points cannot drift apart.
 *
 * @example (Worker, scheduled)
 *   ctx.waitUntil(runConfiguredRefresh(config.pricing, { store, fetch, clock: systemClock, log }));
 */
import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/log";
import type { PricingConfig } from "./config";
import { type RefreshReport, refreshPrices } from "./refresh";
import { buildPriceSources } from "./sources";
import type { FetchLike } from "./sources/source";
import type { PriceStore } from "./store";

export interface ConfiguredRefreshDeps {
  readonly store: PriceStore;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly log?: Logger;
  /** provider + model of every configured backend instance, so their first price is held for approval. */
  readonly wanted?: readonly { readonly provider: string; readonly model: string }[];
  readonly signal?: AbortSignal;
}

export function runConfiguredRefresh(config: PricingConfig, deps: ConfiguredRefreshDeps): Promise<RefreshReport> {
  return refreshPrices({
    sources: buildPriceSources(config, { fetch: deps.fetch }),
    store: deps.store,
    clock: deps.clock,
    threshold: config.refresh_threshold,
    plausible: config.plausible_usd,
    wanted: deps.wanted,
    log: deps.log,
    signal: deps.signal,
  });
}
