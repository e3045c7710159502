/**
 * The OpenAI-compatible API, driven by the official `openai` SDK, unchanged: its only seam is the
 * documented `fetch` option, which here hands each request to the Worker in this workerd
 * instead of the network.
 */
import { env, exports } from "cloudflare:workers";
import OpenAI, { AuthenticationError, BadRequestError, InternalServerError, NotFoundError, toFile } from "openai";
import { encodeCellPng, type Rgb } from "../../src/backends/mock/png";
import { sha256HexOfBytes } from "../../src/lib/hash";
import { beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { decodePng } from "../helpers/png-decode";
import { appWithConfig, BASE, seedKey } from "../helpers/world";

type Call = (request: Request) => Promise<Response>;

/** The SDK pointed at our `/v1`, sending through `call`; `sent` records what reached us. */
function sdk(apiKey: string, call: Call = (request) => exports.default.fetch(request), options: { maxRetries?: number } = {}) {
  const sent: Request[] = [];
  const client = new OpenAI({
    apiKey,
    baseURL: `${BASE}/v1`,
    maxRetries: options.maxRetries ?? 0,
    fetch: async (input, init) => {
      // The SDK's one-off check that this fetch can send FormData (before multipart requests): no network.
      if (String(input).startsWith("data:")) return fetch(input, init);
      const request = new Request(input, init);
      sent.push(request.clone());
      return call(request);
    },
  });
  return { client, sent };
}

function viaApp(config: unknown): Call {
  const app = appWithConfig(config);
  return (request) => {
    const url = new URL(request.url);
    return app.call(url.pathname + url.search, request);
  };
}

async function storedFor(caller: string, requestId: string) {
  const listed = await env.IMAGES.list({ prefix: `${caller}/`, include: ["customMetadata"] });
  return listed.objects.filter((o) => o.customMetadata?.request_id === requestId && !o.key.endsWith(".json"));
}

const base64Bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

let key: string;
beforeAll(async () => {
  key = await seedKey("sdk-user");
});

describe("images.generate through the official SDK", () => {
  it("answers b64_json by default: a real PNG of the requested size, the same bytes stored in R2 and ledgered with user as source", async () => {
    const { client } = sdk(key);
    const result = await client.images.generate({ model: "mock", prompt: "a lighthouse in fog", size: "256x128", n: 2, user: "blog-bot" });
    expect(Object.keys(result).sort()).toEqual(["created", "data", "output_format", "size"]);
    expect(result).toMatchObject({ output_format: "png", size: "256x128" });
    expect(Math.abs(result.created - Date.now() / 1000)).toBeLessThan(600);
    expect(result.data).toHaveLength(2);
    for (const image of result.data!) {
      expect(image.url).toBeUndefined();
      const png = await decodePng(base64Bytes(image.b64_json!));
      expect([png.width, png.height]).toEqual([256, 128]);
    }
    const stored = await storedFor("sdk-user", result._request_id!);
    expect(stored).toHaveLength(2);
    const storedBytes = await Promise.all(stored.map(async (o) => new Uint8Array(await (await env.IMAGES.get(o.key))!.arrayBuffer())));
    expect(storedBytes.map((b) => b.length).sort()).toEqual(result.data!.map((d) => base64Bytes(d.b64_json!).length).sort());
    const [row] = await ledgerRows(result._request_id!, 1);
    expect(row).toMatchObject({ caller: "sdk-user", source: "blog-bot", backend: "mock", images_produced: 2, success: 1 });
  });

  it("answers url with a signed URL that opens without an API key", async () => {
    const { client } = sdk(key);
    const result = await client.images.generate({ model: "mock", prompt: "a red kite", size: "128x128", response_format: "url" });
    const url = result.data![0]!.url!;
    expect(result.data![0]!.b64_json).toBeUndefined();
    expect(url).toMatch(/^http:\/\/imagen\.test\/v1\/images\/.+\?exp=\d+&sig=/);
    expect(url).not.toContain(key);
    const res = await exports.default.fetch(new Request(url));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    const png = await decodePng(new Uint8Array(await res.arrayBuffer()));
    expect([png.width, png.height]).toEqual([128, 128]);
  });

  it("takes the source from X-Imagen-Source over user", async () => {
    const { client } = sdk(key);
    const result = await client.images.generate(
      { model: "mock", prompt: "a tram", size: "64x64", user: "someone" },
      { headers: { "X-Imagen-Source": "newsletter" } },
    );
    const [row] = await ledgerRows(result._request_id!, 1);
    expect(row).toMatchObject({ source: "newsletter" });
  });

  it("uses the instance's default size for size auto and no model for the default backend", async () => {
    const { client } = sdk(key);
    const result = await client.images.generate({ prompt: "a kettle", size: "auto" });
    expect(result.size).toBe("1024x1024");
  });

  it("maps an alias to its instance, and an instance with fallback runs as a chain", async () => {
    const config = testConfig({ openai: { aliases: { "dall-e-3": "mock-with-fallback" } } });
    const { client } = sdk(key, viaApp(config));
    const result = await client.images.generate({ model: "dall-e-3", prompt: "a fox", size: "64x64" });
    expect(result.data).toHaveLength(1);
    const rows = await ledgerRows(result._request_id!, 3);
    expect(rows.map((r) => [r.backend, r.success])).toEqual([
      ["mock-with-fallback", 0],
      ["mock-down", 0],
      ["mock", 1],
    ]);
  });
});

describe("errors in OpenAI's shape", () => {
  it("a bad size is a BadRequestError naming param size; nothing stored or ledgered", async () => {
    const { client } = sdk(key);
    const error = await client.images.generate({ model: "mock", prompt: "x", size: "1024x1023" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, param: "size", type: "invalid_request_error", code: "invalid_value" });
    expect((error as BadRequestError).message).toMatch(/^400 .*multiple of 8/);
    const requestId = (error as BadRequestError).requestID!;
    expect(requestId).toBeTruthy();
    expect(await storedFor("sdk-user", requestId)).toEqual([]);
    const { results } = await env.LEDGER.prepare("SELECT * FROM imagen_usage WHERE request_id = ?").bind(requestId).all();
    expect(results).toEqual([]);
  });

  it("more images than we make is a BadRequestError naming param n", async () => {
    const error = await sdk(key)
      .client.images.generate({ model: "mock", prompt: "x", n: 10 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ param: "n" });
  });

  it("an unknown model is a NotFoundError, code model_not_found, as OpenAI answers it", async () => {
    const error = await sdk(key)
      .client.images.generate({ model: "dall-e-9", prompt: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, param: "model", code: "model_not_found", type: "invalid_request_error" });
    expect((error as NotFoundError).message).toContain("dall-e-9");
  });

  it("a bad API key is an AuthenticationError, code invalid_api_key", async () => {
    const error = await sdk("imk_not_a_real_key")
      .client.images.generate({ model: "mock", prompt: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", param: null });
    expect((error as AuthenticationError).message).toBe("401 unknown API key");
  });

  it("a failed paid attempt says x-should-retry: false, so the SDK does not pay again", async () => {
    const { client, sent } = sdk(key, viaApp(testConfig()), { maxRetries: 2 });
    const error = await client.images.generate({ model: "mock-down", prompt: "x", size: "64x64" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).headers?.get("x-should-retry")).toBe("false");
    expect(error).toMatchObject({ status: 502, type: "server_error", code: "backend_unavailable" });
    expect(sent).toHaveLength(1);
  });

  it("a failure that spent nothing leaves the SDK free to retry", async () => {
    const config = testConfig({ backends: { ...testConfig().backends, "mock-busy": { type: "mock", failure_rate: 1, failure_kind: "rate_limited" } } });
    const { client, sent } = sdk(key, viaApp(config), { maxRetries: 1 });
    const error = await client.images.generate({ model: "mock-busy", prompt: "x", size: "64x64" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).headers?.get("x-should-retry")).toBeNull();
    expect(sent.map((r) => r.headers.get("x-stainless-retry-count"))).toEqual(["0", "1"]);
  });

  it("405 and 404 on OpenAI's paths are OpenAI errors (edits and variations too), with Allow", async () => {
    const key = await seedKey("openai-wrong-method");
    const call = (method: string, path: string) =>
      exports.default.fetch(
        new Request(`${BASE}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          ...(method === "POST" && { body: "{}" }),
        }),
      );
    for (const [method, path, status] of [
      ["DELETE", "/v1/images/generations", 405],
      ["POST", "/v1/models", 405],
      ["PUT", "/v1/models/mock", 405],
      ["PUT", "/v1/images/edits", 405],
      ["PUT", "/v1/images/variations", 405],
      ["GET", "/v1/models/mock/extra", 404],
    ] as const) {
      const res = await call(method, path);
      expect([method, path, res.status]).toEqual([method, path, status]);
      expect(res.headers.get("content-type")).toBe("application/json");
      const { error } = await res.json<{ error: { message: string; type: string; code: string } }>();
      expect(error).toMatchObject({ type: "invalid_request_error", code: status === 405 ? "method_not_allowed" : "not_found", message: expect.any(String) });
      if (status === 405) expect(res.headers.get("allow")).toBeTruthy();
    }
  });

  it("problem+json stays on every other route", async () => {
    const wrongMethod = await exports.default.fetch(
      new Request(`${BASE}/v1/images`, { method: "DELETE", headers: { authorization: `Bearer ${await seedKey("own-api-405")}` } }),
    );
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("content-type")).toBe("application/problem+json");
    const res = await exports.default.fetch(new Request(`${BASE}/v1/backends`, { headers: { authorization: "Bearer imk_not_a_real_key" } }));
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("images.edit through the official SDK", () => {
  const colour = (cx: number, cy: number, salt: number): Rgb => [(cx * 50 + salt) & 0xff, (cy * 70) & 0xff, (cx + cy + salt) & 0xff];
  const source = (salt: number) => encodeCellPng(64, 64, 8, (cx, cy) => colour(cx, cy, salt));
  const inverted = ([r, g, b]: Rgb) => [255 - r, 255 - g, 255 - b];
  const editConfig = testConfig({
    backends: { ...testConfig().backends, "text-only": { type: "mock", model: "text-only", edits: false } },
    openai: { aliases: { "gpt-image-1.5": "mock" } },
  });

  it("edits one image, unchanged SDK: the answer is the input inverted, stored and ledgered, the input kept under the caller's folder", async () => {
    const { client, sent } = sdk(key, viaApp(editConfig));
    const input = source(7);
    const result = await client.images.edit({
      model: "gpt-image-1.5",
      image: await toFile(input, "source.png", { type: "image/png" }),
      prompt: "invert the colours",
      size: "64x64",
      user: "edit-bot",
    });
    expect(sent.map((r) => r.headers.get("content-type"))).toEqual([expect.stringMatching(/^multipart\/form-data; boundary=/)]);
    expect(result).toMatchObject({ output_format: "png", size: "64x64" });
    const png = await decodePng(base64Bytes(result.data![0]!.b64_json!));
    expect(png.pixel(12, 30)).toEqual(inverted(colour(1, 3, 7)));
    const uploaded = await env.IMAGES.get(`sdk-user/inputs/${await sha256HexOfBytes(input)}.png`);
    expect(new Uint8Array(await uploaded!.arrayBuffer())).toEqual(input);
    const [stored] = await storedFor("sdk-user", result._request_id!);
    const sidecar = await (await env.IMAGES.get(`${stored!.key}.json`))!.json<any>();
    expect(sidecar.request.reference_images).toEqual([expect.objectContaining({ sha256: await sha256HexOfBytes(input), width: 64, height: 64 })]);
    const [row] = await ledgerRows(result._request_id!, 1);
    expect(row).toMatchObject({ caller: "sdk-user", source: "edit-bot", backend: "mock", success: 1 });
  });

  it("takes several images as image[] (the first is the one the mock edits) and answers a signed url when asked", async () => {
    const { client } = sdk(key, viaApp(editConfig));
    const result = await client.images.edit({
      model: "mock",
      image: [await toFile(source(1), "a.png", { type: "image/png" }), await toFile(source(2), "b.png", { type: "image/png" })],
      prompt: "combine",
      size: "64x64",
      response_format: "url",
    });
    const [stored] = await storedFor("sdk-user", result._request_id!);
    const sidecar = await (await env.IMAGES.get(`${stored!.key}.json`))!.json<any>();
    expect(sidecar.request.reference_images.map((r: any) => r.sha256)).toEqual([await sha256HexOfBytes(source(1)), await sha256HexOfBytes(source(2))]);
    const res = await viaApp(editConfig)(new Request(result.data![0]!.url!));
    const png = await decodePng(new Uint8Array(await res.arrayBuffer()));
    expect(png.pixel(40, 40)).toEqual(inverted(colour(5, 5, 1)));
  });

  it("a model that cannot edit is a BadRequestError naming param model and the models that can", async () => {
    const error = await sdk(key, viaApp(editConfig))
      .client.images.edit({ model: "text-only", image: await toFile(source(3), "s.png", { type: "image/png" }), prompt: "x", size: "64x64" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, param: "model", type: "invalid_request_error" });
    expect((error as BadRequestError).message).toMatch(/"text-only" cannot edit images .*can: mock/);
  });

  it("an image that is not PNG, JPEG or WebP is a BadRequestError naming param image; nothing ledgered", async () => {
    const error = await sdk(key, viaApp(editConfig))
      .client.images.edit({ model: "mock", image: await toFile(new TextEncoder().encode("GIF89a..."), "s.gif", { type: "image/gif" }), prompt: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ param: "image" });
    const { results } = await env.LEDGER.prepare("SELECT * FROM imagen_usage WHERE request_id = ?")
      .bind((error as BadRequestError).requestID)
      .all();
    expect(results).toEqual([]);
  });

  it("createVariation is a BadRequestError that says variations are not supported, however large the image", async () => {
    const large = encodeCellPng(256, 256, 1, (x, y) => [(x * 97 + y * 31) & 0xff, (x * y) & 0xff, (x ^ y) & 0xff]);
    expect(large.length).toBeGreaterThan(64 * 1024);
    const error = await sdk(key)
      .client.images.createVariation({ image: await toFile(large, "s.png", { type: "image/png" }) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error", code: "unsupported_endpoint" });
    expect((error as BadRequestError).message).toMatch(/variations are not supported/);
  });
});

describe("models through the official SDK", () => {
  it("lists instances and aliases in OpenAI's shape with their status", async () => {
    const config = testConfig({ openai: { aliases: { "dall-e-3": "mock" } } });
    const { client } = sdk(key, viaApp(config));
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(["mock", "mock-down", "mock-refuses", "mock-with-fallback", "dall-e-3"]);
    expect(models[0]).toEqual({ id: "mock", object: "model", created: 0, owned_by: "mock", status: "ok", edits: true });
    expect(models[4]).toEqual({ id: "dall-e-3", object: "model", created: 0, owned_by: "mock", status: "ok", edits: true, alias_of: "mock" });
  });

  it("retrieves one by id or alias; an unknown one is a NotFoundError", async () => {
    const config = testConfig({ openai: { aliases: { "dall-e-3": "mock" } } });
    const { client } = sdk(key, viaApp(config));
    expect(await client.models.retrieve("mock-with-fallback")).toMatchObject({ id: "mock-with-fallback", object: "model", owned_by: "mock" });
    expect(await client.models.retrieve("dall-e-3")).toMatchObject({ id: "dall-e-3", alias_of: "mock" });
    const error = await client.models.retrieve("gpt-4o").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model" });
  });
});

describe("aliases in config", () => {
  it("must point at a configured instance and not hide one", async () => {
    const bad = testConfig({ openai: { aliases: { "dall-e-3": "nope", mock: "mock-down" } } });
    const health = await appWithConfig(bad).call("/healthz");
    expect(health.status).toBe(503);
    const { problems } = await health.json<any>();
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining("openai.aliases.dall-e-3"), expect.stringContaining("openai.aliases.mock")]));
  });
});
