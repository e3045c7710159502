/**
 * A usage sink that writes each event as one structured log line. Used where no ledger is bound
 * (and by tests that only need to see events); events carry only the prompt's hash.
 */
import type { Logger } from "../lib/log";
import type { UsageEvent, UsageSink } from "./event";

export function logUsageSink(log: Logger): UsageSink {
  return {
    async record(event: UsageEvent) {
      log.info("usage event", { event: JSON.stringify(event) });
    },
  };
}

/** Collects events in memory: for tests and the benchmark baseline. */
export function memoryUsageSink(): UsageSink & { readonly events: UsageEvent[] } {
  const events: UsageEvent[] = [];
  return {
    events,
    async record(event) {
      events.push(event);
    },
  };
}
