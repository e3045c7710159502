/**
 * What only the D1 ledger has to get right: large queue batches within D1's per-statement and
 * per-invocation limits, and SQLite-specific rules (STRICT types, foreign keys).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { D1Ledger } from "../../src/usage/d1-ledger";
import { usageEvent } from "./fixtures";
import { migratedLedgerDb } from "./ledger-world";

let db: D1Database;

beforeAll(async () => {
  db = await migratedLedgerDb();
});

describe("D1Ledger", () => {
  it("stores a batch larger than one statement carries (450 events) in one call", async () => {
    const events = Array.from({ length: 450 }, (_, i) =>
      usageEvent({ event_id: `bulk-${i}`, caller: "bulk/test", occurred_at: new Date(Date.UTC(2026, 4, 4, 0, 0, i)).toISOString() }),
    );
    await new D1Ledger(db).recordBatch(events);
    expect((await new D1Ledger(db).report({ caller: "bulk/test" }, [])).totals).toEqual({
      calls: 450,
      succeeded: 450,
      failed: 0,
      images: 450,
      cost_usd: 1.35,
    });
  });

  it("refuses a price id that names no price row (foreign key)", async () => {
    await expect(new D1Ledger(db).recordBatch([usageEvent({ event_id: "fk", price_id: 999_999 })])).rejects.toThrow(/FOREIGN KEY constraint failed/);
  });

  it("refuses a fractional latency instead of storing it as text or rounding it (STRICT table)", async () => {
    await expect(new D1Ledger(db).recordBatch([usageEvent({ event_id: "frac", latency_ms: 12.5 })])).rejects.toThrow(
      /cannot store REAL value in INTEGER column imagen_usage.latency_ms/,
    );
  });

  it("refuses an event whose time is not a time", async () => {
    await expect(new D1Ledger(db).recordBatch([usageEvent({ event_id: "t", occurred_at: "yesterday" })])).rejects.toThrow(/not an ISO 8601 time/);
  });
});
