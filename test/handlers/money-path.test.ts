/**
 * The money path through the real app and the provider fakes: what the spend guard counts and
 * what the ledger records agree, reservations price what the instance will be billed, and the
 * records of a request keep what the caller sent to find them by.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Limits } from "../../src/config/guard";
import { creates, newKey, requestsOf, setScenario as setTogetherScenario } from "../fakes/openai-style/control";
import { callerGuardCalls } from "../entry/seamed-caller-guard";
import { eventually, newToken, requestsOf as replicateRequestsOf, setScenario, versionOf } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, bearer, postJson } from "../helpers/world";

const fakes = inject("fakes");

async function world(limits: Limits) {
  const caller = `money-${crypto.randomUUID().slice(0, 8)}`;
  const replicateToken = newToken();
  const openaiKey = newKey("openai");
  const togetherKey = newKey("together");
  // The pinned version's predictions come back naming no model we asked for.
  await setScenario(fakes.replicate!, replicateToken, { model_echo: "unknown/unknown" });
  const version = await versionOf(fakes.replicate!, "black-forest-labs/flux-schnell");
  const app = appWithConfig(
    testConfig({
      providers: {
        together: { base_url: `${fakes.together}/v1` },
        openai: { base_url: `${fakes.openai}/v1` },
        replicate: { base_url: `${fakes.replicate}/v1` },
      },
      backends: {
        mock: { type: "mock", model: "mock-png" },
        "schnell-pinned": { type: "replicate", model: `black-forest-labs/flux-schnell:${version}`, delivery_hosts: ["127.0.0.1"] },
        "openai-medium": { type: "openai", model: "gpt-image-1.5", quality: "medium", sizes: ["1024x1024"] },
        together: { type: "together", model: "black-forest-labs/FLUX.1-schnell", default_steps: 4 },
      },
      guard: { callers: { [caller]: limits } },
    }),
    { REPLICATE_API_TOKEN: replicateToken, OPENAI_API_KEY: openaiKey, TOGETHER_API_KEY: togetherKey },
  );
  const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date());
  return {
    caller,
    togetherKey,
    generate: (body: Record<string, unknown>, headers: Record<string, string> = {}) => app.call("/v1/images", postJson("/v1/images", key, body, headers)),
    openai: (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      app.call("/v1/images/generations", postJson("/v1/images/generations", key, body, headers)),
    budget: async () => (await app.call("/v1/budget", { headers: bearer(key) })).json<any>(),
    summary: async () => (await app.call("/v1/usage/summary", { headers: bearer(key) })).json<any>(),
    replicateCreates: async () =>
      (await replicateRequestsOf(fakes.replicate!, replicateToken)).filter((r) => r.method === "POST" && r.path === "/v1/predictions"),
    openaiCreates: async () => creates(await requestsOf(fakes.openai!, openaiKey)),
  };
}

describe("the spend guard and the ledger agree", () => {
  it("after a mix of requests across backends, the guard's spent_usd equals the ledger's cost sum for the caller", async () => {
    const w = await world({ daily_usd: 1 });
    const answers = [
      await w.generate({ prompt: "a pinned fox", backend: "schnell-pinned", size: "1024x1024", seed: 5 }),
      await w.generate({ prompt: "a medium fox", backend: "openai-medium", size: "1024x1024" }),
      await w.openai({ prompt: "a medium fox via the SDK route", model: "openai-medium", size: "1024x1024" }),
      await w.generate({ prompt: "a together fox", backend: "together", size: "512x512", seed: 8 }),
      // The same seeded request again: reused, a row of its own at cost 0.
      await w.generate({ prompt: "a together fox", backend: "together", size: "512x512", seed: 8 }),
      await w.generate({ prompt: "a free fox", backend: "mock", size: "64x64" }),
    ];
    expect(answers.map((a) => a.status)).toEqual([201, 201, 200, 201, 201, 201]);
    const pinned = await answers[0]!.json<any>();
    // Priced by the configured model (the guard reserved $0.003 the same way), not by the echo.
    expect(pinned).toMatchObject({ model: "black-forest-labs/flux-schnell", cost_usd_estimate: 0.003 });
    const [pinnedRow] = await ledgerRows(pinned.request_id, 1);
    expect(pinnedRow).toMatchObject({ model: "black-forest-labs/flux-schnell", cost_usd_estimate: 0.003 });
    expect((await answers[1]!.json<any>()).cost_usd_estimate).toBe(0.034);

    const summary = await eventually(async () => {
      const read = await w.summary();
      return read.totals.calls === answers.length ? read : undefined;
    });
    const { daily } = await w.budget();
    // 0.003 + 2 × 0.034 + 0.0027 $/MP × 0.262144 MP (0.0007) + 0 + 0
    expect(daily.reserved_usd).toBe(0);
    expect(daily.spent_usd).toBeCloseTo(0.0717, 6);
    expect(summary.totals.cost_usd).toBeCloseTo(daily.spent_usd, 6);
  });

  it("reserves an OpenAI instance's configured quality: a medium instance fits a $0.05 cap that high ($0.133) never would", async () => {
    const w = await world({ daily_usd: 0.05 });
    const first = await w.generate({ prompt: "a medium fox", backend: "openai-medium", size: "1024x1024" });
    expect(first.status).toBe(201);
    const second = await w.generate({ prompt: "another medium fox", backend: "openai-medium", size: "1024x1024" });
    expect(second.status).toBe(402);
    expect(await second.json()).toMatchObject({ cap_usd: 0.05, spent_usd: 0.034, reserved_usd: 0, requested_usd: 0.034 });
    expect(await w.openaiCreates()).toHaveLength(1);
  });
});

describe("what a request's usage rows keep", () => {
  it("a reused answer's row keeps the request's ref and X-Request-Id", async () => {
    const w = await world({ daily_usd: 1 });
    const body = { prompt: "a reused fox", backend: "mock", size: "64x64", seed: 77 };
    expect((await w.generate({ ...body, ref: "post/first" }, { "x-request-id": "build-1" })).status).toBe(201);
    const reused = await w.generate({ ...body, ref: "post/second" }, { "x-request-id": "build-2" });
    expect(reused.status).toBe(201);
    const answer = await reused.json<any>();
    expect(answer.reused_from).toBeDefined();
    const [row] = await ledgerRows(answer.request_id, 1);
    expect(row).toMatchObject({ backend_type: "reuse", ref: "post/second", client_request_id: "build-2" });
  });

  it("the OpenAI route ledgers the caller's X-Request-Id as client_request_id, as POST /v1/images does", async () => {
    const w = await world({ daily_usd: 1 });
    const res = await w.openai({ prompt: "a fox", model: "mock", size: "64x64" }, { "x-request-id": "sdk-call-42" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-client-request-id")).toBe("sdk-call-42");
    const [row] = await ledgerRows(res.headers.get("x-request-id")!, 1);
    expect(row).toMatchObject({ client_request_id: "sdk-call-42", caller: w.caller });
  });
});

describe("an invalid request near the cap", () => {
  it("gets its 400, not a 402: the instance checks the request before money is reserved", async () => {
    // Below one schnell image ($0.003): every paid attempt is refused.
    const w = await world({ daily_usd: 0.001 });
    const valid = await w.generate({ prompt: "a fox", backend: "schnell-pinned", size: "1024x1024" });
    expect(valid.status).toBe(402);

    const tooManySteps = await w.generate({ prompt: "a fox", backend: "schnell-pinned", size: "1024x1024", steps: 10 });
    expect(tooManySteps.status).toBe(400);
    expect((await tooManySteps.json<any>()).detail).toMatch(/steps/);

    const wrongSize = await w.openai({ prompt: "a fox", model: "openai-medium", size: "1024x1536" });
    expect(wrongSize.status).toBe(400);
    expect((await wrongSize.json<any>()).error.message).toContain("1024x1536 is not one of them");

    expect(await w.replicateCreates()).toHaveLength(0);
    expect(await w.openaiCreates()).toHaveLength(0);
  });
});

describe("one round trip to the caller's object before the provider call", () => {
  it("a sync paid request with Idempotency-Key, explicit seed and a rate limit: one admit while the create is out; settle and the rest after", async () => {
    const w = await world({ daily_usd: 1, rate_limit: { requests: 100, window_seconds: 60 } });
    // The create is held at the fake long enough to look at the caller's object meanwhile.
    await setTogetherScenario(fakes.together!, w.togetherKey, { delay_ms: 4000 });
    const guardId = env.GUARDS.idFromName(w.caller);
    const answer = w.generate({ prompt: "a counted fox", backend: "together", size: "512x512", seed: 21 }, { "idempotency-key": `count-${w.caller}` });
    const out = await eventually(async () => {
      const created = creates(await requestsOf(fakes.together!, w.togetherKey));
      return created.length === 1 ? created : undefined;
    });
    const whileOut = callerGuardCalls(guardId);
    // Read after the calls: the create was still unanswered when they were read.
    const stillOut = creates(await requestsOf(fakes.together!, w.togetherKey));
    expect(out).toHaveLength(1);
    expect(stillOut[0]!.status).toBeNull();
    expect(whileOut).toEqual(["admit"]);

    const response = await answer;
    expect(response.status).toBe(201);
    expect(response.headers.get("ratelimit")).toMatch(/r=99/);
    const after = await eventually(async () => {
      const calls = callerGuardCalls(guardId);
      return calls.length === 4 ? calls : undefined;
    });
    expect(after[0]).toBe("admit");
    expect([...after.slice(1)].sort()).toEqual(["completeIdempotencyKey", "rememberReuse", "settle"]);
    // The same seeded request again (a new key): reused from the first, nothing reserved, no create.
    const again = await w.generate({ prompt: "a counted fox", backend: "together", size: "512x512", seed: 21 }, { "idempotency-key": `again-${w.caller}` });
    expect(again.status).toBe(201);
    expect(again.headers.get("imagen-reused-from")).toBe((await response.json<any>()).request_id);
    expect(creates(await requestsOf(fakes.together!, w.togetherKey))).toHaveLength(1);
    expect((await w.budget()).daily.spent_usd).toBeGreaterThan(0);
    expect(callerGuardCalls(guardId).filter((c) => c === "admit")).toHaveLength(2);
    expect(callerGuardCalls(guardId)).not.toContain("reserve");
  }, 120_000);

  it("a replayed key answers the stored response in that one round trip, reserving nothing", async () => {
    const w = await world({ daily_usd: 1, rate_limit: { requests: 100, window_seconds: 60 } });
    const guardId = env.GUARDS.idFromName(w.caller);
    const body = { prompt: "a replayed fox", backend: "together", size: "512x512" };
    const first = await w.generate(body, { "idempotency-key": "replayed" });
    expect(first.status).toBe(201);
    const before = (await w.budget()).daily;
    const callsBefore = callerGuardCalls(guardId).length;
    const replay = await w.generate(body, { "idempotency-key": "replayed" });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual(await first.json());
    expect(callerGuardCalls(guardId).slice(callsBefore)).toEqual(["admit"]);
    const after = (await w.budget()).daily;
    expect(after.reserved_usd).toBe(before.reserved_usd);
    expect(after.spent_usd).toBe(before.spent_usd);
    expect(creates(await requestsOf(fakes.together!, w.togetherKey))).toHaveLength(1);
  }, 120_000);

  it("a 402 at admission leaves the key unclaimed: the same key and body are judged afresh (402 again), never 409 or a replay", async () => {
    const w = await world({ daily_usd: 0.0001, rate_limit: { requests: 100, window_seconds: 60 } });
    const guardId = env.GUARDS.idFromName(w.caller);
    const refused = await w.generate({ prompt: "a fox too dear", backend: "together", size: "512x512" }, { "idempotency-key": "dear" });
    expect(refused.status).toBe(402);
    expect(refused.headers.get("ratelimit")).toMatch(/r=99/);
    expect(callerGuardCalls(guardId)).toEqual(["admit"]);
    const again = await w.generate({ prompt: "a fox too dear", backend: "together", size: "512x512" }, { "idempotency-key": "dear" });
    expect(again.status).toBe(402);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(callerGuardCalls(guardId)).toEqual(["admit", "admit"]);
    expect(creates(await requestsOf(fakes.together!, w.togetherKey))).toHaveLength(0);
  }, 120_000);

  it("a 429 at admission claims and reserves nothing", async () => {
    const w = await world({ daily_usd: 1, rate_limit: { requests: 1, window_seconds: 3600 } });
    expect((await w.generate({ prompt: "a first fox", backend: "together", size: "512x512" })).status).toBe(201);
    const limited = await w.generate({ prompt: "a second fox", backend: "together", size: "512x512" }, { "idempotency-key": "limited" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
    // The key was never claimed: a third request with it is limited again, not "still running" (409) nor replayed.
    const again = await w.generate({ prompt: "a second fox", backend: "together", size: "512x512" }, { "idempotency-key": "limited" });
    expect(again.status).toBe(429);
    expect(creates(await requestsOf(fakes.together!, w.togetherKey))).toHaveLength(1);
    expect((await w.budget()).daily.reserved_usd).toBe(0);
  }, 120_000);
});
