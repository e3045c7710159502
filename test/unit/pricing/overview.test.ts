import { describe, expect, it } from "vitest";
import { MemoryPriceStore } from "../../../src/pricing/memory-price-store";
import { buildPricingOverview, pricingOverviewSchema } from "../../../src/pricing/overview";
import { refreshPrices } from "../../../src/pricing/refresh";
import { BUNDLED_PRICES } from "../../../src/pricing/snapshot";
import { portkeySource } from "../../../src/pricing/sources/portkey";
import { replicatePageSource } from "../../../src/pricing/sources/replicate";
import { editPortkey, fakeFetch, fixtures, html, json, manualClock, PORTKEY, REPLICATE, replicatePage } from "../../helpers/pricing";

describe("GET /v1/pricing body", () => {
  it("shows each current rate with its source and age, the held changes and the last refresh", async () => {
    const clock = manualClock("2026-12-02T12:00:00.000Z");
    const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
    const fetch = fakeFetch({
      [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(replicatePage("$0.0032")),
      [`${REPLICATE}/black-forest-labs/flux-dev`]: html(replicatePage("$0.25")),
    });
    await refreshPrices({ sources: [replicatePageSource({ fetch })], store, clock });
    clock.advance(2 * 86_400_000);

    const body = await buildPricingOverview(store, clock, { heldMaxAgeDays: 14 });

    expect(pricingOverviewSchema.parse(body)).toEqual(body);
    expect(body.generated_at).toBe("2026-12-04T12:00:00.000Z");
    expect(body.rates).toHaveLength(BUNDLED_PRICES.length);
    expect(body.rates.find((r) => r.model === "black-forest-labs/flux-schnell")).toMatchObject({
      provider: "replicate",
      unit: "image",
      usd_rate: 0.0032,
      source: "replicate",
      age_days: 2,
    });
    expect(body.rates.find((r) => r.model === "black-forest-labs/flux-dev")).toMatchObject({
      usd_rate: 0.025,
      source: "bundled-snapshot-2026-11-22",
      age_days: 12,
    });
    expect(body.held).toEqual([expect.objectContaining({ model: "black-forest-labs/flux-dev", old_rate: 0.025, new_rate: 0.25, source: "replicate" })]);
    expect(body.last_refresh).toMatchObject({
      started_at: "2026-12-02T12:00:00.000Z",
      ok: false, // flux-pro and flux-1.1-pro pages are 404 here: rejected, but the source still yielded prices
      report: { sources: [expect.objectContaining({ source: "replicate" })] },
    });
  });

  it("says there was no refresh yet", async () => {
    const clock = manualClock();
    const body = await buildPricingOverview(new MemoryPriceStore(clock, BUNDLED_PRICES), clock, { heldMaxAgeDays: 14 });
    expect(body.last_refresh).toBeNull();
    expect(body.held).toEqual([]);
  });

  it("warns about a priced model a source no longer lists (it keeps its last known price)", async () => {
    const clock = manualClock("2026-12-02T12:00:00.000Z");
    const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
    const withoutFluxPro = editPortkey(fixtures.portkeyTogether, (file) => {
      delete file["black-forest-labs/FLUX.1-pro"];
    });
    const fetch = fakeFetch({ [`${PORTKEY}/together-ai.json`]: json(withoutFluxPro) });
    await refreshPrices({ sources: [portkeySource("together-ai", { fetch })], store, clock });

    const body = await buildPricingOverview(store, clock, { heldMaxAgeDays: 14 });

    expect(body.warnings).toEqual([expect.stringContaining("source portkey:together-ai no longer lists black-forest-labs/flux.1-pro")]);
    expect(body.rates.find((r) => r.model === "black-forest-labs/flux.1-pro")).toMatchObject({ usd_rate: 0.05 });
  });

  it("has no warnings when every source still lists every priced line", async () => {
    const clock = manualClock();
    const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
    const fetch = fakeFetch({ [`${PORTKEY}/together-ai.json`]: json(fixtures.portkeyTogether) });
    await refreshPrices({ sources: [portkeySource("together-ai", { fetch })], store, clock });
    expect((await buildPricingOverview(store, clock, { heldMaxAgeDays: 14 })).warnings).toEqual([]);
  });
});
