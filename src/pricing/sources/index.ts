/**
 * Turns the configured source ids into PriceSource objects. One line per source kind.
 */
import type { PricingConfig, PricingSourceId } from "../config";
import { portkeySource } from "./portkey";
import { replicatePageSource } from "./replicate";
import type { FetchLike, PriceSource } from "./source";

export function buildPriceSources(
  config: Pick<PricingConfig, "sources" | "portkey_base_url" | "replicate_base_url">,
  deps: { readonly fetch: FetchLike },
): PriceSource[] {
  const fetch = deps.fetch;
  const build: Record<PricingSourceId, () => PriceSource> = {
    "portkey:openai": () => portkeySource("openai", { fetch, baseUrl: config.portkey_base_url }),
    "portkey:together-ai": () => portkeySource("together-ai", { fetch, baseUrl: config.portkey_base_url }),
    replicate: () => replicatePageSource({ fetch, baseUrl: config.replicate_base_url }),
  };
  return config.sources.map((id) => build[id]());
}

export type { FetchLike, PriceSource } from "./source";
