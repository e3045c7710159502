/**
 * Deno tests for the pricing-refresh Edge Function handler: the real src/pricing code, run by the
 * real Deno runtime, against a fake fetch answering with the Portkey fixture files and an
 * in-memory price store. Run: `npx deno test --allow-read supabase/functions/pricing-refresh/`
 * (test/node/pricing-edge-function.test.ts does, as part of the suite).
 */
import type { Clock } from "../../../src/lib/clock";
import { silentLogger } from "../../../src/lib/log";
import { DEFAULT_PRICING_CONFIG } from "../../../src/pricing/config";
import { MemoryPriceStore } from "../../../src/pricing/memory-price-store";
import type { RefreshReport } from "../../../src/pricing/refresh";
import { BUNDLED_PRICES } from "../../../src/pricing/snapshot";
import { configFromEnv, createPricingRefreshHandler, SECRET_HEADER } from "./handler";

/**
 * Minimal assertions: jsr:@std/assert cannot be fetched here, and node:assert needs @types/node
 * resolved through Deno's npm layer. Values compared are plain JSON data.
 */
const assert = {
  equal(actual: unknown, expected: unknown) {
    if (!Object.is(actual, expected)) throw new Error(`expected ${String(expected)}, got ${String(actual)}`);
  },
  deepEqual(actual: unknown, expected: unknown) {
    const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
    if (a !== e) throw new Error(`expected ${e}\n     got ${a}`);
  },
  match(actual: string, pattern: RegExp) {
    if (!pattern.test(actual)) throw new Error(`expected ${JSON.stringify(actual)} to match ${pattern}`);
  },
  throws(fn: () => unknown, pattern?: RegExp) {
    try {
      fn();
    } catch (error) {
      if (pattern) assert.match(error instanceof Error ? error.message : String(error), pattern);
      return;
    }
    throw new Error("expected a throw");
  },
};

const fixture = (name: string) => Deno.readTextFile(new URL(`../../../test/fixtures/pricing/portkey/${name}`, import.meta.url));
const together = await fixture("together-ai.json");
const openai = await fixture("openai.json");

const clock: Clock = { now: () => Date.parse("2026-11-23T04:00:00.000Z"), sleep: () => Promise.resolve() };
const config = { ...DEFAULT_PRICING_CONFIG, sources: ["portkey:openai", "portkey:together-ai"] as const };

function fakeFetch(routes: Record<string, () => Response>) {
  const calls: string[] = [];
  const fetch = (input: string | URL | Request) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    const route = routes[url];
    return Promise.resolve(route ? route() : new Response("Not Found", { status: 404 }));
  };
  return Object.assign(fetch, { calls });
}

const jsonFile = (body: string) => () => new Response(body, { headers: { "content-type": "application/json" } });

function setup(routes: Record<string, () => Response> = {}, options: { secret?: string } = { secret: "s3cret-value" }) {
  const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
  const fetch = fakeFetch({
    "https://configs.portkey.ai/pricing/openai.json": jsonFile(openai),
    "https://configs.portkey.ai/pricing/together-ai.json": jsonFile(together),
    ...routes,
  });
  const handler = createPricingRefreshHandler({
    secret: options.secret,
    store: () => store,
    fetch,
    clock,
    log: silentLogger,
    config: { ...config, sources: [...config.sources] },
  });
  return { store, fetch, handler };
}

const post = (headers: Record<string, string> = { [SECRET_HEADER]: "s3cret-value" }) =>
  new Request("http://localhost/functions/v1/pricing-refresh", { method: "POST", headers });

Deno.test("a POST with the shared secret runs the refresh and answers its report", async () => {
  const { store, handler } = setup();
  const response = await handler(post());
  assert.equal(response.status, 200);
  const report = (await response.json()) as RefreshReport;
  assert.equal(report.ok, true);
  assert.deepEqual(
    report.sources.map((s) => [s.source, s.unchanged]),
    [
      ["portkey:openai", 18],
      ["portkey:together-ai", 7],
    ],
  );
  assert.equal((await store.lastRun())?.ok, true);
});

Deno.test("a drift within the threshold is applied through the store", async () => {
  const drifted = JSON.parse(together);
  drifted["black-forest-labs/FLUX.1-dev"].pricing_config.pay_as_you_go.additional_units.megapixels.price = 0.028;
  const { store, handler } = setup({
    "https://configs.portkey.ai/pricing/together-ai.json": jsonFile(JSON.stringify(drifted)),
  });
  assert.equal((await handler(post())).status, 200);
  const dev = (await store.current()).find((r) => r.model === "black-forest-labs/flux.1-dev");
  assert.equal(dev?.usd_rate, 0.028);
  assert.equal(dev?.source, "portkey:together-ai");
});

Deno.test("a refresh supersedes a held proposal for another value of the same line", async () => {
  const { store, handler } = setup();
  const dev = { provider: "together", model: "black-forest-labs/flux.1-dev", unit: "megapixel" as const, quality: null, size: null };
  await store.hold({ ...dev, old_rate: 0.025, new_rate: 0.25, source: "portkey:together-ai", reason: "x10", detected_at: "2026-11-22T04:00:00.000Z" });
  assert.equal((await handler(post())).status, 200);
  // Portkey lists $0.025 again: the $0.25 proposal is outdated and can no longer be approved.
  assert.deepEqual(
    (await store.held()).map((h) => [h.new_rate, h.superseded_at]),
    [[0.25, "2026-11-23T04:00:00.000Z"]],
  );
  assert.equal(await store.approveHeld((await store.held())[0]!.id, "2026-11-24T00:00:00.000Z"), null);
});

Deno.test("a failing source answers 502 with the report and keeps the last prices", async () => {
  const { store, handler } = setup({
    "https://configs.portkey.ai/pricing/openai.json": () => new Response("upstream down", { status: 500 }),
  });
  const before = await store.current();
  const response = await handler(post());
  assert.equal(response.status, 502);
  const report = (await response.json()) as RefreshReport;
  assert.deepEqual(report.sources[0]?.errors, ["portkey:openai: HTTP 500 from https://configs.portkey.ai/pricing/openai.json"]);
  assert.deepEqual(await store.current(), before);
});

Deno.test("a missing or wrong secret is refused before any source is fetched", async () => {
  const { fetch, handler } = setup();
  const attempts: Record<string, string>[] = [{}, { [SECRET_HEADER]: "guess" }, { authorization: "Bearer s3cret-value" }];
  for (const headers of attempts) {
    const response = await handler(post(headers));
    assert.equal(response.status, 401);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
  }
  assert.deepEqual(fetch.calls, []);
});

Deno.test("without a configured secret every call is refused", async () => {
  const { fetch, handler } = setup({}, {});
  const response = await handler(post());
  assert.equal(response.status, 503);
  assert.match(((await response.json()) as { detail: string }).detail, /set PRICING_REFRESH_SECRET/);
  assert.deepEqual(fetch.calls, []);
});

Deno.test("only POST runs a refresh", async () => {
  const { handler } = setup();
  const response = await handler(new Request("http://localhost/functions/v1/pricing-refresh"));
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
});

Deno.test("settings come from PRICING_CONFIG and PRICING_WANTED_MODELS", () => {
  const { config, wanted } = configFromEnv({
    PRICING_CONFIG: '{"refresh_threshold": 0.1, "sources": ["portkey:together-ai"]}',
    PRICING_WANTED_MODELS: "together:black-forest-labs/FLUX.1-krea-dev, openai:gpt-image-2",
  });
  assert.equal(config.refresh_threshold, 0.1);
  assert.deepEqual(config.sources, ["portkey:together-ai"]);
  assert.deepEqual(wanted, [
    { provider: "together", model: "black-forest-labs/FLUX.1-krea-dev" },
    { provider: "openai", model: "gpt-image-2" },
  ]);
  assert.deepEqual(configFromEnv({}).config, DEFAULT_PRICING_CONFIG);
  assert.throws(() => configFromEnv({ PRICING_CONFIG: '{"sources": ["portkey:workers-ai"]}' }));
  assert.throws(() => configFromEnv({ PRICING_WANTED_MODELS: "gpt-image-2" }), /not provider:model/);
});

Deno.test("a store that cannot be built is a 503 naming the problem", async () => {
  const handler = createPricingRefreshHandler({
    secret: "s3cret-value",
    store: () => {
      throw new Error("SUPABASE_URL is not set");
    },
    fetch: fakeFetch({}),
    clock,
    log: silentLogger,
    config: DEFAULT_PRICING_CONFIG,
  });
  const response = await handler(post());
  assert.equal(response.status, 503);
  assert.match(((await response.json()) as { detail: string }).detail, /no price store: SUPABASE_URL is not set/);
});
