/**
 * An explicit `output` is claimed atomically before any backend call: of concurrent requests for
 * one key exactly one generates and is billed; the others get 409 without generating.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { allKeys, appWithConfig, postJson, seedKey } from "../helpers/world";

const slowConfig = () => testConfig({ backends: { slow: { type: "mock", latency_ms: 2000 } }, default_backend: "slow" });

async function usageRowsOf(caller: string): Promise<number> {
  const row = await env.LEDGER.prepare("SELECT COUNT(*) AS n FROM imagen_usage WHERE caller = ?").bind(caller).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("an explicit output claimed by concurrent requests", () => {
  it("generates once: one 201 and one billed usage row, nine 409 that never reached the backend", { timeout: 60_000 }, async () => {
    const key = await seedKey("racer");
    const app = appWithConfig(slowConfig());
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        app.call("/v1/images", postJson("/v1/images", key, { prompt: `race ${i}`, output: "racer/the-one.png", seed: i + 1 })),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    const winner = await answers.find((r) => r.status === 201)!.json<{ request_id: string }>();
    expect(await ledgerRows(winner.request_id, 1)).toHaveLength(1);
    expect(await usageRowsOf("racer")).toBe(1);
    // Only the image, its sidecar and nothing of the claim are left.
    expect((await allKeys()).filter((k) => k.includes("the-one"))).toEqual(["racer/the-one.png", "racer/the-one.png.json"]);
  });

  it("lets the key go when the generation fails, so a retry can take it", { timeout: 60_000 }, async () => {
    const key = await seedKey("retrier");
    const app = appWithConfig(testConfig());
    const failed = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "mock-down", output: "retrier/again.png" }));
    expect(failed.status).toBe(502);
    expect((await allKeys()).filter((k) => k.includes("again"))).toEqual([]);
    const retried = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", output: "retrier/again.png" }));
    expect(retried.status).toBe(201);
  });
});

describe("POST /v1/images/estimate with an explicit output", () => {
  it("refuses an output outside the caller's folder with the same 400 the request gets, and prices one inside it", async () => {
    const key = await seedKey("estimator");
    const app = appWithConfig(testConfig());
    const body = { prompt: "p", size: "64x64", output: "someone-else/theirs.png" };
    const estimate = await app.call("/v1/images/estimate", postJson("/v1/images/estimate", key, body));
    const real = await app.call("/v1/images", postJson("/v1/images", key, body));
    expect([estimate.status, real.status]).toEqual([400, 400]);
    const [estimated, refused] = [await estimate.json<any>(), await real.json<any>()];
    expect(estimated.detail).toBe(refused.detail);
    expect(estimated.errors).toEqual(refused.errors);
    expect(estimated.errors[0].field).toBe("output");

    const own = await app.call("/v1/images/estimate", postJson("/v1/images/estimate", key, { ...body, output: "estimator/mine.png" }));
    expect(own.status).toBe(200);
  });
});
