/**
 * A trustworthy cost end to end: a Replicate generation through the real app is priced from the
 * ledger's price table, and its usage row points at the exact price row it used; images that
 * were made and billed but lost are still ledgered at what they cost.
 */
import { describe, expect, inject, it } from "vitest";
import { newToken, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { generate } from "../../src/core/generate";
import { problemFor } from "../../src/core/problem";
import { retryIsSafe } from "../../src/http/should-retry";
import { steppedClock } from "../helpers/clock";
import { ledgerRows, priceRow } from "../helpers/ledger";
import { pipelineWorld } from "../helpers/pipeline";
import { appWithConfig, postJson, seedKey } from "../helpers/world";

describe("cost of a Replicate generation", () => {
  it("is the per-image rate × images produced, and the row names the price row used", async () => {
    const fake = inject("fakes").replicate!;
    const token = newToken();
    await setScenario(fake, token, { processing_ms: 50 });
    const config = testConfig({
      backends: {
        mock: { type: "mock" },
        "flux-schnell-replicate": {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fake}/v1`,
          delivery_hosts: ["127.0.0.1"],
          default_steps: 4,
        },
      },
    });
    const app = appWithConfig(config, { REPLICATE_API_TOKEN: token });
    const key = await seedKey("otto/head");
    const res = await app.call(
      "/v1/images",
      postJson("/v1/images", key, { prompt: "a cat in a fishbowl", backend: "flux-schnell-replicate", n: 2, seed: 42, size: "1024x1024" }),
    );
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body).toMatchObject({ backend: "flux-schnell-replicate", model: "black-forest-labs/flux-schnell", seed: 42, cost_usd_estimate: 0.006 });
    expect(body.images).toHaveLength(2);

    const [row] = await ledgerRows(body.request_id, 1);
    const price = await priceRow(row!.price_id);
    expect(price).toMatchObject({ provider: "replicate", model: "black-forest-labs/flux-schnell", unit: "image", usd_rate: 0.003, effective_to: null });
    expect(row).toMatchObject({ caller: "otto/head", cost_usd_estimate: 0.006, images_produced: 2, success: 1, external_id: expect.any(String) });
  });

  it("of images made and then lost is still ledgered as billed, and the answer says so without inviting a retry", async () => {
    const fake = inject("fakes").replicate!;
    const token = newToken();
    await setScenario(fake, token, { finalize_ms: 0, next_download: Array.from({ length: 60 }, () => ({ status: 500 })) });
    const config = testConfig({
      backends: {
        mock: { type: "mock" },
        "flux-schnell-replicate": {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fake}/v1`,
          delivery_hosts: ["127.0.0.1"],
          default_steps: 4,
          timeout_s: 5,
          fallback: ["mock"],
        },
      },
    });
    // Virtual time: the downloads are retried for a minute of it.
    const world = pipelineWorld(config, { secrets: { REPLICATE_API_TOKEN: token }, clock: steppedClock(0.002) });
    const request = { prompt: "a lost cat", backend: "flux-schnell-replicate", n: 1, seed: 7, size: { width: 1024, height: 1024 } };
    const error = await generate(request, { name: "otto/lost", role: "user" }, "req-lost", world.deps).then(
      () => null,
      (e: unknown) => e,
    );

    const problem = problemFor(error);
    expect(problem).toMatchObject({ type: "paid-output-lost", status: 502 });
    expect(problem.detail).toContain("made and billed 1 image(s)");
    // The images were paid for: no other backend makes them again, and a retry would pay twice.
    expect(problem.extra?.attempts?.map((a) => a.backend)).toEqual(["flux-schnell-replicate"]);
    expect(retryIsSafe({ status: problem.status, attempts: problem.extra?.attempts })).toBe(false);
    expect(world.events).toEqual([
      expect.objectContaining({
        success: false,
        error_code: "paid_output_lost",
        images_produced: 1,
        provider_image_count: 1,
        cost_usd_estimate: 0.003,
        backend: "flux-schnell-replicate",
      }),
    ]);
  });
});
