import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AttemptCharge, AttemptSettlement } from "../../src/core/attempt-guard";
import type { Limits } from "../../src/config/guard";
import { BudgetExceededError, RequestLimitError } from "../../src/core/spend-errors";
import { callerGuard, DurableObjectAttemptGuard } from "../../src/guard/durable-guard";
import { errorToResponse } from "../../src/http/errors";
import { silentLogger } from "../../src/lib/log";
import { type Usd, usd } from "../../src/lib/money";
import { setCallerGuardClock } from "../entry/seamed-caller-guard";

let counter = 0;

function freshCaller(): string {
  return `spender-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
}

function guardFor(limits: Limits) {
  return new DurableObjectAttemptGuard({ namespace: env.GUARDS, limits });
}

/** The caller's object reads this clock; `advance` moves it (no test sleeps for a lapse). */
function clockFor(caller: string, start = Date.parse("2026-12-07T12:00:00Z")) {
  let now = start;
  setCallerGuardClock(env.GUARDS.idFromName(caller), () => now);
  return { now: () => now, advance: (ms: number) => void (now += ms) };
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
    lapseAfterMs: 180_000,
    ...overrides,
  };
}

/** Reserve one attempt; `settle` settles it by its id (as the runner does). */
async function reserve(guard: DurableObjectAttemptGuard, c: AttemptCharge) {
  const reservedUsd = await guard.reserve(c);
  const ref = { requestId: c.requestId, attemptId: c.attemptId, caller: c.caller.name, instance: c.instance, reservedUsd };
  return {
    reservedUsd,
    settle: (usdCharged: Usd) => guard.settle(ref, { kind: "charged", usd: usdCharged }),
    settleWith: (settlement: AttemptSettlement) => guard.settle(ref, settlement),
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
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => reserve(guard, charge(caller, usd(0.003)))));

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
    const ticket = await reserve(guard, charge(caller, usd(0.05)));
    expect(ticket.reservedUsd).toBe(0.05);
    expect((await budgetOf(caller, { daily: 0.1 })).daily).toMatchObject({ spentUsd: 0, reservedUsd: 0.05, remainingUsd: 0.05 });

    await ticket.settle(usd(0.02));
    await ticket.settle(usd(0.02));
    const { daily, monthly } = await budgetOf(caller, { daily: 0.1, monthly: 1 });
    expect(daily).toMatchObject({ spentUsd: 0.02, reservedUsd: 0, remainingUsd: 0.08 });
    expect(monthly).toMatchObject({ spentUsd: 0.02, reservedUsd: 0, remainingUsd: 0.98 });
  });

  it("a failed attempt that cost nothing settles 0: the reservation is released and nothing is spent", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0.01 });
    const ticket = await reserve(guard, charge(caller, usd(0.01)));
    await expect(guard.reserve(charge(caller, usd(0.003)))).rejects.toBeInstanceOf(BudgetExceededError);
    await ticket.settle(usd(0));
    await expect(guard.reserve(charge(caller, usd(0.01)))).resolves.toBe(0.01);
  });

  it("free attempts (mock, a home box at cost 0) are never blocked by money caps", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0, monthly_usd: 0 });
    const free = await reserve(guard, charge(caller, null, { provider: "mock", model: "mock-png", instance: "mock" }));
    expect(free.reservedUsd).toBe(0);
    await free.settle(usd(0));
    await expect(guard.reserve(charge(caller, usd(0)))).resolves.toBe(0);
    await expect(guard.reserve(charge(caller, usd(0.003)))).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it("the monthly cap refuses too, naming itself", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 10, monthly_usd: 0.02 });
    await (await reserve(guard, charge(caller, usd(0.015)))).settle(usd(0.015));
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
    await expect(guard.reserve(charge(caller, usd(0.006), { n: 2 }))).resolves.toBe(0.006);
  });
});

describe("a reservation lapses with its request (injected clock, no sleeps)", () => {
  it("an unsettled reservation holds the budget until exactly its lapse time, then counts for nothing", async () => {
    const caller = freshCaller();
    const clock = clockFor(caller);
    const guard = guardFor({ daily_usd: 0.01 });
    await guard.reserve(charge(caller, usd(0.01), { lapseAfterMs: 90_000 })); // the request is killed: never settled
    expect((await budgetOf(caller, { daily: 0.01 })).daily).toMatchObject({ reservedUsd: 0.01, remainingUsd: 0 });
    const refusal = await guard.reserve(charge(caller, usd(0.003))).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(BudgetExceededError);
    // The 402 says when the money comes back: the reservation's lapse, not the day's reset.
    expect(refusal).toMatchObject({ moneyBackAt: new Date(clock.now() + 90_000).toISOString(), retryAfterS: 90 });

    clock.advance(89_999);
    expect((await budgetOf(caller, { daily: 0.01 })).daily).toMatchObject({ reservedUsd: 0.01 });
    clock.advance(1);
    expect((await budgetOf(caller, { daily: 0.01 })).daily).toMatchObject({ spentUsd: 0, reservedUsd: 0, remainingUsd: 0.01 });
    await expect(guard.reserve(charge(caller, usd(0.01)))).resolves.toBe(0.01);
  });

  it("a late settle of a lapsed reservation still counts what the provider charged, once", async () => {
    const caller = freshCaller();
    const clock = clockFor(caller);
    const guard = guardFor({ daily_usd: 1 });
    const ticket = await reserve(guard, charge(caller, usd(0.025), { lapseAfterMs: 1000 }));
    clock.advance(5000);
    await ticket.settle(usd(0.025));
    await ticket.settle(usd(0.025));
    expect((await budgetOf(caller, { daily: 1 })).daily).toMatchObject({ spentUsd: 0.025, reservedUsd: 0 });
  });

  it("unknown is not zero: an attempt that may have been billed keeps its worst case past any lapse, until a reconciliation settles it", async () => {
    const caller = freshCaller();
    const clock = clockFor(caller);
    const guard = guardFor({ daily_usd: 0.006 });
    const lost = await reserve(guard, charge(caller, usd(0.003), { lapseAfterMs: 1000 }));
    await lost.settleWith({ kind: "unknown", reason: "ambiguous_create", worstCaseUsd: usd(0.003) });
    clock.advance(86_000_000);
    expect((await budgetOf(caller, { daily: 0.006 })).daily).toMatchObject({ spentUsd: 0, reservedUsd: 0.003, remainingUsd: 0.003 });
    expect(await callerGuard(env.GUARDS, caller).unknownAttempts()).toMatchObject([{ worstCaseUsd: 0.003, reason: "ambiguous_create" }]);
    // Reconciled: the provider did bill it.
    await lost.settle(usd(0.003));
    expect((await budgetOf(caller, { daily: 0.006 })).daily).toMatchObject({ spentUsd: 0.003, reservedUsd: 0 });
    expect(await callerGuard(env.GUARDS, caller).unknownAttempts()).toEqual([]);
    // A settled attempt stays settled: a late "unknown" changes nothing.
    await lost.settleWith({ kind: "unknown", reason: "ambiguous_create", worstCaseUsd: usd(0.003) });
    expect((await budgetOf(caller, { daily: 0.006 })).daily).toMatchObject({ spentUsd: 0.003, reservedUsd: 0 });
  });
});

describe("over a cap → 402 problem+json", () => {
  it("names the cap, what was spent and reserved, and when it resets", async () => {
    const caller = freshCaller();
    const guard = guardFor({ daily_usd: 0.05 });
    const before = Date.now();
    await (await reserve(guard, charge(caller, usd(0.03)))).settle(usd(0.03));
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
    // Money comes back when the reservation in flight lapses (its attempt's deadline plus grace).
    expect(Number(response.headers.get("retry-after"))).toBe(body.retry_after);
    expect(body.retry_after).toBeGreaterThan(0);
    expect(body.retry_after).toBeLessThanOrEqual(180);
  });
});
