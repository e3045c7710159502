/**
 * A trustworthy cost end to end: a Replicate generation through the real app is priced from the
 * ledger's price table, and its usage row points at the exact price row it used.
 */
import { describe, expect, inject, it } from "vitest";
import { newToken, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows, priceRow } from "../helpers/ledger";
import { appWithConfig, postJson, seedKey } from "../helpers/world";

describe("cost of a Replicate generation", () => {
  it("is the per-image rate × images produced, and the row names the price row used", async () => {
    const fake = inject("fakes").replicate!;
    const token = newToken();
    await setScenario(fake, token, { processing_ms: 50 });
    const config = testConfig({
      backends: {
        mock: { type: "mock" },
        "flux-schnell-replicate": { type: "replicate", model: "black-forest-labs/flux-schnell", base_url: `${fake}/v1`, delivery_hosts: ["127.0.0.1"], default_steps: 4 },
      },
    });
    const app = appWithConfig(config, { REPLICATE_API_TOKEN: token });
    const key = await seedKey("otto/head");
    const res = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "a cat in a fishbowl", backend: "flux-schnell-replicate", n: 2, seed: 42, size: "1024x1024" }));
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body).toMatchObject({ backend: "flux-schnell-replicate", model: "black-forest-labs/flux-schnell", seed: 42, cost_usd_estimate: 0.006 });
    expect(body.images).toHaveLength(2);

    const [row] = await ledgerRows(body.request_id, 1);
    const price = await priceRow(row!.price_id);
    expect(price).toMatchObject({ provider: "replicate", model: "black-forest-labs/flux-schnell", unit: "image", usd_rate: 0.003, effective_to: null });
    expect(row).toMatchObject({ caller: "otto/head", cost_usd_estimate: 0.006, images_produced: 2, success: 1, external_id: expect.any(String) });
  });
});
