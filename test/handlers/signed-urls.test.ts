import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { imageUrlFor, urlSignerFromEnv } from "../../src/storage/signed-urls";
import { manualClock } from "../helpers/clock";
import { testConfig } from "../helpers/config";
import { appWithConfig, bearer, callWorker, eventuallyFollowedUp, postJson, seedKey } from "../helpers/world";

let owner: string;
let images: { key: string; url: string; sidecar_url: string }[];
let bytes: Uint8Array;

beforeAll(async () => {
  owner = await seedKey("signed-owner");
  const res = await callWorker("/v1/images", postJson("/v1/images", owner, { prompt: "sign me", size: "128x128", n: 2 }));
  images = (await res.json<any>()).images;
  await eventuallyFollowedUp(images);
  bytes = new Uint8Array(await (await env.IMAGES.get(images[0]!.key))!.arrayBuffer());
});

/** The path and query of a URL, sent through the Worker exactly as handed out. */
const pathAndQuery = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

function tampered(url: string, change: (params: URLSearchParams, parts: { path: string }) => void): string {
  const u = new URL(url);
  const parts = { path: u.pathname };
  change(u.searchParams, parts);
  return `${parts.path}?${u.searchParams}`;
}

async function expectForbidden(path: string, detail: RegExp) {
  const res = await callWorker(path);
  expect(res.status).toBe(403);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect((await res.json<any>()).detail).toMatch(detail);
}

describe("signed image URLs", () => {
  it("are what the 201 body hands out, for images and sidecars", () => {
    for (const image of images) {
      expect(image.url).toMatch(/\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
      expect(image.sidecar_url).toMatch(/\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
      expect(image.url).not.toContain(owner);
    }
  });

  it("serve the image to anyone holding the URL, without an Authorization header", async () => {
    const res = await callWorker(pathAndQuery(images[0]!.url));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    const sidecar = await callWorker(pathAndQuery(images[0]!.sidecar_url));
    expect((await sidecar.json<any>()).key).toBe(images[0]!.key);
  });

  it("answer 403 when the key, the expiry or the signature was changed", async () => {
    const url = images[0]!.url;
    const otherPath = new URL(images[1]!.url).pathname;
    await expectForbidden(
      tampered(url, (_, parts) => (parts.path = otherPath)),
      /signature does not match/,
    );
    await expectForbidden(
      tampered(url, (q) => q.set("exp", String(Number(q.get("exp")) + 86_400))),
      /signature does not match/,
    );
    await expectForbidden(
      tampered(url, (q) => q.set("sig", `${q.get("sig")!.slice(0, -2)}AA`)),
      /signature does not match/,
    );
    await expectForbidden(
      tampered(url, (q) => q.delete("sig")),
      /signature does not match/,
    );
  });

  it("answer 403 once expired", async () => {
    const signing = await urlSignerFromEnv(env, { secret_env: "IMAGEN_URL_SECRET", ttl_s: 3600 }, manualClock(Date.now() - 2 * 3600 * 1000));
    if (!("signer" in signing)) throw new Error(signing.problem);
    const stale = await imageUrlFor("http://imagen.test", signing.signer)(images[0]!.key);
    await expectForbidden(pathAndQuery(stale), /expired/);
  });

  it("leave bearer access as it was: the owner gets the image, another caller a 404", async () => {
    const mine = await callWorker(pathAndQuery(images[0]!.url), { headers: bearer(owner) });
    expect(mine.status).toBe(200);
    await mine.arrayBuffer();
    const mallory = await seedKey("signed-mallory");
    const theirs = await callWorker(pathAndQuery(images[0]!.url), { headers: bearer(mallory) });
    expect(theirs.status).toBe(404);
    expect((await callWorker(new URL(images[0]!.url).pathname)).status).toBe(401);
  });

  it("last the configured TTL", async () => {
    const app = appWithConfig(testConfig({ image_urls: { ttl_s: 120 } }));
    const before = Math.floor(Date.now() / 1000);
    const res = await app.call("/v1/images", postJson("/v1/images", owner, { prompt: "short lived", size: "64x64" }));
    const exp = Number(new URL((await res.json<any>()).images[0].url).searchParams.get("exp"));
    expect(exp).toBeGreaterThanOrEqual(before + 120);
    expect(exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 120);
  });

  it("are plain (API key needed) when the secret is missing, and /healthz says so by name", async () => {
    const app = appWithConfig(testConfig({ image_urls: { secret_env: "UNSET_URL_SECRET" } }));
    const health = await app.call("/healthz");
    expect(health.status).toBe(503);
    expect((await health.json<any>()).problems).toEqual([expect.stringContaining("image_urls: UNSET_URL_SECRET is not set")]);
    const res = await app.call("/v1/images", postJson("/v1/images", owner, { prompt: "unsigned", size: "64x64" }));
    const url = new URL((await res.json<any>()).images[0].url);
    expect(url.search).toBe("");
    expect((await app.call(url.pathname, { headers: bearer(owner) })).status).toBe(200);
  });
});

/** In Workers the request URL is built from the Host header: a request "to" evil.test is one with that Host. */
describe("URLs in answers start with public_base_url, whatever Host says", () => {
  const PUBLIC = "https://imagen.example.com";
  const FORGED_ORIGINS = ["http://evil.test", "http://127.0.0.1@evil.test"];
  const { public_base_url: _configured, ...unconfigured } = testConfig();
  const configs = {
    public_base_url: testConfig({ public_base_url: PUBLIC }),
    "jobs.public_base_url (its old name)": { ...unconfigured, jobs: { public_base_url: PUBLIC } },
  };

  for (const [setting, config] of Object.entries(configs)) {
    it(`POST /v1/images, the OpenAI url, GET /v1/images and /openapi.json servers (${setting})`, async () => {
      const app = appWithConfig(config);
      for (const origin of FORGED_ORIGINS) {
        const made = await app.call("/v1/images", postJson("/v1/images", owner, { prompt: "forged host", size: "64x64" }), origin);
        expect(made.status).toBe(201);
        const [image] = (await made.json<any>()).images;
        expect(image.url.startsWith(`${PUBLIC}/v1/images/`)).toBe(true);
        expect(image.sidecar_url.startsWith(`${PUBLIC}/v1/images/`)).toBe(true);

        const openai = await app.call(
          "/v1/images/generations",
          postJson("/v1/images/generations", owner, { model: "mock", prompt: "forged host", size: "64x64", response_format: "url" }),
          origin,
        );
        expect(openai.status).toBe(200);
        expect((await openai.json<any>()).data[0].url.startsWith(`${PUBLIC}/v1/images/`)).toBe(true);

        const listed = await app.call("/v1/images?limit=5", { headers: bearer(owner) }, origin);
        expect(listed.status).toBe(200);
        const page = await listed.json<any>();
        expect(page.images.length).toBeGreaterThan(0);
        for (const entry of page.images) expect(entry.url.startsWith(`${PUBLIC}/v1/images/`)).toBe(true);

        const doc = await app.call("/openapi.json", {}, origin);
        expect((await doc.json<any>()).servers).toEqual([{ url: PUBLIC, description: "This deployment" }]);
      }
    });
  }

  it("without the setting, an answer's URLs follow the request's own origin (it goes back only to that caller)", async () => {
    const app = appWithConfig(unconfigured);
    const made = await app.call("/v1/images", postJson("/v1/images", owner, { prompt: "local dev", size: "64x64" }), "http://127.0.0.1:8787");
    expect((await made.json<any>()).images[0].url.startsWith("http://127.0.0.1:8787/v1/images/")).toBe(true);
  });
});
