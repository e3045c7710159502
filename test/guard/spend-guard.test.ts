import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AttemptCharge } from "../../src/core/attempt-guard";
import type { Limits } from "../../src/config/guard";
import { BudgetExceededError, RequestLimitError } from "../../src/core/spend-errors";
import { callerGuard, DurableObjectAttemptGuard } from "../../src/guard/spend-guard";
import { errorToResponse } from "../../src/http/errors";
import { silentLogger } from "../../src/lib/log";
import { type Usd, usd } from "../../src/lib/money";

let counter = 0;

function freshCaller(): string {
  return `spender-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
}

function guardFor(limits: Limits, leaseSeconds = 1800) {
  return new DurableObjectAttemptGuard({ namespace: env.GUARDS, limits, leaseSeconds });
}

function charge(caller: string, worstCaseUsd: Usd | null, overrides: Partial<AttemptCharge> = {}): AttemptCharge {
  const attemptId = crypto.randomUUID();
  return {
    requestId: `req-${attemptId}`,
    attemptId,
    caller: { name: caller, role: "user" },
    instance: "flux-schnell-replicate",
    provider: "replicate",
    model: "black-forest-labs/flux-schnell",
    width: 1024,
    height: 1024,
    n: 1,
    worstCaseUsd,
    ...overrides,
  };
}

async function budgetOf(caller: string, limits: { daily?: number; monthly?: number }) {
  const periods = await callerGuard(env.GUARDS, caller).budget(limits);
  return Object.fromEntries(periods.map((p) => [p.period, p]));
}

describe("spend caps: reservations are atomic in the caller's Durable Object", () => {
  for (let round = 1; round <= 10; round++) {
    it(`50 concurrent $0.003 attempts against a $0.05 daily cap: 16 reserved, 34 refused, never over the cap (round ${round})`, async () => {
      const caller = freshCaller();
      const guard = guardFor({ daily_usd: 0.05 });
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => guard.reserve(charge(caller, usd(0.003)))));

      const tickets = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const refusals = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      expect(tickets).toHaveLength(16);
      expect(refusals).toHaveLength(34);
      for (const refusal of refusals) expect(refusal).toBeInstanceOf(BudgetExceededError);

      await Promise.all(tickets.map((t) => t.settle(t.reservedUsd)));
      const { daily } = await budgetOf(caller, { daily: 0.05 });
      expect(daily).toMatchObject({ capUsd: 0.05, spentUsd: 0.048, reservedUsd: 0, remainingUsd: 0.002 });
      expect(daily!.spentUsd).toBeLessThanOrEqual(0.05);
    });
  }

  it("a settled attempt releases the rest of its reservation; settling twice counts once", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0.1, monthly_usd: 1 });
    const ticket = await guard.reserve(charge(caller, usd(0.05)));
    expect(ticket.reservedUsd).toBe(0.05);
    expect((await budgetOf(caller, { daily: 0.1 })).daily).toMatchObject({ spentUsd: 0, reservedUsd: 0.05, remainingUsd: 0.05 });

    await ticket.settle(usd(0.02));
    await ticket.settle(usd(0.02));
    const { daily, monthly } = await budgetOf(caller, { daily: 0.1, monthly: 1 });
    expect(daily).toMatchObject({ spentUsd: 0.02, reservedUsd: 0, remainingUsd: 0.08 });
    expect(monthly).toMatchObject({ spentUsd: 0.02, reservedUsd: 0, remainingUsd: 0.98 });
  });

  it("an allowance block: settlements draw it down, a retirement gives back its unused part, close releases the rest; a block it does not hold answers false", async () => {
    const caller = freshCaller();
    const stub = callerGuard(env.GUARDS, caller);
    const caps = { daily: 1 };
    const block = { attemptId: "blk-1", requestId: "blk-1", instance: "(allowance)", usd: usd(0.003), leaseMs: 60_000, caps };
    expect(await stub.reserveBlock(block, usd(0.25))).toEqual({ ok: true, reservedUsd: 0.25 });

    expect(await stub.settleFromBlock({ blockId: "blk-1", attemptId: "a-1", chargedUsd: usd(0.003), close: false })).toBe(true);
    expect(await stub.settleFromBlock({ blockId: "blk-1", attemptId: "a-1", chargedUsd: usd(0.003), close: false })).toBe(true);
    expect((await budgetOf(caller, caps)).daily).toMatchObject({ spentUsd: 0.003, reservedUsd: 0.247 });

    await stub.retireBlock({ blockId: "blk-1", unusedUsd: usd(0.2), close: false });
    expect((await budgetOf(caller, caps)).daily).toMatchObject({ spentUsd: 0.003, reservedUsd: 0.047 });
    await stub.retireBlock({ blockId: "blk-1", unusedUsd: usd(0), close: true });
    expect((await budgetOf(caller, caps)).daily).toMatchObject({ spentUsd: 0.003, reservedUsd: 0 });

    // The provider charged the attempt whatever became of its block: the charge still counts, once.
    expect(await stub.settleFromBlock({ blockId: "blk-1", attemptId: "a-2", chargedUsd: usd(0.004), close: false })).toBe(false);
    expect(await stub.settleFromBlock({ blockId: "blk-gone", attemptId: "a-2", chargedUsd: usd(0.004), close: true })).toBe(false);
    expect((await budgetOf(caller, caps)).daily).toMatchObject({ spentUsd: 0.007, reservedUsd: 0 });
  });

  it("a failed attempt that cost nothing settles 0: the reservation is released and nothing is spent", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0.01 });
    const ticket = await guard.reserve(charge(caller, usd(0.01)));
    await expect(guard.reserve(charge(caller, usd(0.003)))).rejects.toBeInstanceOf(BudgetExceededError);
    await ticket.settle(usd(0));
    await expect(guard.reserve(charge(caller, usd(0.01)))).resolves.toMatchObject({ reservedUsd: 0.01 });
  });

  it("free attempts (mock, a home box at cost 0) are never blocked by money caps", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0, monthly_usd: 0 });
    const free = await guard.reserve(charge(caller, null, { provider: "mock", model: "mock-png", instance: "mock" }));
    expect(free.reservedUsd).toBe(0);
    await free.settle(usd(0));
    await expect(guard.reserve(charge(caller, usd(0)))).resolves.toMatchObject({ reservedUsd: 0 });
    await expect(guard.reserve(charge(caller, usd(0.003)))).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it("the monthly cap refuses too, naming itself", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 10, monthly_usd: 0.02 });
    await (await guard.reserve(charge(caller, usd(0.015)))).settle(usd(0.015));
    const refusal = await guard.reserve(charge(caller, usd(0.01))).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(BudgetExceededError);
    expect(refusal).toMatchObject({ period: "monthly", capUsd: 0.02, spentUsd: 0.015, reservedUsd: 0, requestedUsd: 0.01 });
  });

  it("per-request limits refuse too many images or megapixels before any reservation, even for free backends", async () => {
    const caller = freshCaller();
    const guard = guardFor({ max_images_per_request: 2, max_megapixels_per_image: 1.1 });
    await expect(guard.reserve(charge(caller, null, { n: 3 }))).rejects.toMatchObject({ field: "n", limit: 2, actual: 3 });
    const tooBig = await guard.reserve(charge(caller, null, { width: 2048, height: 2048 })).catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(RequestLimitError);
    expect(tooBig).toMatchObject({ field: "size", limit: 1.1 });
    await expect(guard.reserve(charge(caller, usd(0.006), { n: 2 }))).resolves.toMatchObject({ reservedUsd: 0.006 });
  });
});

describe("a request that died: its reservation is released by the caller's alarm", () => {
  it("an unsettled reservation holds the budget until its lease runs out, then the alarm releases it", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0.01 }, 1);
    await guard.reserve(charge(caller, usd(0.01))); // the request is killed: never settled
    expect((await budgetOf(caller, { daily: 0.01 })).daily).toMatchObject({ reservedUsd: 0.01, remainingUsd: 0 });
    await expect(guard.reserve(charge(caller, usd(0.003)))).rejects.toBeInstanceOf(BudgetExceededError);

    await new Promise((resolve) => setTimeout(resolve, 1200));
    // The alarm may already have fired on its own; either way it is the alarm that releases.
    await runDurableObjectAlarm(callerGuard(env.GUARDS, caller));

    expect((await budgetOf(caller, { daily: 0.01 })).daily).toMatchObject({ spentUsd: 0, reservedUsd: 0, remainingUsd: 0.01 });
    await expect(guard.reserve(charge(caller, usd(0.01)))).resolves.toMatchObject({ reservedUsd: 0.01 });
  });

  it("a late settle of a released reservation still counts what the provider charged", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 1 }, 1);
    const ticket = await guard.reserve(charge(caller, usd(0.025)));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await runDurableObjectAlarm(callerGuard(env.GUARDS, caller));
    await ticket.settle(usd(0.025));
    expect((await budgetOf(caller, { daily: 1 })).daily).toMatchObject({ spentUsd: 0.025, reservedUsd: 0 });
  });
});

describe("over a cap → 402 problem+json", () => {
  it("names the cap, what was spent and reserved, and when it resets", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0.05 });
    const before = Date.now();
    await (await guard.reserve(charge(caller, usd(0.03)))).settle(usd(0.03));
    await guard.reserve(charge(caller, usd(0.015)));
    const refusal = await guard.reserve(charge(caller, usd(0.025))).catch((e: unknown) => e);

    const response = errorToResponse(refusal, "req-402", silentLogger);
    expect(response.status).toBe(402);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const body = await response.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      type: "urn:imagen-edge:problem:budget-exceeded",
      title: "Spend cap reached",
      status: 402,
      request_id: "req-402",
      cap: "daily",
      cap_usd: 0.05,
      spent_usd: 0.03,
      reserved_usd: 0.015,
      requested_usd: 0.025,
    });
    // The next UTC midnight after the spend.
    const resetsAt = Date.parse(String(body.resets_at));
    expect(body.resets_at).toMatch(/T00:00:00\.000Z$/);
    expect(resetsAt).toBeGreaterThan(before);
    expect(resetsAt - before).toBeLessThanOrEqual(86_400_000);
    expect(body.detail).toContain("daily spend cap of $0.05");
  });
});
