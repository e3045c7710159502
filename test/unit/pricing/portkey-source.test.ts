import { describe, expect, it } from "vitest";
import { portkeySource } from "../../../src/pricing/sources/portkey";
import { type CandidatePrice, PriceSourceError } from "../../../src/pricing/sources/source";
import { editPortkey, fakeFetch, fixtures, json, PORTKEY, realRoutes, status } from "../../helpers/pricing";

const ctx = { models: new Map<string, Set<string>>() };

function find(candidates: readonly CandidatePrice[], model: string, dims: Partial<CandidatePrice> = {}) {
  return candidates.filter((c) => c.model === model && Object.entries(dims).every(([k, v]) => c[k as keyof CandidatePrice] === v));
}

describe("Portkey price source", () => {
  it("fetches the provider's file from configs.portkey.ai", async () => {
    const fetch = fakeFetch(realRoutes());
    await portkeySource("openai", { fetch }).fetchPrices(ctx);
    expect(fetch.calls).toEqual(["https://configs.portkey.ai/pricing/openai.json"]);
  });

  it("reads OpenAI image prices as cents per image by quality and size", async () => {
    const { candidates } = await portkeySource("openai", { fetch: fakeFetch(realRoutes()) }).fetchPrices(ctx);
    expect(find(candidates, "gpt-image-1.5", { quality: "high", size: "1024x1024" })).toEqual([
      {
        provider: "openai",
        model: "gpt-image-1.5",
        unit: "image",
        quality: "high",
        size: "1024x1024",
        usd_rate: 0.133,
        published: "13.3 cents per image (high, 1024x1024)",
      },
    ]);
    expect(find(candidates, "dall-e-3", { quality: "hd", size: "1792x1024" })[0]?.usd_rate).toBe(0.12);
    expect(find(candidates, "gpt-image-1", { quality: "low", size: "1024x1536" })[0]?.usd_rate).toBe(0.016);
  });

  it("drops Portkey's 'default' quality and size wildcards when concrete ones exist", async () => {
    const { candidates } = await portkeySource("openai", { fetch: fakeFetch(realRoutes()) }).fetchPrices(ctx);
    const gptImage2 = find(candidates, "gpt-image-2");
    expect(gptImage2).toHaveLength(9);
    expect(gptImage2.every((c) => c.quality !== null && c.size !== null)).toBe(true);
  });

  it("ignores token-priced models", async () => {
    const { candidates } = await portkeySource("openai", { fetch: fakeFetch(realRoutes()) }).fetchPrices(ctx);
    expect(find(candidates, "gpt-4o")).toEqual([]);
    expect(find(candidates, "gpt-image-1-mini")).toEqual([]);
    expect(candidates.every((c) => c.unit === "image")).toBe(true);
  });

  it("reads Together megapixel prices as dollars, and image prices as dollars per image", async () => {
    const { candidates } = await portkeySource("together-ai", { fetch: fakeFetch(realRoutes()) }).fetchPrices(ctx);
    expect(find(candidates, "black-forest-labs/flux.1-schnell")).toEqual([
      {
        provider: "together",
        model: "black-forest-labs/flux.1-schnell",
        unit: "megapixel",
        quality: null,
        size: null,
        usd_rate: 0.0027,
        published: "0.0027 dollars per megapixel",
      },
    ]);
    expect(find(candidates, "black-forest-labs/flux.1.1-pro")).toEqual([expect.objectContaining({ unit: "image", quality: null, size: null, usd_rate: 0.04 })]);
    // default_steps sits beside megapixels in additional_units; it is a step count, not a price.
    expect(candidates.every((c) => c.unit === "image" || c.unit === "megapixel")).toBe(true);
    expect(find(candidates, "black-forest-labs/flux.1-pro")).toHaveLength(1);
  });

  it("uses a configured base URL (mirror or local fake)", async () => {
    const fetch = fakeFetch({ "http://127.0.0.1:9010/pricing/together-ai.json": json(fixtures.portkeyTogether) });
    const { candidates } = await portkeySource("together-ai", { fetch, baseUrl: "http://127.0.0.1:9010/pricing/" }).fetchPrices(ctx);
    expect(candidates.length).toBeGreaterThan(0);
  });

  it("fails with the HTTP status when Portkey answers an error", async () => {
    const fetch = fakeFetch({ [`${PORTKEY}/openai.json`]: status(500, "Internal Server Error") });
    const failure = portkeySource("openai", { fetch }).fetchPrices(ctx);
    await expect(failure).rejects.toBeInstanceOf(PriceSourceError);
    await expect(portkeySource("openai", { fetch }).fetchPrices(ctx)).rejects.toThrow(/portkey:openai: HTTP 500/);
  });

  it("fails when the network call itself fails", async () => {
    const fetch = async () => {
      throw new TypeError("Network connection lost.");
    };
    await expect(portkeySource("openai", { fetch }).fetchPrices(ctx)).rejects.toThrow(/fetch failed: Network connection lost/);
  });

  it("fails on malformed JSON", async () => {
    const truncated = fixtures.portkeyTogether.slice(0, 5000);
    const fetch = fakeFetch({ [`${PORTKEY}/together-ai.json`]: json(truncated) });
    await expect(portkeySource("together-ai", { fetch }).fetchPrices(ctx)).rejects.toThrow(/malformed JSON/);
  });

  it("fails on JSON that is not a file of models", async () => {
    const fetch = fakeFetch({ [`${PORTKEY}/openai.json`]: json("[1, 2, 3]") });
    await expect(portkeySource("openai", { fetch }).fetchPrices(ctx)).rejects.toThrow(/not a JSON object keyed by model/);
  });

  it("fails when a file has no image prices at all (the format changed)", async () => {
    const tokensOnly = editPortkey(fixtures.portkeyOpenai, (file) => {
      for (const [model, entry] of Object.entries(file)) {
        if (entry.pricing_config?.pay_as_you_go?.image !== undefined) delete file[model];
      }
    });
    const fetch = fakeFetch({ [`${PORTKEY}/openai.json`]: json(tokensOnly) });
    await expect(portkeySource("openai", { fetch }).fetchPrices(ctx)).rejects.toThrow(/no image prices found/);
  });

  it("rejects one malformed entry by name and still reads the rest", async () => {
    const broken = editPortkey(fixtures.portkeyTogether, (file) => {
      const payg = file["black-forest-labs/FLUX.1-dev"]?.pricing_config?.pay_as_you_go as Record<string, unknown>;
      payg.additional_units = { megapixels: { price: "0.025" } };
    });
    const fetch = fakeFetch({ [`${PORTKEY}/together-ai.json`]: json(broken) });
    const { candidates, rejected } = await portkeySource("together-ai", { fetch }).fetchPrices(ctx);
    expect(rejected).toEqual([{ model: "black-forest-labs/flux.1-dev", reason: "megapixel price malformed" }]);
    expect(find(candidates, "black-forest-labs/flux.1-dev")).toEqual([]);
    expect(find(candidates, "black-forest-labs/flux.1-schnell")).toHaveLength(1);
  });

  it("rejects an entry priced in another currency", async () => {
    const euros = editPortkey(fixtures.portkeyTogether, (file) => {
      const config = file["black-forest-labs/FLUX.1-schnell"]?.pricing_config as Record<string, unknown>;
      config.currency = "EUR";
    });
    const fetch = fakeFetch({ [`${PORTKEY}/together-ai.json`]: json(euros) });
    const { candidates, rejected } = await portkeySource("together-ai", { fetch }).fetchPrices(ctx);
    expect(rejected).toEqual([{ model: "black-forest-labs/flux.1-schnell", reason: "currency EUR is not USD" }]);
    expect(find(candidates, "black-forest-labs/flux.1-schnell")).toEqual([]);
  });
});
