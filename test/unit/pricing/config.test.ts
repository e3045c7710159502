import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DEFAULT_PRICING_CONFIG, pricingConfigSchema } from "../../../src/pricing/config";
import { buildPriceSources } from "../../../src/pricing/sources";
import { fakeFetch } from "../../helpers/pricing";

describe("pricing configuration", () => {
  it("defaults to all sources, a 25% threshold, held changes approvable for 14 days and a one-minute price cache", () => {
    expect(DEFAULT_PRICING_CONFIG).toEqual({
      refresh_threshold: 0.25,
      sources: ["portkey:openai", "portkey:together-ai", "replicate"],
      held_max_age_days: 14,
      cache_seconds: 60,
      plausible_usd: { min: 0.0001, max: 1 },
      portkey_base_url: "https://configs.portkey.ai/pricing",
      replicate_base_url: "https://replicate.com",
    });
  });

  it("fills every default when the section is absent from the service config", () => {
    const service = z.strictObject({ pricing: pricingConfigSchema.prefault({}) });
    expect(service.parse({}).pricing).toEqual(DEFAULT_PRICING_CONFIG);
    expect(service.parse({ pricing: { refresh_threshold: 0.1 } }).pricing.sources).toHaveLength(3);
  });

  it("refuses a held-change lifetime that is not a whole number of days from 1 to 365", () => {
    for (const days of [0, 1.5, 366]) {
      expect(pricingConfigSchema.safeParse({ held_max_age_days: days }).error?.issues[0]?.path).toEqual(["held_max_age_days"]);
    }
    expect(pricingConfigSchema.parse({ held_max_age_days: 30 }).held_max_age_days).toBe(30);
  });

  it("names the bad field: an unknown source", () => {
    const result = pricingConfigSchema.safeParse({ sources: ["portkey:openai", "portkey:workers-ai"] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["sources", 1]);
  });

  it("rejects a source listed twice, a non-positive threshold and unknown keys", () => {
    expect(pricingConfigSchema.safeParse({ sources: ["replicate", "replicate"] }).error?.issues[0]?.message).toBe("a pricing source is listed twice");
    expect(pricingConfigSchema.safeParse({ refresh_threshold: 0 }).error?.issues[0]?.path).toEqual(["refresh_threshold"]);
    expect(pricingConfigSchema.safeParse({ threshold: 0.3 }).success).toBe(false);
  });

  it("builds one source per configured id, in order, and none for an empty list", () => {
    const fetch = fakeFetch({});
    expect(buildPriceSources({ ...DEFAULT_PRICING_CONFIG, sources: ["replicate", "portkey:openai"] }, { fetch }).map((s) => s.id)).toEqual([
      "replicate",
      "portkey:openai",
    ]);
    expect(buildPriceSources({ ...DEFAULT_PRICING_CONFIG, sources: [] }, { fetch })).toEqual([]);
  });
});
