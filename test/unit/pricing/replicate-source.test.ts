import { describe, expect, it } from "vitest";
import { findBillingConfig, replicatePageSource } from "../../../src/pricing/sources/replicate";
import { fakeFetch, fixtures, html, realRoutes, REPLICATE, replicateBillingPage, replicatePage, status } from "../../helpers/pricing";

const models = (...names: string[]) => ({ models: new Map([["replicate", new Set(names)]]) });

describe("Replicate model-page price source (best effort)", () => {
  it("reads the per-output-image price embedded in the model page", async () => {
    const fetch = fakeFetch(realRoutes());
    const result = await replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-schnell"));
    expect(fetch.calls).toEqual(["https://replicate.com/black-forest-labs/flux-schnell"]);
    expect(result).toEqual({
      candidates: [
        {
          provider: "replicate",
          model: "black-forest-labs/flux-schnell",
          unit: "image",
          quality: null,
          size: null,
          usd_rate: 0.003,
          published: "$0.003 per output image",
        },
      ],
      rejected: [],
    });
  });

  it("converts a price quoted per thousand images", async () => {
    const fetch = fakeFetch({
      [`${REPLICATE}/black-forest-labs/flux-dev`]: html(replicatePage("$25.00", "per thousand output images")),
    });
    const { candidates } = await replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-dev"));
    expect(candidates.map((c) => c.usd_rate)).toEqual([0.025]);
  });

  it("only fetches the Replicate models this deployment prices", async () => {
    const fetch = fakeFetch(realRoutes());
    await replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-pro", "black-forest-labs/flux-dev"));
    expect(fetch.calls.sort()).toEqual(["https://replicate.com/black-forest-labs/flux-dev", "https://replicate.com/black-forest-labs/flux-pro"]);
  });

  it("reports a page it cannot read and keeps the pages it can", async () => {
    const fetch = fakeFetch({
      [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(fixtures.replicateFluxSchnellPage),
      [`${REPLICATE}/black-forest-labs/flux-dev`]: status(503),
    });
    const { candidates, rejected } = await replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"));
    expect(candidates.map((c) => c.model)).toEqual(["black-forest-labs/flux-schnell"]);
    expect(rejected).toEqual([{ model: "black-forest-labs/flux-dev", reason: "HTTP 503 from https://replicate.com/black-forest-labs/flux-dev" }]);
  });

  it("fails cleanly, with every reason, when no page yields a price", async () => {
    const fetch = fakeFetch({
      [`${REPLICATE}/black-forest-labs/flux-schnell`]: html("<html><body><h1>flux-schnell</h1></body></html>"),
    });
    await expect(replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-schnell"))).rejects.toThrow(
      "replicate: no model page yielded a price (black-forest-labs/flux-schnell: no billing object found on the model page)",
    );
  });

  it("refuses to guess from a billing object without a per-image price", async () => {
    const perSecond = fixtures.replicateFluxSchnellPage.replace('"metric":"image_output_count"', '"metric":"predict_time"');
    const fetch = fakeFetch({ [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(perSecond) });
    await expect(replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-schnell"))).rejects.toThrow(
      /no per-output-image price \(metrics: predict_time\)/,
    );
  });

  it("refuses price wording whose unit it cannot tell", async () => {
    const fetch = fakeFetch({
      [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(replicatePage("$0.003", "per run")),
    });
    await expect(replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-schnell"))).rejects.toThrow(/cannot tell the unit of "per run"/);
  });

  it("refuses a page that lists several different per-image prices", async () => {
    const tier = (price: string) => ({
      criteria: [],
      prices: [{ metric: "image_output_count", metric_display: "output image", title: "per output image", price }],
    });
    const twoTiers = replicateBillingPage({ current_tiers: [tier("$0.003"), tier("$0.002")] });
    const fetch = fakeFetch({ [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(twoTiers) });
    await expect(replicatePageSource({ fetch }).fetchPrices(models("black-forest-labs/flux-schnell"))).rejects.toThrow(/several different per-image prices/);
  });

  it("does not fetch a model reference that is not owner/name", async () => {
    const fetch = fakeFetch({});
    await expect(replicatePageSource({ fetch }).fetchPrices(models("../../admin"))).rejects.toThrow(/not an owner\/name model reference/);
    expect(fetch.calls).toEqual([]);
  });

  it("skips unrelated and malformed JSON islands on the page", () => {
    const page = `<script type="application/json">{not json</script>${fixtures.replicateFluxSchnellPage}`;
    expect(findBillingConfig(page)?.current_tiers[0]?.prices[0]?.price).toBe("$0.003");
  });
});
