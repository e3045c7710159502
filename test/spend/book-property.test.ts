/**
 * The spend book (src/spend/book.ts) — the very SQL-backed book the caller's Durable Object uses,
 * in a fresh object's storage per run — under random interleavings of reserve, settle, release,
 * a repeated settle, time passing (lapses), an ambiguous end and its reconciliation. After every
 * step:
 *   - reserved + spent never exceeds the cap;
 *   - a repeated settle changes nothing;
 *   - a reservation frees its money at exactly its lapse time on the (injected) clock: one
 *     millisecond before it still counts, at it no longer;
 *   - an ambiguous attempt keeps its worst case, whatever time passes, until reconciled.
 * What the test tracks is only which attempts exist and in what state (to pick the next step);
 * every number asserted is read from the book.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpendBook } from "../../src/spend/book";
import { callerGuard } from "../../src/guard/durable-guard";

const CAP = 100;
const START = Date.parse("2026-12-07T12:00:00Z");

type Op =
  | { readonly kind: "reserve"; readonly units: number; readonly lapseAfterMs: number }
  | { readonly kind: "settle"; readonly pick: number; readonly share: number }
  | { readonly kind: "release"; readonly pick: number }
  | { readonly kind: "settleAgain"; readonly pick: number; readonly share: number }
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "ambiguous"; readonly pick: number }
  | { readonly kind: "reconcile"; readonly pick: number; readonly share: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("reserve" as const), units: fc.integer({ min: 1, max: 40 }), lapseAfterMs: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("settleAgain" as const), pick: fc.nat(), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant("ambiguous" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("reconcile" as const), pick: fc.nat(), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

interface Tracked {
  readonly id: string;
  readonly units: number;
  readonly lapsesAt: number;
  state: "reserved" | "unknown" | "settled";
}

function runOps(book: SpendBook, ops: readonly Op[]): void {
  let now = START;
  let next = 0;
  const attempts: Tracked[] = [];
  const daily = () => book.periods({ daily: CAP }, now)[0]!;
  const pickFrom = (pool: Tracked[], pick: number) => (pool.length === 0 ? undefined : pool[pick % pool.length]);
  // An attempt ends before its reservation lapses (the lapse is its deadline plus a grace); one
  // whose reservation lapsed can only be released (its request died).
  const live = () => attempts.filter((a) => a.state === "reserved" && a.lapsesAt > now);

  for (const step of ops) {
    switch (step.kind) {
      case "reserve": {
        const before = daily();
        const id = `a${next++}`;
        const outcome = book.reserve(
          { attemptId: id, requestId: `r-${id}`, instance: "paid", units: step.units, lapsesAt: now + step.lapseAfterMs },
          { daily: CAP },
          now,
        );
        const fits = before.spentUnits + before.heldUnits + step.units <= CAP;
        expect(outcome.ok).toBe(fits);
        if (outcome.ok) attempts.push({ id, units: step.units, lapsesAt: now + step.lapseAfterMs, state: "reserved" });
        else expect(daily()).toEqual(before);
        break;
      }
      case "settle":
      case "release": {
        const target =
          step.kind === "settle"
            ? pickFrom(live(), step.pick)
            : pickFrom(
                attempts.filter((a) => a.state === "reserved"),
                step.pick,
              );
        if (!target) break;
        const charged = step.kind === "settle" ? Math.floor(target.units * step.share) : 0;
        const before = daily();
        expect(book.settle(target.id, charged, now)).toBe(true);
        target.state = "settled";
        const after = daily();
        expect(after.spentUnits).toBe(before.spentUnits + charged);
        expect(after.heldUnits).toBe(before.heldUnits - (target.lapsesAt > now ? target.units : 0));
        break;
      }
      case "settleAgain": {
        const target = pickFrom(
          attempts.filter((a) => a.state === "settled"),
          step.pick,
        );
        if (!target) break;
        const before = daily();
        expect(book.settle(target.id, Math.floor(target.units * step.share), now)).toBe(false);
        expect(daily()).toEqual(before);
        break;
      }
      case "advance": {
        const from = now;
        now += step.ms;
        // Exactly at its lapse, not a millisecond earlier or later.
        for (const a of attempts.filter((t) => t.state === "reserved" && t.lapsesAt > from && t.lapsesAt <= now)) {
          const justBefore = book.periods({ daily: CAP }, a.lapsesAt - 1)[0]!.heldUnits;
          const atLapse = book.periods({ daily: CAP }, a.lapsesAt)[0]!.heldUnits;
          const lapsingTogether = attempts.filter((t) => t.state === "reserved" && t.lapsesAt === a.lapsesAt).reduce((sum, t) => sum + t.units, 0);
          expect(justBefore - atLapse).toBe(lapsingTogether);
        }
        break;
      }
      case "ambiguous": {
        const target = pickFrom(live(), step.pick);
        if (!target) break;
        const before = daily();
        book.holdUnknown({ attemptId: target.id, requestId: `r-${target.id}`, instance: "paid", units: target.units }, "ambiguous_create", now);
        target.state = "unknown";
        expect(daily()).toMatchObject({ spentUnits: before.spentUnits, heldUnits: before.heldUnits });
        break;
      }
      case "reconcile": {
        const target = pickFrom(
          attempts.filter((a) => a.state === "unknown"),
          step.pick,
        );
        if (!target) break;
        const charged = Math.floor(target.units * step.share);
        const before = daily();
        expect(book.settle(target.id, charged, now)).toBe(true);
        target.state = "settled";
        expect(daily()).toMatchObject({ spentUnits: before.spentUnits + charged, heldUnits: before.heldUnits - target.units });
        break;
      }
    }
    const state = daily();
    expect(state.spentUnits + state.heldUnits).toBeLessThanOrEqual(CAP);
    // Held = live reservations + unknown attempts at their worst case, whatever time has passed.
    const expectedHeld = attempts.filter((a) => a.state === "unknown" || (a.state === "reserved" && a.lapsesAt > now)).reduce((sum, a) => sum + a.units, 0);
    expect(state.heldUnits).toBe(expectedHeld);
    expect(
      book
        .unknown()
        .map((r) => r.attempt_id)
        .sort(),
    ).toEqual(
      attempts
        .filter((a) => a.state === "unknown")
        .map((a) => a.id)
        .sort(),
    );
  }
}

describe("the spend book under random interleavings (property)", () => {
  it("never over the cap, settles once, lapses exactly on time, keeps unknown at its worst case", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const stub = callerGuard(env.GUARDS, `book-property-${crypto.randomUUID()}`);
        await runInDurableObject(stub, (_object, state) => runOps(new SpendBook(state.storage.sql), ops));
      }),
      { numRuns: 150 },
    );
  });
});
