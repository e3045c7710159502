import { describe, expect, it } from "vitest";
import { createCostEstimator } from "../../../src/pricing/estimate";
import type { EstimateInput } from "../../../src/pricing/estimator";
import { MemoryPriceStore } from "../../../src/pricing/memory-price-store";
import { BUNDLED_PRICES } from "../../../src/pricing/snapshot";
import type { PriceRow, PriceStore } from "../../../src/pricing/store";
import { captureLogs, manualClock } from "../../helpers/pricing";

const square = { width: 1024, height: 1024 } as const;

function seeded() {
  const clock = manualClock();
  const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
  return { clock, store, estimator: createCostEstimator({ store, clock }) };
}

async function rowFor(store: PriceStore, match: Partial<PriceRow>): Promise<PriceRow> {
  const rows = (await store.current()).filter((r) => Object.entries(match).every(([k, v]) => r[k as keyof PriceRow] === v));
  expect(rows).toHaveLength(1);
  return rows[0] as PriceRow;
}

/** A store whose reads fail, counting attempts. */
function unreachableStore(): PriceStore & { reads: number } {
  const fail = async () => {
    throw new Error("connect ECONNREFUSED");
  };
  return {
    reads: 0,
    async current() {
      this.reads++;
      throw new Error("connect ECONNREFUSED");
    },
    apply: fail,
    hold: fail,
    held: fail,
    supersede: fail,
    approveHeld: fail,
    rejectHeld: fail,
    recordRun: fail,
    lastRun: fail,
  };
}

describe("cost estimate", () => {
  it("charges Replicate's per-image rate for each image produced and names the row used", async () => {
    const { store, estimator } = seeded();
    const row = await rowFor(store, { provider: "replicate", model: "black-forest-labs/flux-schnell" });
    const estimate = await estimator.estimate({
      provider: "replicate",
      model: "black-forest-labs/flux-schnell",
      imagesProduced: 3,
      ...square,
    });
    expect(estimate).toEqual({ usd: 0.009, priceId: row.id });
  });

  it("matches models regardless of case and of a pinned :version suffix", async () => {
    const { store, estimator } = seeded();
    const row = await rowFor(store, { provider: "replicate", model: "black-forest-labs/flux-dev" });
    const estimate = await estimator.estimate({
      provider: "Replicate",
      model: "Black-Forest-Labs/FLUX-Dev:6e4a938f85952bdabcc15aa329178c4d681c52bf25a0342403287dc26944661d",
      imagesProduced: 1,
      ...square,
    });
    expect(estimate).toEqual({ usd: 0.025, priceId: row.id });
  });

  it("charges Together FLUX.1 by the megapixels actually produced", async () => {
    const { store, estimator } = seeded();
    const schnell = await rowFor(store, { provider: "together", model: "black-forest-labs/flux.1-schnell" });
    // 1024x1024 = 1.048576 MP × $0.0027 = $0.00283 → 4 dp.
    expect(await estimator.estimate({ provider: "together", model: "black-forest-labs/FLUX.1-schnell", imagesProduced: 1, ...square })).toEqual({
      usd: 0.0028,
      priceId: schnell.id,
    });
    // 2 × 1344x768 (1.032192 MP) × $0.025 = $0.0516096.
    const dev = await rowFor(store, { provider: "together", model: "black-forest-labs/flux.1-dev" });
    expect(
      await estimator.estimate({
        provider: "together",
        model: "black-forest-labs/FLUX.1-dev",
        imagesProduced: 2,
        width: 1344,
        height: 768,
      }),
    ).toEqual({ usd: 0.0516, priceId: dev.id });
  });

  it("charges Together FLUX1.1 pro per image, whatever the size", async () => {
    const { estimator } = seeded();
    const estimate = await estimator.estimate({
      provider: "together",
      model: "black-forest-labs/FLUX.1.1-pro",
      imagesProduced: 2,
      width: 1440,
      height: 1440,
    });
    expect(estimate?.usd).toBe(0.08);
  });

  it("charges OpenAI by the quality and size produced", async () => {
    const { store, estimator } = seeded();
    const row = await rowFor(store, { provider: "openai", model: "gpt-image-1.5", quality: "medium", size: "1536x1024" });
    const estimate = await estimator.estimate({
      provider: "openai",
      model: "gpt-image-1.5",
      imagesProduced: 2,
      width: 1536,
      height: 1024,
      quality: "medium",
    });
    expect(estimate).toEqual({ usd: 0.1, priceId: row.id });
  });

  it("uses the most expensive quality when OpenAI chose it (auto or not reported)", async () => {
    const { store, estimator } = seeded();
    const high = await rowFor(store, { provider: "openai", model: "gpt-image-2", quality: "high", size: "1024x1024" });
    const input: EstimateInput = { provider: "openai", model: "gpt-image-2", imagesProduced: 1, ...square };
    expect(await estimator.estimate(input)).toEqual({ usd: 0.211, priceId: high.id });
    expect(await estimator.estimate({ ...input, quality: "auto" })).toEqual({ usd: 0.211, priceId: high.id });
  });

  it("returns null for an OpenAI size that has no price rather than borrowing another size's", async () => {
    const { estimator } = seeded();
    const estimate = await estimator.estimate({
      provider: "openai",
      model: "gpt-image-1.5",
      imagesProduced: 1,
      width: 2048,
      height: 2048,
      quality: "high",
    });
    expect(estimate).toBeNull();
  });

  it("returns null for an unknown model or provider, never a guess", async () => {
    const { estimator } = seeded();
    expect(await estimator.estimate({ provider: "replicate", model: "someone/brand-new-model", imagesProduced: 1, ...square })).toBeNull();
    expect(await estimator.estimate({ provider: "acme", model: "black-forest-labs/flux-schnell", imagesProduced: 1, ...square })).toBeNull();
  });

  it("costs zero for a known model that produced no images, still naming its price", async () => {
    const { store, estimator } = seeded();
    const row = await rowFor(store, { provider: "replicate", model: "black-forest-labs/flux-pro" });
    expect(await estimator.estimate({ provider: "replicate", model: "black-forest-labs/flux-pro", imagesProduced: 0, ...square })).toEqual({
      usd: 0,
      priceId: row.id,
    });
  });

  it("costs zero for the mock backend without touching the store", async () => {
    const store = unreachableStore();
    const estimator = createCostEstimator({ store, clock: manualClock() });
    expect(await estimator.estimate({ provider: "mock", model: "mock-png", imagesProduced: 4, ...square })).toEqual({
      usd: 0,
      priceId: null,
    });
    expect(store.reads).toBe(0);
  });

  it("costs zero for ComfyUI unless a per-image rate is configured for the model", async () => {
    const clock = manualClock();
    const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
    const estimator = createCostEstimator({ store, clock });
    const input: EstimateInput = { provider: "comfyui", model: "flux1-schnell-fp8", imagesProduced: 2, ...square };
    expect(await estimator.estimate(input)).toEqual({ usd: 0, priceId: null });

    const row = await store.apply({
      provider: "comfyui",
      model: "flux1-schnell-fp8",
      unit: "image",
      quality: null,
      size: null,
      usd_rate: 0.0012,
      source: "operator",
      fetched_at: "2026-11-23T00:00:00.000Z",
    });
    estimator.invalidate();
    expect(await estimator.estimate(input)).toEqual({ usd: 0.0024, priceId: row.id });
  });

  it("falls back to the bundled snapshot when the store is unreachable, with no price id, and says so", async () => {
    const { log, lines } = captureLogs();
    const estimator = createCostEstimator({ store: unreachableStore(), clock: manualClock(), log });
    const estimate = await estimator.estimate({
      provider: "replicate",
      model: "black-forest-labs/flux-1.1-pro",
      imagesProduced: 2,
      ...square,
    });
    expect(estimate).toEqual({ usd: 0.08, priceId: null });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: expect.stringContaining("unreachable"),
        snapshot: "bundled-snapshot-2026-11-22",
        error: "connect ECONNREFUSED",
      }),
    );
  });

  it("falls back to the snapshot when the store has no prices at all", async () => {
    const clock = manualClock();
    const { log, lines } = captureLogs();
    const estimator = createCostEstimator({ store: new MemoryPriceStore(clock), clock, log });
    const estimate = await estimator.estimate({ provider: "together", model: "black-forest-labs/FLUX.1-pro", imagesProduced: 1, width: 1000, height: 1000 });
    expect(estimate).toEqual({ usd: 0.05, priceId: null });
    expect(lines.map((l) => l.msg)).toContainEqual(expect.stringContaining("no current prices"));
  });

  it("reads the store once per cache period, shared by concurrent estimates", async () => {
    const clock = manualClock();
    const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
    let reads = 0;
    const counting: PriceStore = Object.assign(Object.create(store) as PriceStore, {
      current: () => {
        reads++;
        return store.current();
      },
    });
    const estimator = createCostEstimator({ store: counting, clock, cacheMs: 60_000 });
    const input: EstimateInput = { provider: "replicate", model: "black-forest-labs/flux-schnell", imagesProduced: 1, ...square };
    await Promise.all([estimator.estimate(input), estimator.estimate(input), estimator.estimate(input)]);
    clock.advance(59_999);
    await estimator.estimate(input);
    expect(reads).toBe(1);
    clock.advance(1);
    await estimator.estimate(input);
    expect(reads).toBe(2);
  });

  it("retries an unreachable store after the shorter fallback period and then uses stored prices", async () => {
    const clock = manualClock();
    const healthy = new MemoryPriceStore(clock, BUNDLED_PRICES);
    const flaky = unreachableStore();
    let down = true;
    const store: PriceStore = Object.assign(Object.create(healthy) as PriceStore, {
      current: () => (down ? flaky.current() : healthy.current()),
    });
    const estimator = createCostEstimator({ store, clock, cacheMs: 60_000, fallbackCacheMs: 5_000 });
    const input: EstimateInput = { provider: "replicate", model: "black-forest-labs/flux-schnell", imagesProduced: 1, ...square };

    expect((await estimator.estimate(input))?.priceId).toBeNull();
    down = false;
    clock.advance(4_999);
    expect((await estimator.estimate(input))?.priceId).toBeNull();
    clock.advance(1);
    const row = await rowFor(healthy, { provider: "replicate", model: "black-forest-labs/flux-schnell" });
    expect((await estimator.estimate(input))?.priceId).toBe(row.id);
    expect(flaky.reads).toBe(1);
  });
});
