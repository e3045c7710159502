/** The retry schedule of job callbacks (the deliveries themselves: test/jobs/callbacks.test.ts). */
import { describe, expect, it } from "vitest";
import { callbackRetryDelayMs } from "../../../src/jobs/callbacks";

describe("callback backoff", () => {
  it("doubles from the base: 10, 20, 40, 80, 160 s", () => {
    expect([1, 2, 3, 4, 5].map((n) => callbackRetryDelayMs(n, 10))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
  });
});
