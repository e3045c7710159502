/**
 * The fake Replicate's own clockwork: it sets a timer for each transition of a prediction and reads
 * `Date.now()` when the timer fires. Node's timers run on the monotonic clock, `Date.now()` on the
 * wall clock, and the two drift apart (NTP slewing, millisecond rounding): a timer can fire before
 * `Date.now()` has reached its transition. The fake must still send the `completed` webhook then
 * (a job test once waited 30 s for one that never came).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { start, type RunningFake } from "../fakes/replicate/server";
import { eventually, newToken, setScenario, webhooksOf } from "../fakes/replicate/kit";

let fake: RunningFake;
beforeAll(async () => {
  fake = await start();
});
afterAll(() => fake.close());
afterEach(() => vi.restoreAllMocks());

describe("fake Replicate when its timers fire before the wall clock reaches their time", () => {
  it("sends the completed webhook once the wall clock gets there", async () => {
    const token = newToken();
    await setScenario(fake.url, token, { starting_ms: 10, processing_ms: 300, finalize_ms: 0, webhooks: { retry_delays_ms: [] } });
    const response = await fetch(`${fake.url}/v1/models/black-forest-labs/flux-schnell/predictions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      // Nothing listens on port 9 (discard) on loopback: the attempt is recorded, never retried.
      body: JSON.stringify({ input: { prompt: "a fox", seed: 7 }, webhook: "http://127.0.0.1:9/hook", webhook_events_filter: ["completed"] }),
    });
    expect(response.status).toBe(201);
    // From now on the wall clock runs 50 ms behind the timers, as a slewed clock can.
    const wallClock = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => wallClock() - 50);

    const completed = await eventually(
      async () => {
        const found = (await webhooksOf(fake.url, token)).filter((d) => d.event === "completed");
        return found.length > 0 ? found : undefined;
      },
      { withinMs: 10_000 },
    );
    expect(completed).toHaveLength(1);
  });
});
