import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import { bearer, callWorker, eventuallyFollowedUp, postJson, seedKey } from "../helpers/world";

let owner: string;
let image: { key: string; url: string; sidecar_url: string };
let bytes: Uint8Array;

beforeAll(async () => {
  owner = await seedKey("alice");
  const res = await callWorker("/v1/images", postJson("/v1/images", owner, { prompt: "serve me", size: "256x256", seed: 9 }));
  image = (await res.json<any>()).images[0];
  await eventuallyFollowedUp([image]);
  bytes = new Uint8Array(await (await env.IMAGES.get(image.key))!.arrayBuffer());
});

const path = (url: string) => new URL(url).pathname;

describe("GET /v1/images/{key}", () => {
  it("serves the owner the bytes with Content-Type, ETag, Cache-Control and Accept-Ranges", async () => {
    const res = await callWorker(path(image.url), { headers: bearer(owner) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("etag")).toMatch(/^"[0-9a-f]+"$/);
    expect(res.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(Number(res.headers.get("content-length"))).toBe(bytes.length);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("serves byte ranges with 206 and Content-Range", async () => {
    const res = await callWorker(path(image.url), { headers: { ...bearer(owner), range: "bytes=0-7" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 0-7/${bytes.length}`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(0, 8));

    const suffix = await callWorker(path(image.url), { headers: { ...bearer(owner), range: "bytes=-4" } });
    expect(suffix.status).toBe(206);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.slice(-4));
  });

  it("ignores malformed and multi-range headers and serves the whole object", async () => {
    for (const range of ["bytes=abc", "bytes=0-1,4-5", "items=0-3"]) {
      const res = await callWorker(path(image.url), { headers: { ...bearer(owner), range } });
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    }
  });

  it("answers 416 for a range beyond the end", async () => {
    const res = await callWorker(path(image.url), { headers: { ...bearer(owner), range: `bytes=${bytes.length + 10}-${bytes.length + 20}` } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
  });

  it("answers 304 when the ETag matches", async () => {
    const first = await callWorker(path(image.url), { headers: bearer(owner) });
    const etag = first.headers.get("etag")!;
    await first.arrayBuffer();
    const res = await callWorker(path(image.url), { headers: { ...bearer(owner), "if-none-match": etag } });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etag);
  });

  it("answers 412, not 304, when If-Match or If-Unmodified-Since does not hold; 200 when If-Match does", async () => {
    const first = await callWorker(path(image.url), { headers: bearer(owner) });
    const etag = first.headers.get("etag")!;
    await first.arrayBuffer();
    const conditions: Record<string, string>[] = [
      { "if-match": '"not-this-one"' },
      { "if-match": `W/${etag}` },
      { "if-unmodified-since": new Date(Date.now() - 86_400_000).toUTCString() },
    ];
    for (const condition of conditions) {
      const res = await callWorker(path(image.url), { headers: { ...bearer(owner), ...condition } });
      expect([condition, res.status]).toEqual([condition, 412]);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect((await res.json<{ type: string }>()).type).toBe("urn:imagen-edge:problem:precondition-failed");
    }
    for (const ifMatch of [etag, `"other", ${etag}`, "*"]) {
      const res = await callWorker(path(image.url), { headers: { ...bearer(owner), "if-match": ifMatch } });
      expect([ifMatch, res.status]).toEqual([ifMatch, 200]);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    }
  });

  it("serves the sidecar JSON to the owner", async () => {
    const res = await callWorker(path(image.sidecar_url), { headers: bearer(owner) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await res.json<any>()).key).toBe(image.key);
  });

  it("answers 404, not 403, to another caller: existence is not revealed", async () => {
    const mallory = await seedKey("mallory");
    const res = await callWorker(path(image.url), { headers: bearer(mallory) });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const missing = await callWorker("/v1/images/no-such-key.png", { headers: bearer(mallory) });
    expect(missing.status).toBe(404);
  });

  it("lets an admin fetch anyone's image", async () => {
    const admin = await seedKey("owner", "admin");
    const res = await callWorker(path(image.url), { headers: bearer(admin) });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });
});

describe("API keys", () => {
  it("rejects a wrong key and a malformed header with 401", async () => {
    expect((await callWorker("/v1/backends", { headers: bearer("imk_not_a_real_key") })).status).toBe(401);
    expect((await callWorker("/v1/backends", { headers: { authorization: "Basic abc" } })).status).toBe(401);
  });

  it("stops accepting a key once it is revoked, with a precise message", async () => {
    const key = await seedKey("leaving");
    expect((await callWorker("/v1/backends", { headers: bearer(key) })).status).toBe(200);
    const store = new ApiKeyStore(env.API_KEYS);
    const record = (await store.list()).find((r) => r.caller === "leaving")!;
    await store.revoke(record.id, new Date());
    const res = await callWorker("/v1/backends", { headers: bearer(key) });
    expect(res.status).toBe(401);
    expect((await res.json<any>()).detail).toBe("this API key was revoked");
  });

  it("stores only hashes: the plaintext key appears nowhere in KV", async () => {
    const key = await seedKey("hashed");
    const listed = await env.API_KEYS.list({ prefix: "key:" });
    for (const { name } of listed.keys) {
      expect(name).not.toContain(key);
      expect(await env.API_KEYS.get(name)).not.toContain(key);
    }
  });

  it("lets an admin create, list and revoke keys over HTTP; a user gets 403", async () => {
    const admin = await seedKey("root", "admin");
    const created = await callWorker("/v1/keys", postJson("/v1/keys", admin, { caller: "agent-7", role: "user", label: "nightly job" }));
    expect(created.status).toBe(201);
    const { key, id } = await created.json<any>();
    expect(key).toMatch(/^imk_[a-z2-7]{32}$/);
    expect((await callWorker("/v1/backends", { headers: bearer(key) })).status).toBe(200);
    expect((await callWorker("/v1/keys", { headers: bearer(key) })).status).toBe(403);

    const list = await (await callWorker("/v1/keys", { headers: bearer(admin) })).json<any>();
    const listed = list.keys.find((k: any) => k.id === id);
    expect(listed).toMatchObject({ caller: "agent-7", role: "user", label: "nightly job", revoked_at: null });
    expect(JSON.stringify(list)).not.toContain(key);

    const revoked = await callWorker(`/v1/keys/${id}`, { method: "DELETE", headers: bearer(admin) });
    expect(revoked.status).toBe(200);
    expect((await callWorker("/v1/backends", { headers: bearer(key) })).status).toBe(401);
    expect((await callWorker("/v1/keys/000000000000", { method: "DELETE", headers: bearer(admin) })).status).toBe(404);
  });
});
