/**
 * `Idempotency-Key` on POST /v1/images through the real app, the real caller Durable Object, the
 * mock backend, R2 and the D1 ledger: a repeated request is answered from the first one's answer.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { allKeys, appWithConfig, postJson, seedKey } from "../helpers/world";

/** Queue delivery is asynchronous: wait (bounded) until the ledger holds at least one row for the caller. */
async function ledgerRowsOf(caller: string) {
  for (let i = 0; i < 100; i++) {
    const { results } = await env.LEDGER.prepare("SELECT request_id FROM imagen_usage WHERE caller = ?").bind(caller).all<{ request_id: string }>();
    if (results.length > 0) return results;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ledger never got a row for ${caller}`);
}

async function objectsOf(caller: string) {
  return (await allKeys()).filter((key) => key.startsWith(`${caller}/`));
}

function world(latencyMs = 0, guard: unknown = {}) {
  const app = appWithConfig(testConfig({ backends: { mock: { type: "mock", model: "mock-png", latency_ms: latencyMs } }, guard }));
  return {
    post: (key: string, body: unknown, headers: Record<string, string>) => app.call("/v1/images", postJson("/v1/images", key, body, headers)),
  };
}

const BODY = { prompt: "a lighthouse at dusk", size: "128x128", seed: 5 };

describe("Idempotency-Key on POST /v1/images", () => {
  it("20 sequential repeats: one generation, one usage row; every repeat replays the first answer", async () => {
    const caller = `idem-seq-${crypto.randomUUID().slice(0, 8)}`;
    const key = await seedKey(caller);
    const w = world();
    const headers = { "idempotency-key": crypto.randomUUID() };

    const first = await w.post(key, BODY, headers);
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const original = await first.text();

    for (let i = 0; i < 20; i++) {
      const again = await w.post(key, BODY, headers);
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.headers.get("content-type")).toContain("application/json");
      expect(await again.text()).toBe(original);
    }

    expect(await objectsOf(caller)).toHaveLength(2); // the image and its sidecar, once
    const rows = await ledgerRowsOf(caller);
    expect(rows).toEqual([{ request_id: JSON.parse(original).request_id }]);
  });

  it("20 concurrent repeats while the first is still generating: they wait for it, one generation, one usage row", async () => {
    const caller = `idem-par-${crypto.randomUUID().slice(0, 8)}`;
    const key = await seedKey(caller);
    const w = world(300);
    const headers = { "idempotency-key": crypto.randomUUID() };

    const answers = await Promise.all(Array.from({ length: 20 }, () => w.post(key, BODY, headers)));

    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    const bodies = await Promise.all(answers.map((a) => a.json<{ request_id: string }>()));
    expect(new Set(bodies.map((b) => b.request_id)).size).toBe(1);
    expect(await objectsOf(caller)).toHaveLength(2);
    expect(await ledgerRowsOf(caller)).toEqual([{ request_id: bodies[0]!.request_id }]);
  });

  it("a repeat that may not wait (idempotency_wait_seconds = 0) while the first runs → 409 with Retry-After, nothing generated twice", async () => {
    const caller = `idem-409-${crypto.randomUUID().slice(0, 8)}`;
    const key = await seedKey(caller);
    const w = world(500, { idempotency_wait_seconds: 0 });
    const headers = { "idempotency-key": crypto.randomUUID() };

    const answers = await Promise.all([w.post(key, BODY, headers), w.post(key, BODY, headers)]);

    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const busy = answers.find((a) => a.status === 409)!;
    expect(busy.headers.get("retry-after")).toBe("10");
    expect(await busy.json()).toMatchObject({ type: "urn:imagen-edge:problem:idempotency-key-in-use" });
    expect(await objectsOf(caller)).toHaveLength(2);
  });

  it("the same key with a different body → 422, nothing generated; the key order of the JSON does not matter", async () => {
    const caller = `idem-422-${crypto.randomUUID().slice(0, 8)}`;
    const key = await seedKey(caller);
    const w = world();
    const headers = { "idempotency-key": `"${crypto.randomUUID()}"` };
    expect((await w.post(key, BODY, headers)).status).toBe(201);

    const reordered = await w.post(key, JSON.stringify({ seed: 5, size: "128x128", prompt: "a lighthouse at dusk" }), headers);
    expect(reordered.status).toBe(201);
    expect(reordered.headers.get("idempotent-replayed")).toBe("true");

    const changed = await w.post(key, { ...BODY, prompt: "a lighthouse at dawn" }, headers);
    expect(changed.status).toBe(422);
    expect(changed.headers.get("content-type")).toBe("application/problem+json");
    expect(await changed.json()).toMatchObject({ type: "urn:imagen-edge:problem:idempotency-key-reused", status: 422 });
    expect(await objectsOf(caller)).toHaveLength(2);
  });

  it("async (Prefer: respond-async): a repeat gets the same job, not a second one", async () => {
    const caller = `idem-async-${crypto.randomUUID().slice(0, 8)}`;
    const key = await seedKey(caller);
    const w = world();
    const headers = { "idempotency-key": crypto.randomUUID(), prefer: "respond-async" };

    const first = await w.post(key, BODY, headers);
    expect(first.status).toBe(202);
    const again = await w.post(key, BODY, headers);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("location")).toBe(first.headers.get("location"));
    expect((await again.json<{ id: string }>()).id).toBe((await first.json<{ id: string }>()).id);

    // The same key without Prefer is another request.
    expect((await w.post(key, BODY, { "idempotency-key": headers["idempotency-key"] })).status).toBe(422);
  });

  it("a failed request frees its key: the corrected retry runs", async () => {
    const caller = `idem-fail-${crypto.randomUUID().slice(0, 8)}`;
    const key = await seedKey(caller);
    const w = world();
    const headers = { "idempotency-key": crypto.randomUUID() };

    const refused = await w.post(key, { ...BODY, style: "no-such-style" }, headers);
    expect(refused.status).toBe(400);
    const repeated = await w.post(key, { ...BODY, style: "no-such-style" }, headers);
    expect(repeated.status).toBe(400);
    expect(repeated.headers.get("idempotent-replayed")).toBeNull();
    expect(await objectsOf(caller)).toEqual([]);

    const corrected = await w.post(key, BODY, headers);
    expect(corrected.status).toBe(201);
    expect(corrected.headers.get("idempotent-replayed")).toBeNull();
    expect(await objectsOf(caller)).toHaveLength(2);
  });

  it("keys belong to their caller: another caller's identical key runs its own request", async () => {
    const [keyA, keyB] = [await seedKey(`idem-a-${crypto.randomUUID().slice(0, 6)}`), await seedKey(`idem-b-${crypto.randomUUID().slice(0, 6)}`)];
    const w = world();
    const headers = { "idempotency-key": crypto.randomUUID() };
    const a = await w.post(keyA, BODY, headers);
    const b = await w.post(keyB, BODY, headers);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
  });

  it("a malformed key → 400 naming the header", async () => {
    const key = await seedKey("idem-bad");
    const res = await world().post(key, BODY, { "idempotency-key": "has spaces in it" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ field: "Idempotency-Key" }] });
  });
});
