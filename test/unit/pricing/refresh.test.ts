import { describe, expect, it } from "vitest";
import { createCostEstimator } from "../../../src/pricing/estimate";
import { MemoryPriceStore } from "../../../src/pricing/memory-price-store";
import { refreshPrices, type RefreshReport, type SourceReport } from "../../../src/pricing/refresh";
import { BUNDLED_PRICES } from "../../../src/pricing/snapshot";
import { buildPriceSources } from "../../../src/pricing/sources";
import { portkeySource } from "../../../src/pricing/sources/portkey";
import type { PriceStore } from "../../../src/pricing/store";
import {
  captureLogs,
  editPortkey,
  fakeFetch,
  fixtures,
  html,
  json,
  manualClock,
  PORTKEY,
  realRoutes,
  REPLICATE,
  replicatePage,
  scaleImagePrices,
  setMegapixelPrice,
  status,
} from "../../helpers/pricing";

const ALL = { sources: ["portkey:openai", "portkey:together-ai", "replicate"] as const };
const urls = { portkey_base_url: PORTKEY, replicate_base_url: REPLICATE };

function world(routes: Record<string, () => Response> = {}) {
  const clock = manualClock("2026-11-23T04:00:00.000Z");
  const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
  const fetch = fakeFetch({ ...realRoutes(), ...routes });
  const sources = buildPriceSources({ sources: [...ALL.sources], ...urls }, { fetch });
  return { clock, store, fetch, sources };
}

function sourceReport(report: RefreshReport, id: string): SourceReport {
  const found = report.sources.find((s) => s.source === id);
  if (!found) throw new Error(`no report for ${id}`);
  return found;
}

async function currentRate(store: PriceStore, provider: string, model: string, quality: string | null = null, size: string | null = null) {
  const rows = (await store.current()).filter((r) => r.provider === provider && r.model === model && r.quality === quality && r.size === size);
  expect(rows).toHaveLength(1);
  return rows[0];
}

describe("price refresh", () => {
  it("changes nothing when every source confirms the bundled prices, and records the run", async () => {
    const { clock, store, sources } = world();
    const before = await store.current();

    const report = await refreshPrices({ sources, store, clock });

    expect(report.ok).toBe(true);
    expect(report.sources.map((s) => [s.source, s.ok, s.applied.length, s.held.length])).toEqual([
      ["portkey:openai", true, 0, 0],
      ["portkey:together-ai", true, 0, 0],
      ["replicate", true, 0, 0],
    ]);
    expect(sourceReport(report, "portkey:openai").unchanged).toBe(18);
    // Four FLUX lines and three Kontext lines each.
    expect(sourceReport(report, "portkey:together-ai").unchanged).toBe(7);
    expect(sourceReport(report, "replicate").unchanged).toBe(7);
    expect(await store.current()).toEqual(before);
    expect(await store.held()).toEqual([]);
    expect(await store.lastRun()).toMatchObject({ ok: true, started_at: "2026-11-23T04:00:00.000Z", report });
  });

  it("lists models a source prices that nobody here uses, without holding or applying them", async () => {
    const { clock, store, sources } = world();
    const report = await refreshPrices({ sources, store, clock });
    const together = sourceReport(report, "portkey:together-ai");
    expect(together.unpriced_models).toContain("black-forest-labs/flux.1-krea-dev");
    expect(together.unpriced_model_count).toBeGreaterThan(15);
    expect(sourceReport(report, "portkey:openai").unpriced_models).toEqual(expect.arrayContaining(["dall-e-3", "gpt-image-1", "gpt-image-2-2026-04-21"]));
    expect(await store.held()).toEqual([]);
  });

  it("applies a change within the threshold: the old row is closed and a new one opened", async () => {
    const { clock, store, sources } = world({
      [`${PORTKEY}/together-ai.json`]: json(setMegapixelPrice(fixtures.portkeyTogether, "black-forest-labs/FLUX.1-schnell", 0.003)),
    });
    const old = await currentRate(store, "together", "black-forest-labs/flux.1-schnell");

    const report = await refreshPrices({ sources, store, clock });

    expect(sourceReport(report, "portkey:together-ai").applied).toEqual([
      {
        provider: "together",
        model: "black-forest-labs/flux.1-schnell",
        unit: "megapixel",
        quality: null,
        size: null,
        old_rate: 0.0027,
        new_rate: 0.003,
        published: "0.003 dollars per megapixel",
      },
    ]);
    const now = await currentRate(store, "together", "black-forest-labs/flux.1-schnell");
    expect(now).toMatchObject({ usd_rate: 0.003, source: "portkey:together-ai", effective_from: "2026-11-23T04:00:00.000Z" });
    expect(store.history().find((r) => r.id === old?.id)?.effective_to).toBe("2026-11-23T04:00:00.000Z");

    // The estimator now prices with the new row.
    const estimate = await createCostEstimator({ store, clock }).estimate({
      provider: "together",
      model: "black-forest-labs/FLUX.1-schnell",
      imagesProduced: 1,
      width: 1000,
      height: 1000,
    });
    expect(estimate).toEqual({ usd: 0.003, priceId: now?.id });
  });

  it("holds a 10x jump for review instead of applying it", async () => {
    const { clock, store, sources } = world({
      [`${PORTKEY}/together-ai.json`]: json(setMegapixelPrice(fixtures.portkeyTogether, "black-forest-labs/FLUX.1-dev", 0.25)),
    });

    const report = await refreshPrices({ sources, store, clock });

    const together = sourceReport(report, "portkey:together-ai");
    expect(together.applied).toEqual([]);
    expect(together.held).toEqual([
      expect.objectContaining({
        model: "black-forest-labs/flux.1-dev",
        old_rate: 0.025,
        new_rate: 0.25,
        reason: "change of +900% ($0.025 → $0.25 per megapixel) exceeds the 25% threshold",
      }),
    ]);
    expect((await currentRate(store, "together", "black-forest-labs/flux.1-dev"))?.usd_rate).toBe(0.025);
    expect(await store.held()).toEqual([
      expect.objectContaining({ provider: "together", model: "black-forest-labs/flux.1-dev", old_rate: 0.025, new_rate: 0.25, source: "portkey:together-ai" }),
    ]);
  });

  it("holds Together prices republished in cents instead of dollars", async () => {
    const { clock, store, sources } = world({
      [`${PORTKEY}/together-ai.json`]: json(scaleImagePrices(fixtures.portkeyTogether, 100)),
    });

    const report = await refreshPrices({ sources, store, clock });

    const together = sourceReport(report, "portkey:together-ai");
    expect(together.applied).toEqual([]);
    expect(together.held.map((h) => [h.model, h.new_rate])).toEqual([
      ["black-forest-labs/flux.1-pro", 5],
      ["black-forest-labs/flux.1-dev", 2.5],
      ["black-forest-labs/flux.1-kontext-pro", 4],
      ["black-forest-labs/flux.1-kontext-max", 8],
      ["black-forest-labs/flux.1-kontext-dev", 2.5],
      ["black-forest-labs/flux.1-schnell", 0.27],
      ["black-forest-labs/flux.1.1-pro", 4],
    ]);
    // $5 per megapixel is not a plausible price at all; $0.27 is, but is a 100x jump.
    expect(together.held[0]?.reason).toMatch(/^units look wrong: \$5 per megapixel is outside the plausible \$0.0001–\$1/);
    expect(together.held[5]?.reason).toMatch(/^change of \+9900%/);
    expect((await currentRate(store, "together", "black-forest-labs/flux.1-schnell"))?.usd_rate).toBe(0.0027);
  });

  it("holds OpenAI prices republished in dollars instead of cents", async () => {
    const { clock, store, sources } = world({
      [`${PORTKEY}/openai.json`]: json(scaleImagePrices(fixtures.portkeyOpenai, 0.01)),
    });

    const report = await refreshPrices({ sources, store, clock });

    const openai = sourceReport(report, "portkey:openai");
    expect(openai.applied).toEqual([]);
    expect(openai.held).toHaveLength(18);
    const low = openai.held.find((h) => h.model === "gpt-image-2" && h.quality === "low" && h.size === "1024x1024");
    expect(low?.reason).toMatch(/^units look wrong: \$0.00006 per image/);
    const high = openai.held.find((h) => h.model === "gpt-image-1.5" && h.quality === "high" && h.size === "1024x1024");
    expect(high?.reason).toMatch(/^change of -99%/);
    expect((await currentRate(store, "openai", "gpt-image-1.5", "high", "1024x1024"))?.usd_rate).toBe(0.133);
  });

  it("keeps the last known prices of a source that answers 500, and still refreshes the others", async () => {
    const { clock, store, sources } = world({
      [`${PORTKEY}/openai.json`]: status(500, "Internal Server Error"),
      [`${PORTKEY}/together-ai.json`]: json(setMegapixelPrice(fixtures.portkeyTogether, "black-forest-labs/FLUX.1-pro", 0.055)),
    });
    const openaiBefore = (await store.current()).filter((r) => r.provider === "openai");

    const report = await refreshPrices({ sources, store, clock });

    expect(report.ok).toBe(false);
    expect(sourceReport(report, "portkey:openai")).toMatchObject({
      ok: false,
      errors: ["portkey:openai: HTTP 500 from https://configs.portkey.ai/pricing/openai.json"],
      candidates: 0,
      applied: [],
      held: [],
    });
    expect((await store.current()).filter((r) => r.provider === "openai")).toEqual(openaiBefore);
    expect(sourceReport(report, "portkey:together-ai").applied.map((a) => a.new_rate)).toEqual([0.055]);
    expect(await store.lastRun()).toMatchObject({ ok: false });
  });

  it("keeps the last known prices when a source answers malformed JSON", async () => {
    const { clock, store, sources } = world({
      [`${PORTKEY}/together-ai.json`]: json(`${fixtures.portkeyTogether.slice(0, -200)}`),
    });
    const before = await store.current();

    const report = await refreshPrices({ sources, store, clock });

    expect(sourceReport(report, "portkey:together-ai")).toMatchObject({ ok: false, errors: ["portkey:together-ai: malformed JSON"] });
    expect(await store.current()).toEqual(before);
  });

  it("counts a source that never answers as failed once its time is up, keeps its prices and goes on with the next", async () => {
    const { clock, store, fetch } = world();
    const hung = { id: "hung", providers: ["together"], fetchPrices: () => new Promise<never>(() => {}) };
    const before = await store.current();

    const report = await refreshPrices({ sources: [hung, portkeySource("openai", { fetch })], store, clock, sourceTimeoutMs: 50 });

    expect(sourceReport(report, "hung")).toMatchObject({ ok: false, unreadable: true, errors: ["no answer within 0.05 s (timed out)"] });
    expect(sourceReport(report, "portkey:openai")).toMatchObject({ ok: true, unreadable: false });
    expect(report.open_issues.failed_sources).toEqual([
      { source: "hung", since: "2026-11-23T04:00:00.000Z", at: "2026-11-23T04:00:00.000Z", errors: ["no answer within 0.05 s (timed out)"] },
    ]);
    expect(await store.current()).toEqual(before);
  });

  it("keeps the last known prices when a source answers an HTML page, and says so", async () => {
    const { clock, store, sources } = world({ [`${PORTKEY}/together-ai.json`]: html("<!doctype html><title>Sign in</title>") });
    const before = await store.current();

    const report = await refreshPrices({ sources, store, clock });

    expect(sourceReport(report, "portkey:together-ai")).toMatchObject({
      ok: false,
      unreadable: true,
      errors: ["portkey:together-ai: an HTML page instead of JSON"],
    });
    expect(await store.current()).toEqual(before);
  });

  it("reports a Replicate page without a readable price and keeps that model's price", async () => {
    const { clock, store, sources } = world({
      [`${REPLICATE}/black-forest-labs/flux-dev`]: html("<html><body>redesigned page</body></html>"),
      [`${REPLICATE}/black-forest-labs/flux-pro`]: html(replicatePage("$0.06")),
    });

    const report = await refreshPrices({ sources, store, clock });

    const replicate = sourceReport(report, "replicate");
    expect(replicate.ok).toBe(false);
    expect(replicate.errors).toEqual(["black-forest-labs/flux-dev not refreshed: no billing object found on the model page"]);
    expect(replicate.rejected).toEqual([{ model: "black-forest-labs/flux-dev", reason: "no billing object found on the model page" }]);
    expect(replicate.applied.map((a) => [a.model, a.old_rate, a.new_rate])).toEqual([["black-forest-labs/flux-pro", 0.055, 0.06]]);
    expect((await currentRate(store, "replicate", "black-forest-labs/flux-dev"))?.usd_rate).toBe(0.025);
  });

  it("applies a change of exactly the threshold and holds one just beyond it", async () => {
    const { clock, store, sources } = world({
      [`${REPLICATE}/black-forest-labs/flux-1.1-pro`]: html(replicatePage("$0.05")), // +25%
      [`${REPLICATE}/black-forest-labs/flux-dev`]: html(replicatePage("$0.0316")), // +26.4%
    });

    const report = await refreshPrices({ sources, store, clock, threshold: 0.25 });

    const replicate = sourceReport(report, "replicate");
    expect(replicate.applied.map((a) => a.model)).toEqual(["black-forest-labs/flux-1.1-pro"]);
    expect(replicate.held.map((h) => h.model)).toEqual(["black-forest-labs/flux-dev"]);
  });

  it("uses the configured threshold", async () => {
    const routes = { [`${REPLICATE}/black-forest-labs/flux-dev`]: html(replicatePage("$0.035")) }; // +40%
    const strict = world(routes);
    const lenient = world(routes);

    const held = await refreshPrices({ ...strict, threshold: 0.25 });
    const applied = await refreshPrices({ ...lenient, threshold: 0.5 });

    expect(sourceReport(held, "replicate").held.map((h) => h.model)).toEqual(["black-forest-labs/flux-dev"]);
    expect(sourceReport(applied, "replicate").applied.map((a) => a.model)).toEqual(["black-forest-labs/flux-dev"]);
    expect(applied.threshold).toBe(0.5);
  });

  it("holds the first price of a model a configured backend wants, for approval", async () => {
    const { clock, store, sources } = world();

    const report = await refreshPrices({
      sources,
      store,
      clock,
      wanted: [{ provider: "together", model: "black-forest-labs/FLUX.1-krea-dev" }],
    });

    const together = sourceReport(report, "portkey:together-ai");
    expect(together.held).toEqual([
      expect.objectContaining({
        model: "black-forest-labs/flux.1-krea-dev",
        old_rate: null,
        new_rate: 0.025,
        reason: "new model: no previous price to compare with; approve $0.025 per megapixel",
      }),
    ]);
    expect(together.unpriced_models).not.toContain("black-forest-labs/flux.1-krea-dev");
    expect((await store.current()).some((r) => r.model === "black-forest-labs/flux.1-krea-dev")).toBe(false);
  });

  it("holds a new price line (e.g. a new size) for a model already priced", async () => {
    const withNewSize = scaleImagePrices(fixtures.portkeyOpenai, 1).replace(
      '"1536x1024":{"price":16.5}},"medium"',
      '"1536x1024":{"price":16.5},"2048x2048":{"price":40}},"medium"',
    );
    expect(withNewSize).toContain("2048x2048");
    const { clock, store, sources } = world({ [`${PORTKEY}/openai.json`]: json(withNewSize) });

    const report = await refreshPrices({ sources, store, clock });

    expect(sourceReport(report, "portkey:openai").held).toEqual([
      expect.objectContaining({
        model: "gpt-image-2",
        quality: "high",
        size: "2048x2048",
        new_rate: 0.4,
        reason: expect.stringMatching(/^new price line for a priced model/),
      }),
    ]);
  });

  it("does not duplicate a held change when the next run sees it again", async () => {
    const routes = { [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(replicatePage("$0.03")) };
    const { clock, store, sources } = world(routes);

    await refreshPrices({ sources, store, clock });
    clock.advance(86_400_000);
    const second = await refreshPrices({ sources, store, clock });

    expect(sourceReport(second, "replicate").held).toHaveLength(1);
    expect(await store.held()).toHaveLength(1);
  });

  it("finds nothing to do on the run after applying a change", async () => {
    const { clock, store, sources } = world({ [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(replicatePage("$0.0035")) });
    const first = await refreshPrices({ sources, store, clock });
    expect(sourceReport(first, "replicate").applied).toHaveLength(1);

    clock.advance(3_600_000);
    const second = await refreshPrices({ sources, store, clock });
    expect(sourceReport(second, "replicate")).toMatchObject({ applied: [], held: [], unchanged: 7 });
  });

  it("reports a store it cannot read instead of throwing", async () => {
    const clock = manualClock();
    const { log, lines } = captureLogs();
    const broken: PriceStore = {
      current: async () => {
        throw new Error("D1_ERROR: no such table: prices");
      },
      apply: async () => {
        throw new Error("unreachable");
      },
      hold: async () => {},
      held: async () => [],
      supersede: async () => {},
      approveHeld: async () => null,
      rejectHeld: async () => false,
      recordRun: async () => {
        throw new Error("D1_ERROR: no such table: price_refresh_runs");
      },
      lastRun: async () => null,
    };
    const fetch = fakeFetch(realRoutes());

    const report = await refreshPrices({ sources: [portkeySource("openai", { fetch })], store: broken, clock, log });

    expect(report).toMatchObject({ ok: false, error: "price store unreachable: D1_ERROR: no such table: prices", sources: [] });
    expect(fetch.calls).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(["price refresh could not read the price store", "could not record the price refresh run"]);
  });

  it("warns about a priced model the source no longer lists, and keeps its last known price", async () => {
    const { clock, store } = world();
    const { log, lines } = captureLogs();
    const withoutFluxPro = editPortkey(fixtures.portkeyTogether, (file) => {
      delete file["black-forest-labs/FLUX.1-pro"];
    });
    const fetch = fakeFetch({ [`${PORTKEY}/together-ai.json`]: json(withoutFluxPro) });

    const report = await refreshPrices({ sources: [portkeySource("together-ai", { fetch })], store, clock, log });

    expect(sourceReport(report, "portkey:together-ai").not_listed).toEqual(["black-forest-labs/flux.1-pro"]);
    expect(lines.filter((l) => l.level === "warn")).toEqual([
      expect.objectContaining({
        msg: "price source no longer lists priced lines; they keep their last known price",
        source: "portkey:together-ai",
        not_listed: "black-forest-labs/flux.1-pro",
      }),
    ]);
    expect((await currentRate(store, "together", "black-forest-labs/flux.1-pro"))?.usd_rate).toBe(0.05);
  });

  it("matches stored rows written in another spelling and keeps that spelling when applying", async () => {
    const clock = manualClock();
    const store = new MemoryPriceStore(clock, [
      {
        provider: "together",
        model: "black-forest-labs/FLUX.1-schnell",
        unit: "megapixel",
        quality: null,
        size: null,
        usd_rate: 0.0025,
        source: "seed",
        fetched_at: "2026-11-01T00:00:00.000Z",
        effective_from: "2026-11-01T00:00:00.000Z",
      },
    ]);
    const fetch = fakeFetch(realRoutes());

    const report = await refreshPrices({ sources: [portkeySource("together-ai", { fetch })], store, clock });

    expect(report.ok).toBe(true);

    const current = await store.current();
    expect(current.map((r) => [r.model, r.usd_rate])).toEqual([["black-forest-labs/FLUX.1-schnell", 0.0027]]);
  });
});

describe("price refresh, unreadable entries", () => {
  it("flags a source as not ok only when an entry it could not read is a price we track", async () => {
    const brokenDalle = editPortkey(fixtures.portkeyOpenai, (file) => {
      file["dall-e-3"] = { pricing_config: { pay_as_you_go: { image: "n/a" } } };
    });
    const { clock, store, sources } = world({ [`${PORTKEY}/openai.json`]: json(brokenDalle) });

    const untracked = await refreshPrices({ sources, store, clock });
    expect(sourceReport(untracked, "portkey:openai")).toMatchObject({
      ok: true,
      rejected: [{ model: "dall-e-3", reason: expect.stringMatching(/^image price table malformed/) }],
    });

    const tracked = await refreshPrices({ sources, store, clock, wanted: [{ provider: "openai", model: "dall-e-3" }] });
    expect(sourceReport(tracked, "portkey:openai")).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^dall-e-3 not refreshed: image price table malformed/)],
    });
  });
});

describe("price refresh, store failures", () => {
  it("reports a write the store refuses and keeps going with the other lines", async () => {
    const clock = manualClock("2026-11-23T04:00:00.000Z");
    const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
    const refusing: PriceStore = Object.assign(Object.create(store) as PriceStore, {
      current: () => store.current(),
      apply: async () => {
        throw new Error("23505 duplicate key value violates unique constraint");
      },
      hold: (change: Parameters<PriceStore["hold"]>[0]) => store.hold(change),
      recordRun: (run: Parameters<PriceStore["recordRun"]>[0]) => store.recordRun(run),
    });
    const fetch = fakeFetch({
      ...realRoutes(),
      [`${REPLICATE}/black-forest-labs/flux-schnell`]: html(replicatePage("$0.0032")),
      [`${REPLICATE}/black-forest-labs/flux-dev`]: html(replicatePage("$0.25")),
    });

    const report = await refreshPrices({ sources: buildPriceSources({ sources: ["replicate"], ...urls }, { fetch }), store: refusing, clock });

    expect(sourceReport(report, "replicate")).toMatchObject({
      ok: false,
      errors: ["store: 23505 duplicate key value violates unique constraint"],
      applied: [],
      held: [expect.objectContaining({ model: "black-forest-labs/flux-dev" })],
    });
    expect(await store.lastRun()).toMatchObject({ ok: false });
  });
});
