/**
 * The spend guard on the real HTTP path: POST /v1/images (sync and async) and the OpenAI route
 * reserve in the caller's Durable Object before every attempt, and settle after it.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Limits } from "../../src/config/guard";
import type { AttemptSpendRow } from "../../src/spend/book";
import { callerGuard } from "../../src/guard/durable-guard";
import { eventually } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, bearer, postJson } from "../helpers/world";

const PRICE = 0.003;

const BACKENDS = {
  mock: { type: "mock", model: "mock-png" },
  /** Stands in for Together FLUX schnell: every image is billed. */
  paid: { type: "mock", model: "mock-paid", cost_per_image_usd: PRICE },
  /** Long enough that an identical request arrives while it still generates. */
  "paid-slow": { type: "mock", model: "mock-paid-slow", cost_per_image_usd: PRICE, latency_ms: 1500 },
  "paid-slow-fails": { type: "mock", model: "mock-paid-slow-fails", cost_per_image_usd: PRICE, latency_ms: 1500, failure_rate: 1, failure_kind: "failed" },
  pricey: { type: "mock", model: "mock-pricey", cost_per_image_usd: 0.01 },
  "paid-down": { type: "mock", model: "mock-paid-down", cost_per_image_usd: PRICE, failure_rate: 1, failure_kind: "unavailable", fallback: ["pricey"] },
  "paid-fails": { type: "mock", model: "mock-paid-fails", cost_per_image_usd: PRICE, failure_rate: 1, failure_kind: "failed" },
  "paid-refuses": { type: "mock", model: "mock-paid-refuses", cost_per_image_usd: PRICE, failure_rate: 1, failure_kind: "invalid_request" },
};

function freshCaller(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The app with `caller` capped as given, and a key for it. */
async function worldFor(caller: string, limits: Limits, keyLimits?: Limits, guard: Record<string, unknown> = {}) {
  const app = appWithConfig(testConfig({ backends: BACKENDS, guard: { ...guard, callers: { [caller]: limits } } }));
  const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date(), keyLimits);
  return {
    app,
    generate: (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      app.call("/v1/images", postJson("/v1/images", key, { size: "256x256", ...body }, headers)),
    budget: async () => (await app.call("/v1/budget", { headers: bearer(key) })).json<any>(),
    job: async (id: string) => (await app.call(`/v1/jobs/${id}`, { headers: bearer(key) })).json<any>(),
  };
}

describe("POST /v1/images reserves before every paid attempt", () => {
  for (let round = 1; round <= 10; round++) {
    it(`50 concurrent $${PRICE} requests against a $0.05 daily cap: 16 generated, 34 answered 402, spend never over the cap (round ${round})`, async () => {
      const world = await worldFor(freshCaller("burst"), { daily_usd: 0.05 });
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => world.generate({ prompt: `fox ${i}`, backend: "paid" })));

      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(16);
      expect(statuses.filter((s) => s === 402)).toHaveLength(34);
      for (const refused of answers.filter((a) => a.status === 402)) {
        const problem = await refused.json<any>();
        expect(problem).toMatchObject({ type: "urn:imagen-edge:problem:budget-exceeded", cap: "daily", cap_usd: 0.05, requested_usd: PRICE });
        expect(problem.spent_usd + problem.reserved_usd + PRICE).toBeGreaterThan(0.05);
        expect(Date.parse(problem.resets_at)).toBeGreaterThan(Date.now());
      }
      const { daily } = await world.budget();
      expect(daily).toMatchObject({ cap_usd: 0.05, spent_usd: 0.048, reserved_usd: 0 });
    });
  }

  it("free backends are never refused, even with a cap of $0", async () => {
    const world = await worldFor(freshCaller("free"), { daily_usd: 0 });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => world.generate({ prompt: `free fox ${i}`, backend: "mock" })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect((await world.budget()).daily).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });

  it("a fallback attempt reserves again: the first attempt's failure frees its money, the fallback's price does not fit", async () => {
    const world = await worldFor(freshCaller("fallback"), { daily_usd: 0.005 });
    const res = await world.generate({ prompt: "a fox", backend: "paid-down" });
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ cap_usd: 0.005, spent_usd: 0, reserved_usd: 0, requested_usd: 0.01 });
    expect((await world.budget()).daily).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });

  it("the API key's own cap wins over the caller's", async () => {
    const world = await worldFor(freshCaller("keycap"), { daily_usd: 10 }, { daily_usd: 0.002 });
    const res = await world.generate({ prompt: "a fox", backend: "paid" });
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ cap_usd: 0.002 });
  });

  it("more images than the key allows: 400 naming n before any attempt, nothing spent", async () => {
    const world = await worldFor(freshCaller("many"), { daily_usd: 1 }, { max_images_per_request: 1 });
    const res = await world.generate({ prompt: "a fox", backend: "paid", n: 2 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ field: "n" }], limit: 1 });
    expect((await world.budget()).daily).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });
});

/** The caller's spend book, one row per paid attempt (src/spend/book.ts). */
function spendRowsOf(caller: string): Promise<AttemptSpendRow[]> {
  return runInDurableObject(callerGuard(env.GUARDS, caller), (_guard, state) =>
    state.storage.sql.exec<AttemptSpendRow>("SELECT * FROM spend_attempts").toArray(),
  );
}

describe("sync requests reserve per attempt, under its id, in the caller's object", () => {
  it("ten sequential paid requests: ten reservations by attempt id, each settled at what it cost; nothing left held", async () => {
    const caller = freshCaller("per-attempt");
    const world = await worldFor(caller, { daily_usd: 1 });
    const requestIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await world.generate({ prompt: `fox ${i}`, backend: "paid" });
      expect(res.status).toBe(201);
      requestIds.push((await res.json<any>()).request_id);
    }
    // Settlements finish after the answers (waitUntil): poll for them.
    await eventually(async () => ((await spendRowsOf(caller)).every((r) => r.state === "settled") ? true : undefined));
    const rows = await spendRowsOf(caller);
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row).toMatchObject({ instance: "paid", state: "settled", held_units: 30, charged_units: 30 });
    expect((await world.budget()).daily).toMatchObject({ spent_usd: 10 * PRICE, reserved_usd: 0 });
    for (const id of requestIds) {
      const [row] = await ledgerRows(id, 1);
      expect(row).toMatchObject({ reserved_usd: PRICE, cost_usd_estimate: PRICE });
      expect(rows.map((r) => r.attempt_id)).toContain(row!.event_id);
    }
  });

  it("two isolates (two apps) share one $0.05 cap: 50 concurrent requests between them never spend past it", async () => {
    const caller = freshCaller("isolates");
    const [one, two] = [await worldFor(caller, { daily_usd: 0.05 }), await worldFor(caller, { daily_usd: 0.05 })];
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).generate({ prompt: `fox ${i}`, backend: "paid" })));
    const generated = answers.filter((a) => a.status === 201).length;
    expect(answers.filter((a) => a.status !== 201).map((a) => a.status)).toEqual(Array(50 - generated).fill(402));
    expect(generated).toBe(16);
    await eventually(async () => ((await two.budget()).daily.reserved_usd === 0 ? true : undefined));
    const { daily } = await one.budget();
    expect(daily.spent_usd).toBeCloseTo(generated * PRICE, 10);
  });

  it("a paid attempt in flight holds its worst case; a request that fits beside it runs, one that does not gets 402 with Retry-After", async () => {
    const caller = freshCaller("in-flight");
    const world = await worldFor(caller, { daily_usd: 0.005 });
    const slow = world.generate({ prompt: "slow fox", backend: "paid-slow" });
    await eventually(async () => ((await spendRowsOf(caller)).length > 0 ? true : undefined));
    expect(await spendRowsOf(caller)).toMatchObject([{ instance: "paid-slow", state: "reserved", held_units: 30 }]);
    const refused = await world.generate({ prompt: "fox", backend: "paid" });
    expect(refused.status).toBe(402);
    const problem = await refused.json<any>();
    expect(Number(refused.headers.get("retry-after"))).toBe(problem.retry_after);
    expect(problem.money_back_at < problem.resets_at).toBe(true);
    expect((await slow).status).toBe(201);
  });
});

describe("async jobs reserve under the submitting key's caps", () => {
  it("a job over the cap fails with the 402 problem the sync path answers; nothing spent", async () => {
    const world = await worldFor(freshCaller("job"), { daily_usd: 0.002 });
    const accepted = await world.generate({ prompt: "a fox", backend: "paid" }, { prefer: "respond-async" });
    expect(accepted.status).toBe(202);
    const { id } = await accepted.json<any>();
    const failed = await eventually(async () => {
      const job = await world.job(id);
      return job.status === "failed" ? job : undefined;
    });
    expect(failed.error).toMatchObject({ type: "urn:imagen-edge:problem:budget-exceeded", status: 402 });
    expect((await world.budget()).daily).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });

  it("a job within the cap spends what the provider billed", async () => {
    const world = await worldFor(freshCaller("job-ok"), { daily_usd: 1 });
    const accepted = await world.generate({ prompt: "a fox", backend: "paid" }, { prefer: "respond-async" });
    const { id } = await accepted.json<any>();
    await eventually(async () => ((await world.job(id)).status === "succeeded" ? true : undefined));
    expect((await world.budget()).daily).toMatchObject({ spent_usd: PRICE, reserved_usd: 0 });
  });

  it("more images than the key allows: 400 at once, no job accepted", async () => {
    const world = await worldFor(freshCaller("job-many"), {}, { max_images_per_request: 1 });
    const res = await world.generate({ prompt: "a fox", backend: "paid", n: 2 }, { prefer: "respond-async" });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
  });
});

describe("the ledger row says what the guard reserved for each attempt", () => {
  it("a paid attempt records its worst case as reserved_usd; a free one records 0", async () => {
    const world = await worldFor(freshCaller("reserved-row"), { daily_usd: 1 });
    const paid = await (await world.generate({ prompt: "a fox", backend: "paid", n: 2 })).json<any>();
    const free = await (await world.generate({ prompt: "a fox", backend: "mock" })).json<any>();
    const [paidRow] = await ledgerRows(paid.request_id, 1);
    const [freeRow] = await ledgerRows(free.request_id, 1);
    expect(paidRow).toMatchObject({ success: 1, cost_usd_estimate: 2 * PRICE, reserved_usd: 2 * PRICE, provider_image_count: null });
    expect(freeRow).toMatchObject({ success: 1, reserved_usd: 0 });
  });

  it("a fallback's rows: the failed attempt and the one that succeeded each carry their own reservation", async () => {
    const world = await worldFor(freshCaller("reserved-fallback"), { daily_usd: 1 });
    const res = await world.generate({ prompt: "a fox", backend: "paid-down" });
    expect(res.status).toBe(201);
    const rows = await ledgerRows((await res.json<any>()).request_id, 2);
    expect(rows.map((r: any) => [r.attempt, r.success, r.reserved_usd])).toEqual([
      [1, 0, PRICE],
      [2, 1, 0.01],
    ]);
  });
});

describe("x-should-retry: false once an attempt may have cost money", () => {
  it("a one-shot call the provider answered with a failure made no images and cost nothing: 5xx without x-should-retry: false", async () => {
    const world = await worldFor(freshCaller("retry"), { daily_usd: 1 });
    const res = await world.generate({ prompt: "a fox", backend: "paid-fails" });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.headers.get("x-should-retry")).toBeNull();
    expect((await res.json<any>()).attempts).toMatchObject([{ kind: "failed", cost_exposure: "none" }]);
  });

  it("nothing billable happened (the provider refused the input): no such header", async () => {
    const world = await worldFor(freshCaller("retry-ok"), { daily_usd: 1 });
    const res = await world.generate({ prompt: "a fox", backend: "paid-refuses" });
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("x-should-retry")).toBeNull();
  });
});

describe("reuse: an identical seeded request within the window pays once", () => {
  const seeded = { prompt: "a fox in the snow", backend: "paid", seed: 42 };

  it("the second identical request gets the first one's images at cost 0, marked in the answer and the ledger", async () => {
    const world = await worldFor(freshCaller("reuse"), { daily_usd: 1 });
    const first = await (await world.generate(seeded)).json<any>();
    const again = await world.generate(seeded);

    expect(again.status).toBe(201);
    expect(again.headers.get("imagen-reused-from")).toBe(first.request_id);
    const body = await again.json<any>();
    expect(body).toMatchObject({ reused_from: first.request_id, cost_usd_estimate: 0, seed: 42 });
    expect(body.request_id).not.toBe(first.request_id);
    expect(body.images.map((i: any) => i.key)).toEqual(first.images.map((i: any) => i.key));
    expect((await world.budget()).daily).toMatchObject({ spent_usd: PRICE });
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ backend_type: "reuse", cost_usd_estimate: 0, error_code: null, external_id: first.request_id });
  });

  it("another seed, another size or no seed at all: generated and paid anew", async () => {
    const world = await worldFor(freshCaller("reuse-miss"), { daily_usd: 1 });
    await world.generate(seeded);
    const answers = [
      await world.generate({ ...seeded, seed: 43 }),
      await world.generate({ ...seeded, size: "512x512" }),
      await world.generate({ prompt: seeded.prompt, backend: "paid" }),
      await world.generate({ prompt: seeded.prompt, backend: "paid" }),
    ];
    for (const answer of answers) {
      expect(answer.headers.get("imagen-reused-from")).toBeNull();
      expect((await answer.json<any>()).reused_from).toBeUndefined();
    }
    expect((await world.budget()).daily.spent_usd).toBeCloseTo(5 * PRICE, 10);
  });

  it("an identical request that arrives while the first still generates waits for it: one generation, one charge", async () => {
    const world = await worldFor(freshCaller("reuse-inflight"), { daily_usd: 1 });
    const slow = { ...seeded, backend: "paid-slow" };
    const first = world.generate(slow);
    // The second is sent once the first holds the fingerprint (its attempt has reserved).
    await eventually(async () => ((await world.budget()).daily.reserved_usd > 0 ? true : undefined));
    const [a, b] = await Promise.all([first, world.generate(slow)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const [paid, reused] = [await a.json<any>(), await b.json<any>()];
    expect(paid.reused_from).toBeUndefined();
    expect(reused.reused_from).toBe(paid.request_id);
    expect(reused.images.map((i: any) => i.key)).toEqual(paid.images.map((i: any) => i.key));
    expect((await world.budget()).daily).toMatchObject({ spent_usd: PRICE, reserved_usd: 0 });
  });

  it("when the first generation fails, the identical request that waited for it generates itself", async () => {
    const world = await worldFor(freshCaller("reuse-inflight-fails"), { daily_usd: 1 });
    const failing = { ...seeded, backend: "paid-slow-fails" };
    const first = world.generate(failing);
    await eventually(async () => ((await world.budget()).daily.reserved_usd > 0 ? true : undefined));
    const second = world.generate(failing);
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([502, 502]);
    // Two attempts were made (one each); the second did not get a reused answer of a failure.
    expect((await b.json<any>()).reused_from).toBeUndefined();
  });

  it("a stored answer whose images are gone from the bucket is not handed out: generated and paid anew", async () => {
    const world = await worldFor(freshCaller("reuse-gone"), { daily_usd: 1 });
    const first = await (await world.generate(seeded)).json<any>();
    await env.IMAGES.delete(first.images.map((i: any) => i.key));
    const again = await world.generate(seeded);
    expect(again.status).toBe(201);
    expect(again.headers.get("imagen-reused-from")).toBeNull();
    const body = await again.json<any>();
    expect(body.reused_from).toBeUndefined();
    expect(await env.IMAGES.head(body.images[0].key)).not.toBeNull();
    expect((await world.budget()).daily.spent_usd).toBeCloseTo(2 * PRICE, 10);
    // …and the fresh answer is what the next identical request reuses.
    expect((await world.generate(seeded)).headers.get("imagen-reused-from")).toBe(body.request_id);
  });

  it("Cache-Control: no-cache generates anew and pays", async () => {
    const world = await worldFor(freshCaller("reuse-nocache"), { daily_usd: 1 });
    await world.generate(seeded);
    const fresh = await world.generate(seeded, { "cache-control": "no-cache" });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("imagen-reused-from")).toBeNull();
    expect((await fresh.json<any>()).reused_from).toBeUndefined();
    expect((await world.budget()).daily.spent_usd).toBeCloseTo(2 * PRICE, 10);
  });
});
