/**
 * The Together and OpenAI backends through the real app: POST /v1/images with `backend` set to the
 * instance, images stored in R2, one ledger row priced from the price table, failures answered as
 * problems, and their status in GET /v1/backends. The fakes are reached the way a deployment
 * would point at a proxy: one `base_url` per provider family.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { sniffImage } from "../../src/backends/image-size";
import { encodeCellPng } from "../../src/backends/mock/png";
import { sha256HexOfBytes } from "../../src/lib/hash";
import { creates, edits, newKey, requestsOf, setScenario } from "../fakes/openai-style/control";
import { newToken, setScenario as setReplicateScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows, priceRow } from "../helpers/ledger";
import { allKeys, appWithConfig, bearer, postJson, seedKey } from "../helpers/world";

const fakes = inject("fakes");

/** A fresh config object per app: instances are cached per config, with the env they were built from. */
const config = () =>
  testConfig({
    providers: {
      together: { base_url: `${fakes.together}/v1` },
      openai: { base_url: `${fakes.openai}/v1` },
      replicate: { base_url: `${fakes.replicate}/v1` },
    },
    backends: {
      mock: { type: "mock" },
      "flux-schnell-together": { type: "together", model: "black-forest-labs/FLUX.1-schnell", default_steps: 4 },
      "openai-images": { type: "openai", model: "gpt-image-1.5", quality: "high", sizes: ["1024x1024", "1024x1536", "1536x1024"] },
      "flux-schnell-replicate": { type: "replicate", model: "black-forest-labs/flux-schnell" },
    },
  });

async function storedImage(key: string) {
  const object = await env.IMAGES.get(key);
  expect(object).not.toBeNull();
  return sniffImage(new Uint8Array(await object!.arrayBuffer()));
}

describe("POST /v1/images on a Together instance", () => {
  it("stores the PNGs and ledgers one row costing $/MP × megapixels produced, pointing at its price row", async () => {
    const togetherKey = newKey("together");
    const app = appWithConfig(config(), { TOGETHER_API_KEY: togetherKey });
    const key = await seedKey("ada/blog");
    const res = await app.call(
      "/v1/images",
      postJson("/v1/images", key, { prompt: "a lighthouse at dusk", backend: "flux-schnell-together", n: 2, seed: 9, size: "1024x768" }),
    );
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    // 0.0027 $/MP × 0.786432 MP × 2 images = 0.00425 → 0.0042
    expect(body).toMatchObject({ backend: "flux-schnell-together", model: "black-forest-labs/FLUX.1-schnell", seed: 9, cost_usd_estimate: 0.0042 });
    expect(body.images).toHaveLength(2);
    for (const image of body.images) expect(await storedImage(image.key)).toEqual({ mimeType: "image/png", width: 1024, height: 768 });

    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({
      caller: "ada/blog",
      backend: "flux-schnell-together",
      success: 1,
      images_produced: 2,
      provider_image_count: 2,
      cost_usd_estimate: 0.0042,
    });
    expect(await priceRow(row!.price_id)).toMatchObject({
      provider: "together",
      model: "black-forest-labs/flux.1-schnell",
      unit: "megapixel",
      usd_rate: 0.0027,
    });
    expect(creates(await requestsOf(fakes.together!, togetherKey))).toHaveLength(1);
  });

  it("answers Together's 400 for a size it does not make as our 400, storing nothing", async () => {
    const app = appWithConfig(config(), { TOGETHER_API_KEY: newKey("together") });
    const key = await seedKey("ada/big");
    const before = await allKeys();
    const res = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "flux-schnell-together", size: "2048x2048" }));
    expect(res.status).toBe(400);
    expect((await res.json<any>()).detail).toContain("width must be a multiple of 16 between 256 and 1792");
    expect(await allKeys()).toEqual(before);
  });

  it("answers a refused key with a problem that names the env var", async () => {
    const app = appWithConfig(config(), { TOGETHER_API_KEY: "revoked" });
    const key = await seedKey("ada/revoked");
    const res = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "flux-schnell-together" }));
    expect(res.status).toBe(502);
    expect((await res.json<any>()).detail).toBe("Together API key missing or invalid; set TOGETHER_API_KEY");
  });

  it("makes one paid create when Together fails with a 500, and answers 502", async () => {
    const togetherKey = newKey("together");
    await setScenario(fakes.together!, togetherKey, { fail_next: [{ status: 500 }] });
    const app = appWithConfig(config(), { TOGETHER_API_KEY: togetherKey });
    const res = await app.call("/v1/images", postJson("/v1/images", await seedKey("ada/500"), { prompt: "p", backend: "flux-schnell-together" }));
    expect(res.status).toBe(502);
    expect(creates(await requestsOf(fakes.together!, togetherKey))).toHaveLength(1);
  });
});

describe("POST /v1/images on an OpenAI instance", () => {
  it("stores the images and ledgers one row priced by quality × size", async () => {
    const app = appWithConfig(config(), { OPENAI_API_KEY: newKey("openai") });
    const key = await seedKey("ada/openai");
    const res = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "a watercolour fox", backend: "openai-images", n: 2, size: "1024x1024" }));
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    // gpt-image-1.5, high, 1024x1024: $0.133 per image.
    expect(body).toMatchObject({ backend: "openai-images", model: "gpt-image-1.5", cost_usd_estimate: 0.266 });
    for (const image of body.images) expect(await storedImage(image.key)).toEqual({ mimeType: "image/png", width: 1024, height: 1024 });
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ backend: "openai-images", success: 1, images_produced: 2, provider_image_count: 2, cost_usd_estimate: 0.266 });
    expect(await priceRow(row!.price_id)).toMatchObject({ provider: "openai", model: "gpt-image-1.5", quality: "high", size: "1024x1024", usd_rate: 0.133 });
  });

  it("edits through the OpenAI-compatible route: the fake receives the upload's bytes as multipart, one ledger row priced per output image", async () => {
    const openAiKey = newKey("openai");
    const app = appWithConfig(config(), { OPENAI_API_KEY: openAiKey });
    const key = await seedKey("ada/openai-edit");
    const input = encodeCellPng(1024, 1024, 128, (cx, cy) => [cx * 30, cy * 30, 60]);
    const form = new FormData();
    form.append("image", new Blob([input], { type: "image/png" }), "in.png");
    form.append("prompt", "a watercolour version");
    form.append("model", "openai-images");
    form.append("size", "1024x1024");
    form.append("input_fidelity", "high");
    const res = await app.call("/v1/images/edits", { method: "POST", headers: bearer(key), body: form });
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.usage.input_tokens_details.image_tokens).toBeGreaterThan(0);
    const [edit] = edits(await requestsOf(fakes.openai!, openAiKey));
    expect(edit!.body).toMatchObject({ model: "gpt-image-1.5", input_fidelity: "high", size: "1024x1024" });
    expect(body.usage.input_tokens_details.image_tokens).toBe(1067);
    expect((edit!.body as any).files.image).toEqual([
      { filename: "image-1.png", type: "image/png", bytes: input.length, sha256: await sha256HexOfBytes(input) },
    ]);
    const [row] = await ledgerRows(res.headers.get("x-request-id")!, 1);
    // Output images only: gpt-image-1.5, high, 1024x1024 = $0.133; input image tokens are not in the price table.
    expect(row).toMatchObject({ backend: "openai-images", success: 1, images_produced: 1, cost_usd_estimate: 0.133 });
  });

  it("refuses a size the instance does not make with a 400 naming the choices, sending nothing", async () => {
    const openAiKey = newKey("openai");
    const app = appWithConfig(config(), { OPENAI_API_KEY: openAiKey });
    const before = await allKeys();
    const res = await app.call("/v1/images", postJson("/v1/images", await seedKey("ada/size"), { prompt: "p", backend: "openai-images", size: "512x512" }));
    expect(res.status).toBe(400);
    expect((await res.json<any>()).detail).toBe("gpt-image-1.5 makes 1024x1024, 1024x1536, 1536x1024; 512x512 is not one of them");
    expect(await requestsOf(fakes.openai!, openAiKey)).toEqual([]);
    expect(await allKeys()).toEqual(before);
  });

  it("waits out a 429 and succeeds with a single image made", async () => {
    const openAiKey = newKey("openai");
    await setScenario(fakes.openai!, openAiKey, { fail_next: [{ status: 429, retry_after: 1 }] });
    const app = appWithConfig(config(), { OPENAI_API_KEY: openAiKey });
    const res = await app.call("/v1/images", postJson("/v1/images", await seedKey("ada/429"), { prompt: "p", backend: "openai-images", size: "1024x1024" }));
    expect(res.status).toBe(201);
    expect(creates(await requestsOf(fakes.openai!, openAiKey)).map((r) => r.status)).toEqual([429, 200]);
  });
});

describe("GET /v1/backends for hosted providers", () => {
  it("shows each instance's status from a real probe of its key", async () => {
    const app = appWithConfig(config(), { TOGETHER_API_KEY: newKey("together"), OPENAI_API_KEY: "sk-", REPLICATE_API_TOKEN: newToken() });
    const res = await app.call("/v1/backends", { headers: bearer(await seedKey("ada/ops")) });
    expect(res.status).toBe(200);
    const status = Object.fromEntries((await res.json<any>()).backends.map((b: any) => [b.name, b.status]));
    expect(status).toEqual({
      mock: "ok",
      "flux-schnell-together": "ok",
      "openai-images": "key rejected (check OPENAI_API_KEY): OpenAI answered 401",
      "flux-schnell-replicate": "ok",
    });
  });

  it("says not configured, naming the variable, when a key is missing", async () => {
    const res = await appWithConfig(config()).call("/v1/backends", { headers: bearer(await seedKey("ada/ops2")) });
    const status = Object.fromEntries((await res.json<any>()).backends.map((b: any) => [b.name, b.status]));
    expect(status["flux-schnell-together"]).toBe("not configured (set TOGETHER_API_KEY)");
    expect(status["openai-images"]).toBe("not configured (set OPENAI_API_KEY)");
  });
});

describe("a provider that keeps answering 429", () => {
  it("answers 503 with the provider's wait as Retry-After, and claims no retries when the wait outlasts the deadline", async () => {
    const openAiKey = newKey("openai");
    await setScenario(fakes.openai!, openAiKey, { fail_next: [{ status: 429, retry_after: 3600 }] });
    const app = appWithConfig(config(), { OPENAI_API_KEY: openAiKey });
    const res = await app.call(
      "/v1/images",
      postJson("/v1/images", await seedKey("ada/429-long"), { prompt: "p", backend: "openai-images", size: "1024x1024" }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3600");
    const body = await res.json<any>();
    expect(body.retry_after).toBe(3600);
    expect(body.detail).toMatch(/^OpenAI rate limit hit; retry after 3600 s/);
    expect(body.detail).not.toContain("retr" + "ies");
    expect(creates(await requestsOf(fakes.openai!, openAiKey)).map((r) => r.status)).toEqual([429]);
  });

  it("says how many retries were made when they were, with Retry-After from the last 429", async () => {
    const togetherKey = newKey("together");
    const fail = { status: 429, retry_after: 1 };
    await setScenario(fakes.together!, togetherKey, { fail_next: [fail, fail, fail, fail] });
    const app = appWithConfig(config(), { TOGETHER_API_KEY: togetherKey });
    const res = await app.call("/v1/images", postJson("/v1/images", await seedKey("ada/429-retried"), { prompt: "p", backend: "flux-schnell-together" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await res.json<any>()).detail).toMatch(/^Together rate limit hit after 3 retries; retry after 1 s/);
    expect(creates(await requestsOf(fakes.together!, togetherKey))).toHaveLength(4);
  });

  it("carries Retry-After on the OpenAI-compatible route too", async () => {
    const togetherKey = newKey("together");
    await setScenario(fakes.together!, togetherKey, { fail_next: [{ status: 429, retry_after: 900 }] });
    const app = appWithConfig(config(), { TOGETHER_API_KEY: togetherKey });
    const res = await app.call(
      "/v1/images/generations",
      postJson("/v1/images/generations", await seedKey("ada/429-compat"), { prompt: "p", model: "flux-schnell-together" }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("900");
    const { error } = await res.json<any>();
    expect(error.message).toMatch(/^Together rate limit hit; retry after 900 s/);
  });

  it("takes Replicate's Retry-After header into the answer", async () => {
    const token = newToken();
    await setReplicateScenario(fakes.replicate!, token, { next_create: [{ status: 429, retry_after_header: 7200 }] });
    const app = appWithConfig(config(), { REPLICATE_API_TOKEN: token });
    const res = await app.call("/v1/images", postJson("/v1/images", await seedKey("ada/429-replicate"), { prompt: "p", backend: "flux-schnell-replicate" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("7200");
    const body = await res.json<any>();
    expect(body.detail).toMatch(/^Replicate rate limit hit; retry after 7200 s/);
  });
});
