/**
 * The production usage sink: events go onto a Cloudflare Queue and reach the ledger from the
 * consumer, so a ledger outage delays rows but loses none. If the queue itself refuses the
 * event, it is written to the ledger directly; if that fails too the error propagates, and the
 * pipeline logs the whole event loudly so it can be replayed (the image is never failed).
 */
import type { Logger } from "../lib/log";
import type { UsageEvent, UsageSink } from "./event";
import type { Ledger } from "./ledger";

export function queueUsageSink(queue: Queue<UsageEvent>, fallback: () => Ledger, log: Logger): UsageSink {
  return {
    async record(event) {
      try {
        await queue.send(event, { contentType: "json" });
      } catch (queueError) {
        log.warn("usage queue refused an event; writing it to the ledger directly", {
          event_id: event.event_id,
          error: queueError instanceof Error ? queueError.message : String(queueError),
        });
        await fallback().recordBatch([event]);
      }
    },
  };
}
