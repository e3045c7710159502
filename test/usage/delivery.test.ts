import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { jsonLogger } from "../../src/lib/log";
import { DEAD_LETTER_PREFIX, consumeDeadLetters, consumeUsageBatch, retryDelaySeconds } from "../../src/usage/consumer";
import { D1Ledger } from "../../src/usage/d1-ledger";
import type { UsageEvent } from "../../src/usage/event";
import type { Ledger } from "../../src/usage/ledger";
import { deferredUsageSink } from "../../src/usage/deferred-sink";
import { queueUsageSink } from "../../src/usage/queue-sink";
import { handleQueue } from "../../src/worker-events";
import { usageEvent } from "./fixtures";

const logs: string[] = [];
const log = jsonLogger({}, (line) => logs.push(line));

function batch(queue: string, bodies: unknown[], attempts = 1) {
  return createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts, body })),
  );
}

const brokenLedger = (message: string): Ledger => ({
  recordBatch: async () => {
    throw new Error(message);
  },
  correct: async () => {
    throw new Error(message);
  },
  report: async () => {
    throw new Error(message);
  },
  raw: async () => {
    throw new Error(message);
  },
  summary: async () => {
    throw new Error(message);
  },
});

async function count(eventIds: string[]): Promise<number> {
  const placeholders = eventIds.map(() => "?").join(",");
  const row = await env.LEDGER.prepare(`SELECT count(*) AS n FROM imagen_usage WHERE event_id IN (${placeholders})`)
    .bind(...eventIds)
    .first<{ n: number }>();
  return row!.n;
}

describe("usage queue consumer", () => {
  it("writes a batch through the Worker's queue handler and acknowledges it; a redelivery adds no row", async () => {
    const events = [usageEvent({ event_id: "q-1" }), usageEvent({ event_id: "q-2", request_id: "r2" })];
    for (let round = 0; round < 2; round++) {
      const messages = batch("imagen-usage", events);
      const ctx = createExecutionContext();
      await handleQueue(messages, env);
      const result = await getQueueResult(messages, ctx);
      expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
      expect(result.retryMessages).toEqual([]);
    }
    expect(await count(["q-1", "q-2"])).toBe(2);
  });

  it("writes an event queued by a Worker that predates the attribution columns, with them null", async () => {
    const {
      client_request_id: _c,
      ref: _r,
      reserved_usd: _u,
      provider_predict_time_s: _t,
      provider_image_count: _i,
      ...old
    } = usageEvent({
      event_id: "q-old",
      caller: "queued/before-attribution",
    });
    const messages = batch("imagen-usage", [old]);
    const ctx = createExecutionContext();
    await handleQueue(messages, env);
    expect((await getQueueResult(messages, ctx)).explicitAcks).toEqual(["m0"]);
    const { rows } = await new D1Ledger(env.LEDGER).raw({ caller: "queued/before-attribution" }, { limit: 1 });
    expect(rows).toEqual([
      { ...old, client_request_id: null, ref: null, reserved_usd: null, provider_predict_time_s: null, provider_image_count: null, id: expect.any(Number) },
    ]);
  });

  it("retries every message with exponential backoff when the ledger is down", async () => {
    const messages = batch("imagen-usage", [usageEvent({ event_id: "q-3" })], 3);
    const retry = vi.spyOn(messages.messages[0]!, "retry");
    const ctx = createExecutionContext();
    await consumeUsageBatch(messages, brokenLedger("connection refused"), env.IMAGES, log);
    const result = await getQueueResult(messages, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m0"]);
    expect(retry).toHaveBeenCalledWith({ delaySeconds: 40 });
    expect([1, 2, 3, 6, 7, 20].map(retryDelaySeconds)).toEqual([10, 20, 40, 300, 300, 300]);
  });

  it("isolates an event the database rejects: the others are written and acknowledged, it alone retries", async () => {
    const rejectsBad: Ledger = {
      ...brokenLedger("unused"),
      recordBatch: async (events) => {
        if (events.some((e) => e.event_id === "bad")) throw new Error("CHECK constraint failed");
        await new D1Ledger(env.LEDGER).recordBatch(events);
      },
    };
    const messages = batch("imagen-usage", [usageEvent({ event_id: "ok-1" }), usageEvent({ event_id: "bad" }), usageEvent({ event_id: "ok-2" })]);
    const ctx = createExecutionContext();
    await consumeUsageBatch(messages, rejectsBad, env.IMAGES, log);
    const result = await getQueueResult(messages, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m2"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m1"]);
    expect(await count(["ok-1", "ok-2", "bad"])).toBe(2);
  });

  it("stops probing one by one during an outage and retries the rest of the batch", async () => {
    let calls = 0;
    const down: Ledger = {
      ...brokenLedger("unused"),
      recordBatch: async () => {
        calls++;
        throw new Error("connection refused");
      },
    };
    const messages = batch(
      "imagen-usage",
      Array.from({ length: 10 }, (_, i) => usageEvent({ event_id: `o-${i}` })),
    );
    const ctx = createExecutionContext();
    await consumeUsageBatch(messages, down, env.IMAGES, log);
    expect(calls).toBe(1 + 3);
    expect((await getQueueResult(messages, ctx)).retryMessages).toHaveLength(10);
  });

  it("keeps a message that is not a usage event in R2 for a human, instead of retrying it forever", async () => {
    const messages = batch("imagen-usage", [{ event_id: "bogus-1", caller: 42 }]);
    const ctx = createExecutionContext();
    await consumeUsageBatch(messages, new D1Ledger(env.LEDGER), env.IMAGES, log);
    expect((await getQueueResult(messages, ctx)).explicitAcks).toEqual(["m0"]);
    const kept = await env.IMAGES.list({ prefix: DEAD_LETTER_PREFIX });
    const letter = kept.objects.find((o) => o.key.endsWith("bogus-1.json"));
    expect(letter).toBeDefined();
    const body = await (await env.IMAGES.get(letter!.key))!.json<any>();
    expect(body.reason).toContain("caller");
    expect(body.body).toEqual({ event_id: "bogus-1", caller: 42 });
  });
});

describe("dead-letter consumer", () => {
  it("records dead letters on a last attempt when the ledger is back", async () => {
    const messages = batch("imagen-usage-dlq", [usageEvent({ event_id: "d-1" })], 9);
    const ctx = createExecutionContext();
    await handleQueue(messages, env);
    expect((await getQueueResult(messages, ctx)).explicitAcks).toEqual(["m0"]);
    expect(await count(["d-1"])).toBe(1);
  });

  it("keeps what still fails in R2 (never dropped) and says so loudly", async () => {
    const messages = batch("imagen-usage-dlq", [usageEvent({ event_id: "d-2" })], 9);
    const ctx = createExecutionContext();
    await consumeDeadLetters(messages, brokenLedger("still down"), env.IMAGES, log);
    expect((await getQueueResult(messages, ctx)).explicitAcks).toEqual(["m0"]);
    const kept = await env.IMAGES.list({ prefix: DEAD_LETTER_PREFIX });
    const letter = kept.objects.find((o) => o.key.endsWith("d-2.json"))!;
    const body = await (await env.IMAGES.get(letter.key))!.json<any>();
    expect(body).toMatchObject({ reason: "ledger write failed after all retries: still down", body: { event_id: "d-2" } });
    expect(logs.some((l) => l.includes("USAGE EVENT DEAD-LETTERED") && l.includes('"level":"error"'))).toBe(true);
  });
});

describe("queue usage sink", () => {
  const event = usageEvent({ event_id: "s-1" });

  it("sends events to the queue", async () => {
    const sent: UsageEvent[] = [];
    const queue = { send: async (body: UsageEvent) => void sent.push(body) } as unknown as Queue<UsageEvent>;
    await queueUsageSink(queue, () => brokenLedger("unused"), log).record(event);
    expect(sent).toEqual([event]);
  });

  it("writes straight to the ledger when the queue refuses", async () => {
    const queue = {
      send: async () => {
        throw new Error("queue unavailable");
      },
    } as unknown as Queue<UsageEvent>;
    await queueUsageSink(queue, () => new D1Ledger(env.LEDGER), log).record(event);
    expect(await count(["s-1"])).toBe(1);
  });

  it("fails loudly when neither queue nor ledger takes the event", async () => {
    const queue = {
      send: async () => {
        throw new Error("queue unavailable");
      },
    } as unknown as Queue<UsageEvent>;
    await expect(queueUsageSink(queue, () => brokenLedger("ledger down"), log).record(event)).rejects.toThrow("ledger down");
  });
});

describe("deferred usage sink", () => {
  it("returns before delivery finishes and hands the delivery to waitUntil", async () => {
    let release!: () => void;
    const delivered: string[] = [];
    const slow = {
      record: (e: UsageEvent) =>
        new Promise<void>(
          (r) =>
            (release = () => {
              delivered.push(e.event_id);
              r();
            }),
        ),
    };
    const pending: Promise<unknown>[] = [];
    await deferredUsageSink(slow, (work) => pending.push(work), log).record(usageEvent({ event_id: "late-1" }));
    expect(delivered).toEqual([]);
    expect(pending).toHaveLength(1);
    release();
    await Promise.all(pending);
    expect(delivered).toEqual(["late-1"]);
  });

  it("logs an event nothing would take, whole and as an error", async () => {
    const pending: Promise<unknown>[] = [];
    const before = logs.length;
    await deferredUsageSink(brokenLedgerSink(), (work) => pending.push(work), log).record(usageEvent({ event_id: "lost-1" }));
    await Promise.all(pending);
    const line = logs.slice(before).find((l) => l.includes("USAGE EVENT NOT RECORDED"));
    expect(JSON.parse(line!)).toMatchObject({ level: "error", event_id: "lost-1", error: "queue and ledger down" });
    expect(JSON.parse(JSON.parse(line!).event)).toMatchObject({ event_id: "lost-1", prompt_hash: expect.any(String) });
  });
});

function brokenLedgerSink() {
  return {
    record: async () => {
      throw new Error("queue and ledger down");
    },
  };
}
