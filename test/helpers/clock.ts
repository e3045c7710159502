/** A clock that only moves when something sleeps or the test advances it. */
import type { Clock } from "../../src/lib/clock";

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function manualClock(start: number | string = "2026-05-08T14:30:15Z"): ManualClock {
  let now = typeof start === "number" ? start : Date.parse(start);
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
