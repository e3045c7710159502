/** Worst-case pricing of one attempt, from the bundled price table, the way each provider bills. */
import { describe, expect, it } from "vitest";
import { priceAttempt, worstCaseUsd } from "../../src/spend/worst-case";
import { usd } from "../../src/lib/money";
import type { CostEstimator } from "../../src/pricing/estimator";
import { estimateFromLines } from "../../src/pricing/rate-lookup";
import { BUNDLED_PRICES } from "../../src/pricing/snapshot";

const table: CostEstimator = {
  estimate: async (input) =>
    estimateFromLines(
      BUNDLED_PRICES.map((line) => ({ ...line, id: null })),
      input,
    ),
};

const square = (n: number) => ({ width: 1024, height: 1024, n });

describe("the worst case of an attempt", () => {
  it("per image (Replicate FLUX): rate × images", async () => {
    const price = await priceAttempt({ provider: "replicate", model: "black-forest-labs/flux-dev" }, square(4), table);
    expect(price).toEqual({ kind: "priced", usd: 0.1, priceId: null });
    expect(worstCaseUsd(price)).toBe(0.1);
  });

  it("per megapixel (Together FLUX): rate × megapixels × images", async () => {
    const price = await priceAttempt({ provider: "together", model: "black-forest-labs/FLUX.1-schnell" }, { width: 2048, height: 1024, n: 2 }, table);
    expect(price).toMatchObject({ kind: "priced", usd: usd(0.0027 * 2.097152 * 2) });
  });

  it("per quality × size (OpenAI) with no quality named: the dearest quality for that size", async () => {
    expect(await priceAttempt({ provider: "openai", model: "gpt-image-1.5" }, square(1), table)).toMatchObject({ kind: "priced", usd: 0.133 });
    expect(await priceAttempt({ provider: "openai", model: "gpt-image-1.5" }, { width: 1536, height: 1024, n: 2 }, table)).toMatchObject({
      kind: "priced",
      usd: 0.4,
    });
  });

  it("an instance's own price per image (the home box) wins; at 0 it is free", async () => {
    const box = { provider: "comfyui", model: "flux1-schnell" };
    expect(await priceAttempt({ ...box, configuredPricePerImage: usd(0.01) }, square(3), table)).toMatchObject({ kind: "priced", usd: 0.03 });
    const free = await priceAttempt({ ...box, configuredPricePerImage: usd(0) }, square(3), table);
    expect(free).toEqual({ kind: "free" });
    expect(worstCaseUsd(free)).toBeNull();
  });

  it("mock is free; a paid model with no price line is unpriced (nothing to reserve, and the estimate says so)", async () => {
    expect(await priceAttempt({ provider: "mock", model: "mock-png" }, square(4), table)).toEqual({ kind: "free" });
    const unknown = await priceAttempt({ provider: "replicate", model: "someone/new-model" }, square(1), table);
    expect(unknown).toEqual({ kind: "unpriced" });
    expect(worstCaseUsd(unknown)).toBeNull();
  });
});
