/**
 * The reuse index in a real caller Durable Object (SQLite storage): answers within the window,
 * forgets expired entries, and keeps only the newest MAX_REUSE_ENTRIES however busy the caller.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { GenerationOutcome } from "../../src/core/pipeline";
import { usd } from "../../src/lib/money";
import { callerGuard } from "../../src/guard/durable-guard";
import { MAX_REUSE_ENTRIES, ReuseIndex } from "../../src/reuse/reuse-index";

function outcome(requestId: string): GenerationOutcome {
  return {
    request_id: requestId,
    backend: "mock",
    model: "mock-png",
    model_version: null,
    seed: 7,
    latency_ms: 3,
    cost_usd_estimate: usd(0),
    images: [{ id: `img-${requestId}`, key: `c/${requestId}.png`, sidecar_key: null, width: 64, height: 64, mime_type: "image/png", bytes: 100 }],
    failed_attempts: [],
  };
}

function inFreshGuard<T>(work: (index: ReuseIndex, sql: SqlStorage) => T): Promise<T> {
  const stub = callerGuard(env.GUARDS, `reuse-index-${crypto.randomUUID().slice(0, 8)}`);
  return runInDurableObject(stub, (_guard, state) => work(new ReuseIndex(state.storage.sql), state.storage.sql));
}

describe("reuse index", () => {
  it("answers an entry until its window ends, then never again", async () => {
    const [during, after] = await inFreshGuard((index) => {
      index.remember("fp", outcome("r1"), 1_000, 60_000);
      return [index.find("fp", 60_999), index.find("fp", 61_000)];
    });
    expect(during?.request_id).toBe("r1");
    expect(after).toBeNull();
  });

  it(`keeps the newest ${MAX_REUSE_ENTRIES} entries when a caller stores more`, async () => {
    const stored = MAX_REUSE_ENTRIES + 44;
    const { rows, oldest, newest, firstKept, lastDropped } = await inFreshGuard((index, sql) => {
      for (let i = 0; i < stored; i++) index.remember(`fp-${i}`, outcome(`r${i}`), 10_000 + i, 3_600_000);
      const now = 10_000 + stored;
      return {
        rows: sql.exec<{ n: number }>("SELECT count(*) AS n FROM reuse_index").one().n,
        oldest: index.find("fp-0", now),
        lastDropped: index.find(`fp-${stored - MAX_REUSE_ENTRIES - 1}`, now),
        firstKept: index.find(`fp-${stored - MAX_REUSE_ENTRIES}`, now),
        newest: index.find(`fp-${stored - 1}`, now),
      };
    });
    expect(rows).toBe(MAX_REUSE_ENTRIES);
    expect(oldest).toBeNull();
    expect(lastDropped).toBeNull();
    expect(firstKept?.request_id).toBe(`r${stored - MAX_REUSE_ENTRIES}`);
    expect(newest?.request_id).toBe(`r${stored - 1}`);
  });

  it("storing the same fingerprint again replaces its answer instead of adding a row", async () => {
    const { rows, found } = await inFreshGuard((index, sql) => {
      index.remember("fp", outcome("first"), 1_000, 60_000);
      index.remember("fp", outcome("second"), 2_000, 60_000);
      return { rows: sql.exec<{ n: number }>("SELECT count(*) AS n FROM reuse_index").one().n, found: index.find("fp", 2_001) };
    });
    expect(rows).toBe(1);
    expect(found?.request_id).toBe("second");
  });
});
