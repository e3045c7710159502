/** Test clocks: time moves only when something sleeps or the test advances it. */
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

/**
 * Virtual time that moves by what is slept, while really waiting a fraction of it so fake
 * servers on real timers get to run (0.01: a 120 s timeout passes in about a second). Records
 * every sleep; a sleep rejects with the signal's reason when it aborts.
 */
export function steppedClock(realFraction = 0.02, start: number | string = "2026-05-08T12:00:00Z"): ManualClock & { readonly sleeps: number[] } {
  let now = typeof start === "number" ? start : Date.parse(start);
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
      if (realFraction > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, ms * realFraction)));
      if (signal?.aborted) throw signal.reason;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
