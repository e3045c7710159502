/** Per-API-key rate limits on POST /v1/images: 429 with Retry-After and the RateLimit headers. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Limits } from "../../src/config/guard";
import { testConfig } from "../helpers/config";
import { allKeys, appWithConfig, postJson, seedKey } from "../helpers/world";

async function keyWithLimits(caller: string, limits: Limits): Promise<string> {
  const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date(), limits);
  return key;
}

const BODY = { prompt: "a paper boat", size: "128x128" };

describe("rate limits per API key", () => {
  it("the key's own limit: 3 requests pass with RateLimit headers, the 4th gets 429 and generates nothing", async () => {
    const caller = `brake-${crypto.randomUUID().slice(0, 8)}`;
    const key = await keyWithLimits(caller, { rate_limit: { requests: 3, window_seconds: 3600 } });
    const app = appWithConfig(testConfig());
    const post = () => app.call("/v1/images", postJson("/v1/images", key, BODY));

    for (const remaining of [2, 1, 0]) {
      const ok = await post();
      expect(ok.status).toBe(201);
      expect(ok.headers.get("ratelimit-policy")).toBe('"per-key";q=3;w=3600');
      expect(ok.headers.get("ratelimit")).toMatch(new RegExp(`^"per-key";r=${remaining};t=\\d+$`));
    }
    const stored = (await allKeys()).filter((k) => k.startsWith(`${caller}/`));

    const refused = await post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(refused.headers.get("ratelimit")).toBe(`"per-key";r=0;t=${retryAfter}`);
    expect(await refused.json()).toMatchObject({ type: "urn:imagen-edge:problem:rate-limited", status: 429 });
    expect((await allKeys()).filter((k) => k.startsWith(`${caller}/`))).toEqual(stored);
  });

  it("the caller's limit from config applies to each of its keys separately", async () => {
    const caller = `brake-cfg-${crypto.randomUUID().slice(0, 8)}`;
    const app = appWithConfig(testConfig({ guard: { callers: { [caller]: { rate_limit: { requests: 1, window_seconds: 3600 } } } } }));
    const [first, second] = [await seedKey(caller), await seedKey(caller)];
    const post = (key: string) => app.call("/v1/images", postJson("/v1/images", key, BODY));

    expect((await post(first)).status).toBe(201);
    expect((await post(first)).status).toBe(429);
    expect((await post(second)).status).toBe(201);
  });

  it("a key without a rate limit gets no RateLimit headers", async () => {
    const key = await seedKey(`unbraked-${crypto.randomUUID().slice(0, 8)}`);
    const res = await appWithConfig(testConfig()).call("/v1/images", postJson("/v1/images", key, BODY));
    expect(res.status).toBe(201);
    expect(res.headers.get("ratelimit")).toBeNull();
  });
});
