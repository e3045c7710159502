import { describe, expect, it } from "vitest";
import { normaliseModel, priceKeyId } from "../../../src/pricing/model-key";
import { BUNDLED_PRICES, KONTEXT_SNAPSHOT_SOURCE, SNAPSHOT_SOURCE } from "../../../src/pricing/snapshot";
import { PORTKEY_PROFILES, parsePortkeyFile } from "../../../src/pricing/sources/portkey";
import { fixtures } from "../../helpers/pricing";

describe("bundled price snapshot", () => {
  it("is dated and names itself as the source of every line: the first snapshot, then the Kontext lines of their own date", () => {
    expect(SNAPSHOT_SOURCE).toBe("bundled-snapshot-2026-11-22");
    expect(KONTEXT_SNAPSHOT_SOURCE).toBe("bundled-snapshot-2026-12-07");
    for (const line of BUNDLED_PRICES) {
      const kontext = line.model.includes("kontext");
      expect(line.source).toBe(kontext ? KONTEXT_SNAPSHOT_SOURCE : SNAPSHOT_SOURCE);
      expect(line.effective_from).toBe(kontext ? "2026-12-07T00:00:00.000Z" : "2026-11-22T00:00:00.000Z");
      expect(line.fetched_at).toBe(line.effective_from);
    }
    // Later lines come after the first snapshot's, in the order their migrations insert them.
    const firstKontext = BUNDLED_PRICES.findIndex((line) => line.source === KONTEXT_SNAPSHOT_SOURCE);
    expect(BUNDLED_PRICES.slice(firstKontext).every((line) => line.source === KONTEXT_SNAPSHOT_SOURCE)).toBe(true);
  });

  it("has one line per price key, with model names stored normalised", () => {
    const keys = BUNDLED_PRICES.map(priceKeyId);
    expect(new Set(keys).size).toBe(keys.length);
    for (const line of BUNDLED_PRICES) expect(line.model).toBe(normaliseModel(line.model));
  });

  it("prices the Replicate FLUX models per image at the published rates", () => {
    const replicate = Object.fromEntries(BUNDLED_PRICES.filter((p) => p.provider === "replicate").map((p) => [p.model, [p.unit, p.usd_rate]]));
    expect(replicate).toEqual({
      "black-forest-labs/flux-schnell": ["image", 0.003],
      "black-forest-labs/flux-dev": ["image", 0.025],
      "black-forest-labs/flux-pro": ["image", 0.055],
      "black-forest-labs/flux-1.1-pro": ["image", 0.04],
      "black-forest-labs/flux-kontext-pro": ["image", 0.04],
      "black-forest-labs/flux-kontext-max": ["image", 0.08],
      "black-forest-labs/flux-kontext-dev": ["image", 0.025],
    });
  });

  it("prices Together FLUX.1 (Kontext too) per megapixel and FLUX1.1 pro per image", () => {
    const together = Object.fromEntries(BUNDLED_PRICES.filter((p) => p.provider === "together").map((p) => [p.model, [p.unit, p.usd_rate]]));
    expect(together).toEqual({
      "black-forest-labs/flux.1-schnell": ["megapixel", 0.0027],
      "black-forest-labs/flux.1-dev": ["megapixel", 0.025],
      "black-forest-labs/flux.1-pro": ["megapixel", 0.05],
      "black-forest-labs/flux.1.1-pro": ["image", 0.04],
      "black-forest-labs/flux.1-kontext-pro": ["megapixel", 0.04],
      "black-forest-labs/flux.1-kontext-max": ["megapixel", 0.08],
      "black-forest-labs/flux.1-kontext-dev": ["megapixel", 0.025],
    });
  });

  it("prices the current OpenAI image models per image for every quality and size, in dollars", () => {
    const openai = BUNDLED_PRICES.filter((p) => p.provider === "openai");
    expect(new Set(openai.map((p) => p.model))).toEqual(new Set(["gpt-image-1.5", "gpt-image-2"]));
    expect(openai).toHaveLength(18);
    const rate = (model: string, quality: string, size: string) => openai.find((p) => p.model === model && p.quality === quality && p.size === size)?.usd_rate;
    expect(rate("gpt-image-1.5", "high", "1024x1024")).toBe(0.133);
    expect(rate("gpt-image-1.5", "low", "1536x1024")).toBe(0.013);
    expect(rate("gpt-image-2", "medium", "1024x1536")).toBe(0.041);
  });

  it("agrees with the Portkey files for every OpenAI and Together line it carries", () => {
    const fromPortkey = new Map(
      [
        ...parsePortkeyFile(PORTKEY_PROFILES.openai, JSON.parse(fixtures.portkeyOpenai)).candidates,
        ...parsePortkeyFile(PORTKEY_PROFILES["together-ai"], JSON.parse(fixtures.portkeyTogether)).candidates,
      ].map((c) => [priceKeyId(c), c.usd_rate]),
    );
    const checked = BUNDLED_PRICES.filter((p) => p.provider !== "replicate");
    expect(checked.length).toBe(25);
    for (const line of checked) expect([priceKeyId(line), fromPortkey.get(priceKeyId(line))]).toEqual([priceKeyId(line), line.usd_rate]);
  });
});
