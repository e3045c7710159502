import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { appWithConfig, bearer, callWorker, eventuallyFollowedUp, postJson, seedKey } from "../helpers/world";

async function generateAs(key: string, body: Record<string, unknown>) {
  const response = await callWorker("/v1/images", postJson("/v1/images", key, body));
  expect(response.status).toBe(201);
  const made = await response.json<any>();
  // Indexed right after the answer (waitUntil): the listings below start once that is done.
  await eventuallyFollowedUp(made.images);
  return made;
}

async function listAs(key: string, query = "") {
  return callWorker(`/v1/images${query}`, { headers: bearer(key) });
}

describe("GET /v1/images", () => {
  it("lists the caller's own images, newest first, with what each was made with", async () => {
    const key = await seedKey("lister");
    const first = await generateAs(key, { prompt: "first one", size: "128x64", seed: 5 });
    const second = await generateAs(key, { prompt: "second one", size: "64x64", seed: 6, n: 2 });
    const response = await listAs(key);
    expect(response.status).toBe(200);
    const body = await response.json<any>();
    expect(body.next_cursor).toBeNull();
    const keys = [first.images[0].key, ...second.images.map((i: any) => i.key)];
    expect(body.images.map((i: any) => i.key).sort()).toEqual(keys.sort());
    expect(body.images.find((i: any) => i.key === first.images[0].key)).toEqual({
      key: first.images[0].key,
      // Signed afresh per answer: same image path, its own expiry and signature.
      url: expect.stringMatching(new RegExp(`^${first.images[0].url.split("?")[0].replace(/[.?]/g, "\\$&")}\\?exp=\\d+&sig=[\\w-]+$`)),
      caller: "lister",
      width: 128,
      height: 64,
      bytes: first.images[0].bytes,
      mime_type: "image/png",
      backend: "mock",
      model: "mock-png",
      seed: 5,
      cost_usd_estimate: 0,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const times = body.images.map((i: any) => i.created_at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("never shows another caller's images to a user; an admin sees everyone's or names one caller", async () => {
    const [mine, theirs, admin] = [await seedKey("owner-a"), await seedKey("owner-b"), await seedKey("boss", "admin")];
    const a = await generateAs(mine, { prompt: "a's image", size: "64x64" });
    const b = await generateAs(theirs, { prompt: "b's image", size: "64x64" });
    const keysFor = async (key: string, query = "") => (await (await listAs(key, query)).json<any>()).images.map((i: any) => i.key);
    expect(await keysFor(mine)).toEqual([a.images[0].key]);
    expect(await keysFor(admin)).toEqual(expect.arrayContaining([a.images[0].key, b.images[0].key]));
    expect(await keysFor(admin, "?caller=owner-b")).toEqual([b.images[0].key]);
    const refused = await listAs(mine, "?caller=owner-b");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
  });

  it("pages with next_cursor until every image was seen exactly once", async () => {
    const key = await seedKey("pager");
    await generateAs(key, { prompt: "many", size: "64x64", n: 4 });
    await generateAs(key, { prompt: "more", size: "64x64", n: 1 });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await (await listAs(key, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`)).json();
      expect(page.images.length).toBeLessThanOrEqual(2);
      seen.push(...page.images.map((i: any) => i.key));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it("narrows by key prefix and by UTC date, and never lists sidecars", async () => {
    const key = await seedKey("narrow");
    const made = await generateAs(key, { prompt: "kept", size: "64x64", output: "narrow/kept-here/kept.png" });
    await generateAs(key, { prompt: "elsewhere", size: "64x64" });
    expect(await env.IMAGES.head("narrow/kept-here/kept.png.json")).not.toBeNull();
    const byPrefix = await (await listAs(key, "?prefix=narrow/kept-here/")).json<any>();
    expect(byPrefix.images.map((i: any) => i.key)).toEqual([made.images[0].key]);
    const future = await (await listAs(key, "?since=2999-01-01")).json<any>();
    expect(future.images).toEqual([]);
  });

  it("rejects a bad limit, date or cursor with 400 problem+json", async () => {
    const key = await seedKey("bad-list");
    for (const query of ["?limit=0", "?limit=201", "?since=2026-02-30", "?cursor=not-a-cursor", "?colour=red"]) {
      const response = await listAs(key, query);
      expect(response.status, query).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("answers 401 without a key", async () => {
    expect((await callWorker("/v1/images")).status).toBe(401);
  });
});

describe("GET /v1/images under a rate limit", () => {
  it("counts against the key's limit like any request: RateLimit headers, then 429 with Retry-After", async () => {
    const caller = `list-braked-${crypto.randomUUID().slice(0, 8)}`;
    const app = appWithConfig(testConfig({ guard: { callers: { [caller]: { rate_limit: { requests: 1, window_seconds: 3600 } } } } }));
    const key = await seedKey(caller);

    const first = await app.call("/v1/images", { headers: bearer(key) });
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe('"per-key";q=1;w=3600');
    expect(first.headers.get("ratelimit")).toMatch(/^"per-key";r=0;t=\d+$/);

    const second = await app.call("/v1/images", { headers: bearer(key) });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
