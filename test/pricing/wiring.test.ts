import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handleScheduled } from "../../src/worker-events";
import openaiPricing from "../fixtures/pricing/portkey/openai.json";
import togetherPricing from "../fixtures/pricing/portkey/together-ai.json";
import { bearer, callWorker, seedKey } from "../helpers/world";

afterEach(() => vi.restoreAllMocks());

describe("GET /v1/pricing", () => {
  it("shows the bundled prices from the embedded ledger with their source and age", async () => {
    const key = await seedKey("pricer");
    const res = await callWorker("/v1/pricing", { headers: bearer(key) });
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    const schnell = body.rates.find((r: any) => r.provider === "replicate" && r.model === "black-forest-labs/flux-schnell");
    expect(schnell).toMatchObject({ unit: "image", usd_rate: 0.003, source: "bundled-snapshot-2026-11-22" });
    expect(typeof schnell.age_days).toBe("number");
    expect(body.held).toEqual([]);
  });
});

describe("the scheduled price refresh", () => {
  it("with the shipped config reads no network source: offline it succeeds quietly and the bundled prices stay", async () => {
    const fetched = vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("offline"));
    await handleScheduled(createScheduledController({ cron: "17 6 * * *", scheduledTime: Date.now() }), env);
    expect(fetched).not.toHaveBeenCalled();
    vi.restoreAllMocks();

    const after = await (await callWorker("/v1/pricing", { headers: bearer(await seedKey("p0")) })).json<any>();
    expect(after.last_refresh).toMatchObject({ ok: true });
    expect(after.rates.find((r: any) => r.model === "black-forest-labs/flux-schnell")).toMatchObject({ usd_rate: 0.003 });
  });

  it("reads the configured sources, keeps last known prices when one fails, and reports the run", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith("/openai.json")) return Response.json(openaiPricing);
      if (url.endsWith("/together-ai.json")) return Response.json(togetherPricing);
      return new Response("upstream error", { status: 502 });
    });
    const before = await (await callWorker("/v1/pricing", { headers: bearer(await seedKey("p1")) })).json<any>();
    const online = { ...env, IMAGEN_CONFIG: { ...(env.IMAGEN_CONFIG as object), pricing: { sources: ["portkey:openai", "portkey:together-ai", "replicate"] } } };
    await handleScheduled(createScheduledController({ cron: "17 6 * * *", scheduledTime: Date.now() }), online as typeof env);
    vi.restoreAllMocks();

    const after = await (await callWorker("/v1/pricing", { headers: bearer(await seedKey("p2")) })).json<any>();
    expect(after.last_refresh).not.toBeNull();
    expect(after.last_refresh.ok).toBe(false);
    const sources = after.last_refresh.report.sources.map((s: any) => [s.source, s.ok]);
    expect(sources).toEqual(expect.arrayContaining([["portkey:openai", true], ["portkey:together-ai", true], ["replicate", false]]));
    // The failing Replicate source changed nothing: its bundled rates are still current.
    const replicateRates = (body: any) => body.rates.filter((r: any) => r.provider === "replicate").map((r: any) => [r.model, r.usd_rate]);
    expect(replicateRates(after)).toEqual(replicateRates(before));
  });
});
