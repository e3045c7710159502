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
    const online = {
      ...env,
      IMAGEN_CONFIG: { ...(env.IMAGEN_CONFIG as object), pricing: { sources: ["portkey:openai", "portkey:together-ai", "replicate"] } },
    };
    await handleScheduled(createScheduledController({ cron: "17 6 * * *", scheduledTime: Date.now() }), online as typeof env);
    vi.restoreAllMocks();

    const after = await (await callWorker("/v1/pricing", { headers: bearer(await seedKey("p2")) })).json<any>();
    expect(after.last_refresh).not.toBeNull();
    expect(after.last_refresh.ok).toBe(false);
    const sources = after.last_refresh.report.sources.map((s: any) => [s.source, s.ok]);
    expect(sources).toEqual(
      expect.arrayContaining([
        ["portkey:openai", true],
        ["portkey:together-ai", true],
        ["replicate", false],
      ]),
    );
    // The failing Replicate source changed nothing: its bundled rates are still current.
    const replicateRates = (body: any) => body.rates.filter((r: any) => r.provider === "replicate").map((r: any) => [r.model, r.usd_rate]);
    expect(replicateRates(after)).toEqual(replicateRates(before));
  });
});

describe("POST /v1/pricing/held/{id}/approve", () => {
  const store = () => new D1PriceStore(env.LEDGER);
  const FLUX_SCHNELL = { provider: "replicate", model: "black-forest-labs/flux-schnell", unit: "image", quality: null, size: null } as const;
  const approve = async (id: number | string, key: string) => callWorker(`/v1/pricing/held/${id}/approve`, { method: "POST", headers: bearer(key) });
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
    await store().hold({
      ...FLUX_SCHNELL,
      old_rate: 0.003,
      new_rate: 0.03,
      source: "replicate",
      reason: "change of +900%",
      detected_at: new Date().toISOString(),
    });
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

/**
 * Scheduled refreshes against a fake Portkey that answers from the fixtures, each run with its own
 * answers; results read back through GET /v1/pricing and /healthz, as an operator would.
 */
describe("price refresh failures and warnings through the API", () => {
  const TOGETHER_PRO = "black-forest-labs/FLUX.1-pro";
  const TOGETHER_SCHNELL = "black-forest-labs/FLUX.1-schnell";
  type Answer = "fixture" | "html" | Record<string, unknown>;
  const withoutPro = () => Object.fromEntries(Object.entries(togetherPricing).filter(([model]) => model !== TOGETHER_PRO));
  const withSchnellAt = (usd: number) => ({
    ...togetherPricing,
    [TOGETHER_SCHNELL]: { pricing_config: { pay_as_you_go: { additional_units: { megapixels: { price: usd } } } } },
  });

  /** One scheduled refresh of the Portkey Together file only, answered by `together`. */
  async function refreshWith(together: Answer): Promise<void> {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = String(input instanceof Request ? input.url : input);
      if (!url.endsWith("/together-ai.json")) return new Response("Not Found", { status: 404 });
      if (together === "html") {
        return new Response("<!doctype html><html><body><h1>Pricing</h1></body></html>", { status: 200, headers: { "content-type": "text/html" } });
      }
      return Response.json(together === "fixture" ? togetherPricing : together);
    });
    const online = { ...env, IMAGEN_CONFIG: { ...(env.IMAGEN_CONFIG as object), pricing: { sources: ["portkey:together-ai"] } } };
    await handleScheduled(createScheduledController({ cron: "17 6 * * *", scheduledTime: Date.now() }), online as typeof env);
    vi.restoreAllMocks();
  }
  const pricing = async () => (await callWorker("/v1/pricing", { headers: bearer(await seedKey("pricing-reader")) })).json<any>();
  const health = async () => (await callWorker("/healthz")).json<any>();
  const failureWarning = expect.stringMatching(/^pricing: source portkey:together-ai failed at \S+: portkey:together-ai: an HTML page instead of JSON/);
  const notListedWarning = expect.stringContaining("source portkey:together-ai no longer lists black-forest-labs/flux.1-pro");

  it("an HTML page as the source: prices unchanged, a warning in GET /v1/pricing, pricing degraded in /healthz", async () => {
    const before = await pricing();
    await refreshWith("html");

    const after = await pricing();
    expect(after.rates).toEqual(before.rates);
    expect(after.last_refresh).toMatchObject({ ok: false });
    expect(after.warnings).toContainEqual(failureWarning);
    const res = await callWorker("/healthz");
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.status).toBe("ok");
    expect(body.pricing).toMatch(/^degraded: source portkey:together-ai failed at \S+: portkey:together-ai: an HTML page instead of JSON/);
    expect(body.warnings).toContainEqual(failureWarning);
  });

  it("a failed run keeps the earlier 'no longer listed' warning; the next good read resolves the failure, a listing again the rest", async () => {
    await refreshWith(withoutPro());
    expect((await pricing()).warnings).toEqual([notListedWarning]);
    expect((await health()).pricing).toBe("ok");

    await refreshWith("html");
    const failed = await pricing();
    expect(failed.warnings).toEqual(expect.arrayContaining([failureWarning, notListedWarning]));
    expect(failed.warnings).toHaveLength(2);
    expect((await health()).warnings).toEqual(expect.arrayContaining([failureWarning, notListedWarning]));

    await refreshWith(withoutPro());
    expect((await pricing()).warnings).toEqual([notListedWarning]);
    expect((await health()).pricing).toBe("ok");

    await refreshWith("fixture");
    expect((await pricing()).warnings).toEqual([]);
    expect((await health()).warnings ?? []).not.toContainEqual(expect.stringContaining("pricing:"));
  });

  it("a rejected proposal is not proposed again for the same rate; a different rate is", async () => {
    const admin = await seedKey("pricing-admin", "admin");
    const reject = (id: number | string, key = admin) => callWorker(`/v1/pricing/held/${id}/reject`, { method: "POST", headers: bearer(key) });
    const schnellHeld = async () => (await pricing()).held.filter((h: any) => h.model === TOGETHER_SCHNELL.toLowerCase());

    await refreshWith(withSchnellAt(0.01));
    const [proposal] = await schnellHeld();
    expect(proposal).toMatchObject({ provider: "together", old_rate: 0.0027, new_rate: 0.01 });

    expect((await reject(proposal.id, await seedKey("pricing-user"))).status).toBe(403);
    const res = await reject(proposal.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      held: expect.objectContaining({ id: proposal.id, new_rate: 0.01, rejected_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }),
    });
    expect(await schnellHeld()).toEqual([]);
    expect((await reject(proposal.id)).status).toBe(409);
    expect((await callWorker(`/v1/pricing/held/${proposal.id}/approve`, { method: "POST", headers: bearer(admin) })).status).toBe(409);

    await refreshWith(withSchnellAt(0.01));
    const again = await pricing();
    expect(again.held.filter((h: any) => h.model === TOGETHER_SCHNELL.toLowerCase())).toEqual([]);
    expect(again.last_refresh.report.sources[0]).toMatchObject({ source: "portkey:together-ai", declined: 1, held: [] });
    expect(again.rates.find((r: any) => r.model === TOGETHER_SCHNELL.toLowerCase()).usd_rate).toBe(0.0027);

    await refreshWith(withSchnellAt(0.02));
    expect(await schnellHeld()).toEqual([expect.objectContaining({ old_rate: 0.0027, new_rate: 0.02 })]);
  });

  it("rejecting an unknown held change is a 404", async () => {
    expect((await callWorker("/v1/pricing/held/999999/reject", { method: "POST", headers: bearer(await seedKey("pricing-admin", "admin")) })).status).toBe(404);
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
