import { describe, expect, it } from "vitest";
import { ledgerRows } from "../helpers/ledger";
import { bearer, callWorker, postJson, seedKey } from "../helpers/world";

describe("a generation through the real Worker reaches the D1 ledger via the queue", () => {
  it("records one row with caller, source, seed, the prompt's hash and cost, and reports it", async () => {
    const key = await seedKey("reporter");
    const res = await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "ledger me", seed: 31, size: "128x128", source: "script" }));
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({
      caller: "reporter",
      source: "script",
      backend: "mock",
      model: "mock-png",
      seed: 31,
      success: 1,
      images_produced: 1,
      cost_usd_estimate: 0,
    });
    expect(JSON.stringify(row)).not.toContain("ledger me");

    const table = await callWorker("/v1/usage?format=table", { headers: bearer(key) });
    expect(table.status).toBe(200);
    expect(table.headers.get("content-type")).toContain("text/plain");
    const text = await table.text();
    expect(text.split("\n")[0]).toMatch(/^WEEK\s+BACKEND\s+MODEL\s+CALLER\s+CALLS\s+OK\s+FAILED\s+IMAGES\s+COST_USD$/);
    expect(text).toMatch(/mock\s+mock-png\s+reporter\s+1\s+1\s+0\s+1\s+0\.0000/);
    expect(text).toMatch(/^TOTAL\s+1\s+1\s+0\s+1\s+0\.0000$/m);
  });
});
