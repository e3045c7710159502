import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { D1PriceStore } from "../../src/pricing/d1-price-store";
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

describe("POST /v1/pricing/held/{id}/approve", () => {
  const store = () => new D1PriceStore(env.LEDGER);
  const FLUX_SCHNELL = { provider: "replicate", model: "black-forest-labs/flux-schnell", unit: "image", quality: null, size: null } as const;
  const approve = async (id: number | string, key: string) =>
    callWorker(`/v1/pricing/held/${id}/approve`, { method: "POST", headers: bearer(key) });
  const heldId = async (rate: number) => (await store().held()).find((h) => h.model === FLUX_SCHNELL.model && h.new_rate === rate)!.id;
  const schnellRate = async (key: string) =>
    (await (await callWorker("/v1/pricing", { headers: bearer(key) })).json<any>()).rates.find((r: any) => r.model === FLUX_SCHNELL.model).usd_rate;

  it("refuses a proposal a later refresh superseded with a 409 problem, and installs nothing", async () => {
    const admin = await seedKey("pricing-admin", "admin");
    const now = new Date().toISOString();
    await store().hold({ ...FLUX_SCHNELL, old_rate: 0.003, new_rate: 0.3, source: "replicate", reason: "change of +9900%", detected_at: now });
    await store().supersede(FLUX_SCHNELL, 0.0035, now);

    const res = await approve(await heldId(0.3), admin);

    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({
      type: "urn:imagen-edge:problem:conflict",
      status: 409,
      reason: "superseded",
      detail: expect.stringContaining("is superseded and can no longer be approved"),
      request_id: expect.any(String),
    });
    expect(await schnellRate(admin)).toBe(0.003);
  });

  it("installs a standing proposal for an admin, and only for an admin", async () => {
    const admin = await seedKey("pricing-admin", "admin");
    await store().hold({ ...FLUX_SCHNELL, old_rate: 0.003, new_rate: 0.03, source: "replicate", reason: "change of +900%", detected_at: new Date().toISOString() });
    const id = await heldId(0.03);

    expect((await approve(id, await seedKey("pricing-user"))).status).toBe(403);
    expect(await schnellRate(admin)).toBe(0.003);

    const res = await approve(id, admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ price: expect.objectContaining({ ...FLUX_SCHNELL, usd_rate: 0.03, source: "replicate", effective_to: null }) });
    expect(await schnellRate(admin)).toBe(0.03);
    expect((await approve(id, admin)).status).toBe(404);
  });

  it("answers 400 for an id that is not a number", async () => {
    expect((await approve("latest", await seedKey("pricing-admin", "admin"))).status).toBe(400);
  });
});

describe("GET /healthz and the last price refresh", () => {
  it("warns about a priced model a source no longer lists", async () => {
    await new D1PriceStore(env.LEDGER).recordRun({
      started_at: "2099-01-01T00:00:00.000Z",
      finished_at: "2099-01-01T00:00:01.000Z",
      ok: true,
      report: { sources: [{ source: "portkey:together-ai", not_listed: ["black-forest-labs/flux.1-pro"] }] },
    });
    const body = await (await callWorker("/healthz")).json<any>();
    expect(body.status).toBe("ok");
    expect(body.warnings).toContainEqual(expect.stringContaining("source portkey:together-ai no longer lists black-forest-labs/flux.1-pro"));
  });
});
