/**
 * Usage delivery off the caller's critical path: `record` hands the real delivery to the
 * runtime's `waitUntil` and returns at once, so queueing an event never adds latency to a
 * generation. Delivery keeps its own fallbacks (queue → direct ledger write); an event that
 * still cannot be delivered is logged whole, as an error, so it can be replayed.
 */
import type { Logger } from "../lib/log";
import type { UsageEvent, UsageSink } from "./event";

export function deferredUsageSink(inner: UsageSink, waitUntil: (work: Promise<unknown>) => void, log: Logger): UsageSink {
  return {
    async record(event) {
      waitUntil(inner.record(event).catch((error: unknown) => logLostUsageEvent(log, event, error)));
    },
  };
}

/** The last resort for an event nothing would take: the whole event, loudly, for replay. */
export function logLostUsageEvent(log: Logger, event: UsageEvent, error: unknown): void {
  log.error("USAGE EVENT NOT RECORDED", {
    event_id: event.event_id,
    request_id: event.request_id,
    event: JSON.stringify(event),
    error: error instanceof Error ? error.message : String(error),
  });
}
