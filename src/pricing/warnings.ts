/**
 * Warnings an operator should see from the last price refresh, for `GET /v1/pricing` and
 * `/healthz`. A priced line that a source no longer lists (present before, absent now) keeps its
 * last known price, which silently ages: the model may have been renamed or withdrawn.
 */
import { z } from "zod";
import type { RefreshRun } from "./store";

/** The part of a recorded RefreshReport (refresh.ts) this reads; older or foreign reports yield nothing. */
const recordedReport = z.object({
  sources: z.array(z.object({ source: z.string(), not_listed: z.array(z.string()).catch([]) }).catch({ source: "", not_listed: [] })),
});

export function pricingWarnings(lastRun: RefreshRun | null): string[] {
  const parsed = recordedReport.safeParse(lastRun?.report);
  if (!parsed.success) return [];
  return parsed.data.sources
    .filter((s) => s.not_listed.length > 0)
    .map(
      (s) =>
        `pricing: source ${s.source} no longer lists ${s.not_listed.join(", ")} (last refresh ${lastRun?.started_at}); ` +
        "the last known price stays current: check whether the model was renamed or withdrawn",
    );
}
