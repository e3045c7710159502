import { describe, expect, it } from "vitest";
import { appWithConfig, bearer, callWorker, eventuallyStored, postJson, seedKey } from "../helpers/world";
import { testConfig } from "../helpers/config";

describe("GET /v1/backends", () => {
  it("lists every configured instance with type, model, default flag and status", async () => {
    const key = await seedKey("lister");
    const res = await appWithConfig(testConfig()).call("/v1/backends", { headers: bearer(key) });
    expect(res.status).toBe(200);
    const { backends } = await res.json<any>();
    expect(backends.map((b: any) => b.name)).toEqual(["mock", "mock-down", "mock-refuses", "mock-with-fallback"]);
    expect(backends[0]).toEqual({
      name: "mock",
      type: "mock",
      model: "mock-png",
      default: true,
      fallback: [],
      fallback_on: ["unconfigured", "unreachable", "rate_limited", "server_error", "timeout"],
      edits: { max_images: 16, mask: true },
      status: "ok",
    });
    expect(backends[3]).toMatchObject({ default: false, fallback: ["mock-down", "mock"] });
  });

  it("names the configured styles and their default size, never their templates", async () => {
    const key = await seedKey("style-lister");
    const config = testConfig({
      styles: { photo: { template: "{prompt}, house secret wording", size: "1024x768" }, sketch: { template: "sketch of {prompt}" } },
    });
    const res = await appWithConfig(config).call("/v1/backends", { headers: bearer(key) });
    const body = await res.json<any>();
    expect(body.styles).toEqual([
      { name: "photo", size: "1024x768" },
      { name: "sketch", size: null },
    ]);
    expect(JSON.stringify(body)).not.toContain("house secret wording");
  });

  it("needs a key", async () => {
    expect((await callWorker("/v1/backends")).status).toBe(401);
  });

  it("lists chains, and a backend that just failed as unreachable as skipped until its cooldown ends", async () => {
    const key = await seedKey("chain-lister");
    const config = testConfig({
      backends: { ...testConfig().backends, home: { type: "mock", model: "home", failure_rate: 1, failure_kind: "unavailable", cooldown_s: 120 } },
      chains: { "home-then-mock": { backends: ["home", "mock"], fallback_on: ["unreachable"] } },
    });
    const app = appWithConfig(config);
    const before = await (await app.call("/v1/backends", { headers: bearer(key) })).json<any>();

    const made = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "home-then-mock", size: "64x64" }));
    const after = await (await app.call("/v1/backends", { headers: bearer(key) })).json<any>();

    expect(made.status).toBe(201);
    expect(before.chains).toEqual([
      { name: "home-then-mock", default: false, backends: ["home", "mock"], fallback_on: ["unreachable"], edits: true, status: "ok" },
    ]);
    expect(after.backends.find((b: any) => b.name === "home").status).toMatch(/^skipped: cooling down until \S+Z \(home was unreachable: /);
    expect(after.chains[0].status).toMatch(/^ok via mock \(home: skipped: cooling down until /);
  });
});

describe("GET /healthz", () => {
  it("answers without a key, warning that the shipped config lacks public_base_url", async () => {
    const res = await callWorker("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", pricing: "ok", warnings: [expect.stringContaining("public_base_url is not set")] });
  });

  it("has no warning once public_base_url is set", async () => {
    const res = await appWithConfig(testConfig({ public_base_url: "https://imagen.example.com" })).call("/healthz");
    expect(await res.json()).toEqual({ status: "ok", pricing: "ok" });
  });

  it("reports an invalid configuration as 503, naming the bad field", async () => {
    const res = await appWithConfig({ ...testConfig(), default_backend: "nope" }).call("/healthz");
    expect(res.status).toBe(503);
    const body = await res.json<any>();
    expect(body.status).toBe("misconfigured");
    expect(body.problems.join(" ")).toContain("default_backend");
  });

  it("reports a half-configured Supabase ledger by variable name, yet still generates images", async () => {
    const app = appWithConfig(testConfig(), { SUPABASE_URL: "https://example.supabase.co" });
    const health = await app.call("/healthz");
    expect(health.status).toBe(503);
    expect((await health.json<any>()).problems).toEqual([
      "ledger: SUPABASE_URL is set but no key: set the secret SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY)",
    ]);
    const key = await seedKey("resilient");
    const res = await app.call("/v1/images", {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: JSON.stringify({ prompt: "x", size: "64x64" }),
    });
    expect(res.status).toBe(201);
  });

  it("generation under an invalid configuration is a 500 problem naming the field", async () => {
    const key = await seedKey("victim");
    const bad = testConfig({ backends: { mock: { type: "mock", latency_ms: "slow" } } });
    const res = await appWithConfig(bad).call("/v1/images", {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: JSON.stringify({ prompt: "x" }),
    });
    expect(res.status).toBe(500);
    expect((await res.json<any>()).detail).toContain("backends.mock.latency_ms");
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document generated from the request schemas", async () => {
    const res = await callWorker("/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/healthz", "/v1/images", "/v1/images/{key}", "/v1/backends", "/v1/keys", "/v1/keys/{id}"]));
    const request = doc.components.schemas.GenerateImagesRequest;
    // These limits come from the zod schema that validates requests, not from a hand-written file.
    expect(request.required).toEqual(["prompt"]);
    expect(request.properties.prompt.maxLength).toBe(4000);
    expect(request.properties.n).toMatchObject({ minimum: 1, maximum: 4, default: 1 });
    expect(request.additionalProperties).toBe(false);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });
});

describe("unknown routes and methods", () => {
  it("answers 404 problem+json for an unknown path", async () => {
    const res = await callWorker("/v2/everything");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("answers 405 with Allow for a known path and the wrong method", async () => {
    const key = await seedKey("methods");
    const res = await callWorker("/v1/images", { method: "PUT", headers: bearer(key) });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const health = await callWorker("/healthz", { method: "DELETE" });
    expect(health.status).toBe(405);
    expect(health.headers.get("allow")).toBe("GET, HEAD");
  });

  it("always makes its own request id; a client's X-Request-Id comes back as X-Client-Request-Id", async () => {
    const res = await callWorker("/healthz", { headers: { "x-request-id": "trace-abc-123" } });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("x-client-request-id")).toBe("trace-abc-123");
    const other = await callWorker("/healthz");
    expect(other.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(other.headers.get("x-client-request-id")).toBeNull();
  });

  it("gives two callers who send the same X-Request-Id different request ids, in the answer and the stored sidecar", async () => {
    const shared = { "x-request-id": "same-id-1" };
    const [a, b] = await Promise.all(
      ["twin-a", "twin-b"].map(async (caller) => {
        const res = await callWorker("/v1/images", postJson("/v1/images", await seedKey(caller), { prompt: "p", size: "64x64" }, shared));
        expect(res.status).toBe(201);
        return res.json<{ request_id: string; images: { key: string }[] }>();
      }),
    );
    expect(a!.request_id).not.toBe(b!.request_id);
    expect([a!.request_id, b!.request_id]).not.toContain("same-id-1");
    const sidecar = await (await eventuallyStored(`${a!.images[0]!.key}.json`)).json<{ request_id: string }>();
    expect(sidecar.request_id).toBe(a!.request_id);
  });
});
