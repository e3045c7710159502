/**
 * The shared HTTP retry policy, driven with scripted responses and a recording clock.
 */
import { describe, expect, it } from "vitest";
import { fetchWithRetry, retryAfterMs } from "../../../src/backends/http-retry";
import { steppedClock } from "../../helpers/clock";

/** Answers in order, then 200s; counts calls. */
function script(...answers: Array<Response | Error>) {
  const calls = { count: 0 };
  const send = async () => {
    const next = answers[calls.count++];
    if (next instanceof Error) throw next;
    return next ?? new Response("ok");
  };
  return { send, calls };
}

const status = (code: number, init: ResponseInit & { body?: string } = {}) => new Response(init.body ?? null, { ...init, status: code });

describe("fetchWithRetry", () => {
  it("hands back the first success untouched", async () => {
    const clock = steppedClock(0, 1_000_000);
    const { send, calls } = script(new Response("hello"));
    expect(await (await fetchWithRetry(send, { clock })).text()).toBe("hello");
    expect(calls.count).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("honours an HTTP-date Retry-After", async () => {
    const clock = steppedClock(0, Date.parse("2026-05-08T12:00:00Z"));
    const { send } = script(status(429, { headers: { "Retry-After": "Fri, 08 May 2026 12:00:04 GMT" } }));
    await fetchWithRetry(send, { clock });
    expect(clock.sleeps).toEqual([4000]);
  });

  it("prefers the Retry-After header over a retry_after body", async () => {
    const clock = steppedClock(0, 1_000_000);
    const { send } = script(status(429, { headers: { "Retry-After": "2" }, body: JSON.stringify({ retry_after: 9 }) }));
    await fetchWithRetry(send, { clock });
    expect(clock.sleeps).toEqual([2000]);
  });

  it("hands back the 429 instead of waiting past the deadline", async () => {
    const clock = steppedClock(0, 1_000_000);
    const { send, calls } = script(status(429, { body: JSON.stringify({ retry_after: 30 }) }));
    const response = await fetchWithRetry(send, { clock, deadline: clock.now() + 10_000 });
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ retry_after: 30 }); // body still readable
    expect(calls.count).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("neither a 5xx nor a network failure is retried past the deadline", async () => {
    const clock = steppedClock(0, 1_000_000);
    const failing = script(status(503));
    expect((await fetchWithRetry(failing.send, { clock, deadline: clock.now() + 100 })).status).toBe(503);
    expect(failing.calls.count).toBe(1);
    const dropped = script(new TypeError("Network connection lost."));
    await expect(fetchWithRetry(dropped.send, { clock, deadline: clock.now() + 100 })).rejects.toThrow("Network connection lost.");
    expect(dropped.calls.count).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("retries a 5xx once, then hands back the second 5xx", async () => {
    const clock = steppedClock(0, 1_000_000);
    const { send, calls } = script(status(500), status(503));
    expect((await fetchWithRetry(send, { clock })).status).toBe(503);
    expect(calls.count).toBe(2);
    expect(clock.sleeps).toEqual([500]);
  });

  it("does not retry a 4xx other than 429", async () => {
    const { send, calls } = script(status(404));
    expect((await fetchWithRetry(send, { clock: steppedClock(0, 1_000_000) })).status).toBe(404);
    expect(calls.count).toBe(1);
  });

  it("rethrows a network error that happens again after its retry", async () => {
    const { send, calls } = script(new TypeError("connection reset"), new TypeError("connection reset again"));
    await expect(fetchWithRetry(send, { clock: steppedClock(0, 1_000_000) })).rejects.toThrow("connection reset again");
    expect(calls.count).toBe(2);
  });

  it("does not retry once the caller aborted", async () => {
    const controller = new AbortController();
    const { send, calls } = script(new DOMException("aborted", "AbortError"));
    controller.abort();
    await expect(fetchWithRetry(send, { clock: steppedClock(0, 1_000_000), signal: controller.signal })).rejects.toThrow();
    expect(calls.count).toBe(1);
  });

  it("tells onRetry about each retry", async () => {
    const events: unknown[] = [];
    const { send } = script(status(429, { body: JSON.stringify({ retry_after: 1 }) }), status(500));
    await fetchWithRetry(send, { clock: steppedClock(0, 1_000_000), onRetry: (e) => events.push(e) });
    expect(events).toEqual([
      { reason: "rate_limited", retry: 1, delayMs: 1000, status: 429 },
      { reason: "server_error", retry: 1, delayMs: 500, status: 500 },
    ]);
  });
});

describe("fetchWithRetry for a request that must not run twice (repeatable: false)", () => {
  it("still waits out a 429 and tries again: the provider refused the work", async () => {
    const clock = steppedClock(0, 1_000_000);
    const { send, calls } = script(status(429, { headers: { "Retry-After": "3" } }), new Response("made"));
    expect(await (await fetchWithRetry(send, { clock, repeatable: false })).text()).toBe("made");
    expect(calls.count).toBe(2);
    expect(clock.sleeps).toEqual([3000]);
  });

  it("hands back a 5xx at once: the work may have been accepted", async () => {
    const clock = steppedClock(0, 1_000_000);
    const { send, calls } = script(status(502));
    expect((await fetchWithRetry(send, { clock, repeatable: false, transientRetries: 3 })).status).toBe(502);
    expect(calls.count).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("rethrows a network error at once: a dropped answer looks like a refused connection", async () => {
    const { send, calls } = script(new TypeError("Network connection lost."));
    await expect(fetchWithRetry(send, { clock: steppedClock(0, 1_000_000), repeatable: false })).rejects.toThrow("Network connection lost.");
    expect(calls.count).toBe(1);
  });
});

describe("retryAfterMs", () => {
  it("is null when the server gives no hint", async () => {
    expect(await retryAfterMs(status(429, { body: "throttled" }), 0)).toBeNull();
  });
});
