/** GET /v1/budget and POST /v1/images/estimate through the real app and the caller's Durable Object. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Limits } from "../../src/config/guard";
import { DurableObjectAttemptGuard } from "../../src/guard/durable-guard";
import { usd } from "../../src/lib/money";
import { testConfig } from "../helpers/config";
import { allKeys, appWithConfig, bearer, postJson, seedKey } from "../helpers/world";

const PAID_CHAIN = {
  "flux-dev": { type: "replicate", model: "black-forest-labs/flux-dev", api_token_env: "REPLICATE_API_TOKEN", fallback: ["flux-schnell", "mock"] },
  "flux-schnell": { type: "replicate", model: "black-forest-labs/flux-schnell", api_token_env: "REPLICATE_API_TOKEN" },
  "no-price": { type: "replicate", model: "someone/unpriced-flux", family: "dev", api_token_env: "REPLICATE_API_TOKEN" },
  mock: { type: "mock", model: "mock-png" },
};

function world(guard: unknown) {
  const app = appWithConfig(testConfig({ backends: PAID_CHAIN, guard }));
  return {
    estimate: (key: string, body: unknown) => app.call("/v1/images/estimate", postJson("/v1/images/estimate", key, body)),
    budget: (key: string) => app.call("/v1/budget", { headers: bearer(key) }),
  };
}

function freshCaller(label: string) {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

describe("POST /v1/images/estimate", () => {
  it("prices each attempt of the chain as the provider bills, sums the worst case, says it fits; nothing is generated", async () => {
    const caller = freshCaller("estimator");
    const key = await seedKey(caller);
    const res = await world({ callers: { [caller]: { daily_usd: 1 } } }).estimate(key, { prompt: "a fox", backend: "flux-dev", n: 2, size: "1024x1024" });

    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.attempts.map((a: any) => [a.backend, a.pricing, a.usd, a.n, a.width, a.height])).toEqual([
      ["flux-dev", "priced", 0.05, 2, 1024, 1024],
      ["flux-schnell", "priced", 0.006, 2, 1024, 1024],
      ["mock", "free", 0, 2, 1024, 1024],
    ]);
    expect(body).toMatchObject({ worst_case_usd: 0.056, fits_budget: true, limit_violations: [] });
    expect(body.budget.daily).toMatchObject({ cap_usd: 1, spent_usd: 0, reserved_usd: 0, remaining_usd: 1 });
    expect((await allKeys()).filter((k) => k.startsWith(`${caller}/`))).toEqual([]);
  });

  it("does not fit when the worst case exceeds what is left of a cap", async () => {
    const caller = freshCaller("tight");
    const key = await seedKey(caller);
    const body = await (await world({ callers: { [caller]: { daily_usd: 0.05 } } }).estimate(key, { prompt: "a fox", backend: "flux-dev", n: 2 })).json<any>();
    expect(body).toMatchObject({ worst_case_usd: 0.056, fits_budget: false, limit_violations: [] });
  });

  it("n = 4 at 2048x2048 against the key's limits: does not fit, and says which limit", async () => {
    const caller = freshCaller("big");
    const limits: Limits = { max_images_per_request: 2, max_megapixels_per_image: 4.2 };
    const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
    await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date(), limits);
    const body = await (await world({}).estimate(key, { prompt: "a fox", backend: "flux-schnell", n: 4, size: "2048x2048" })).json<any>();
    expect(body.fits_budget).toBe(false);
    expect(body.limit_violations).toEqual([{ field: "n", message: "this API key may ask for at most 2 image(s) per request, not 4" }]);
    expect(body.budget.limits).toEqual(limits);
  });

  it("a model without a price: the attempt is unpriced and whether it fits is unknown", async () => {
    const caller = freshCaller("unpriced");
    const key = await seedKey(caller);
    const body = await (await world({ default: { daily_usd: 1 } }).estimate(key, { prompt: "a fox", backend: "no-price" })).json<any>();
    expect(body.attempts).toMatchObject([{ backend: "no-price", pricing: "unpriced", usd: null }]);
    expect(body).toMatchObject({ worst_case_usd: null, fits_budget: null });
  });

  it("bad input → 400 problem+json, like POST /v1/images", async () => {
    const key = await seedKey(freshCaller("typo"));
    const res = await world({}).estimate(key, { prompt: "a fox", backend: "nope" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "urn:imagen-edge:problem:invalid-request", errors: [{ field: "backend" }] });
  });
});

describe("GET /v1/budget", () => {
  it("shows caps (key over caller over default), settled spend, reservations in flight, what is left and when it resets", async () => {
    const caller = freshCaller("budgeted");
    const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
    await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date(), { daily_usd: 0.5 });
    const w = world({ default: { daily_usd: 5, monthly_usd: 20 }, callers: { [caller]: { monthly_usd: 10 } } });

    const guard = new DurableObjectAttemptGuard({ namespace: env.GUARDS, limits: { daily_usd: 0.5, monthly_usd: 10 } });
    const attempt = (id: string) => ({
      requestId: `req-${id}`,
      attemptId: id,
      caller: { name: caller, role: "user" as const },
      instance: "flux-dev",
      provider: "replicate",
      model: "black-forest-labs/flux-dev",
      width: 1024,
      height: 1024,
      n: 1,
      worstCaseUsd: usd(0.025),
      lapseAfterMs: 600_000,
    });
    const settled = attempt(crypto.randomUUID());
    const reservedUsd = await guard.reserve(settled);
    await guard.settle({ ...settled, caller, reservedUsd }, { kind: "charged", usd: usd(0.025) });
    await guard.reserve(attempt(crypto.randomUUID())); // still in flight

    const res = await w.budget(key);
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body).toMatchObject({
      caller,
      daily: { cap_usd: 0.5, spent_usd: 0.025, reserved_usd: 0.025, remaining_usd: 0.45 },
      monthly: { cap_usd: 10, spent_usd: 0.025, reserved_usd: 0.025, remaining_usd: 9.95 },
      limits: { daily_usd: 0.5, monthly_usd: 10 },
    });
    expect(body.daily.resets_at).toMatch(/T00:00:00\.000Z$/);
    expect(body.monthly.resets_at).toMatch(/-01T00:00:00\.000Z$/);
  });

  it("without caps: nothing capped, nothing spent", async () => {
    const key = await seedKey(freshCaller("free"));
    const body = await (await world({}).budget(key)).json<any>();
    expect(body.daily).toMatchObject({ cap_usd: null, spent_usd: 0, reserved_usd: 0, remaining_usd: null });
    expect(body.limits).toEqual({});
  });
});

describe("a key's own limits, set by an admin", () => {
  it("POST /v1/keys with limits: the key's budget and estimate use them over the caller's config", async () => {
    const caller = freshCaller("limited");
    const w = appWithConfig(testConfig({ backends: PAID_CHAIN, guard: { callers: { [caller]: { daily_usd: 5, max_images_per_request: 4 } } } }));
    const admin = await seedKey(freshCaller("admin"), "admin");
    const created = await w.call("/v1/keys", postJson("/v1/keys", admin, { caller, limits: { daily_usd: 0.02, max_images_per_request: 1 } }));
    expect(created.status).toBe(201);
    const { key, limits } = await created.json<{ key: string; limits: Limits }>();
    expect(limits).toEqual({ daily_usd: 0.02, max_images_per_request: 1 });

    const budget = await (await w.call("/v1/budget", { headers: bearer(key) })).json<any>();
    expect(budget.daily).toMatchObject({ cap_usd: 0.02 });
    expect(budget.limits).toEqual({ daily_usd: 0.02, max_images_per_request: 1 });
    const estimate = await (
      await w.call("/v1/images/estimate", postJson("/v1/images/estimate", key, { prompt: "a fox", backend: "flux-schnell", n: 2 }))
    ).json<any>();
    expect(estimate).toMatchObject({ fits_budget: false, limit_violations: [{ field: "n" }] });
  });

  it("limits that make no sense are refused with 400 naming the field", async () => {
    const admin = await seedKey(freshCaller("admin"), "admin");
    const res = await appWithConfig(testConfig()).call("/v1/keys", postJson("/v1/keys", admin, { caller: "someone", limits: { daily_usd: -1 } }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ field: "limits.daily_usd" }] });
  });
});
