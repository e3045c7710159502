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
  return config.sources.map((id: PricingSourceId) => {
    switch (id) {
      case "portkey:openai":
        return portkeySource("openai", { fetch, baseUrl: config.portkey_base_url });
      case "portkey:together-ai":
        return portkeySource("together-ai", { fetch, baseUrl: config.portkey_base_url });
      case "replicate":
        return replicatePageSource({ fetch, baseUrl: config.replicate_base_url });
    }
  });
}

export type { CandidatePrice, FetchLike, PriceSource, SourceResult } from "./source";
