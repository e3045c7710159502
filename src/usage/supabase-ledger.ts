/**
 * The usage ledger on Supabase (production), through the Data API with
 * supabase-js. Rows go to `mai.imagen_usage` as one upsert that ignores duplicate event ids;
 * reports are SQL functions in supabase/migrations called with `.rpc()`, so aggregation runs in
 * Postgres.
 *
 * HTTP, as supabase-js sends it (test/fakes/postgrest checks each detail):
 *   POST /rest/v1/imagen_usage?on_conflict=event_id&columns=...   Prefer: resolution=ignore-duplicates
 *   POST /rest/v1/rpc/imagen_usage_correct   a correction (only rows of unknown cost change)
 *   POST /rest/v1/rpc/imagen_usage_report | imagen_usage_raw | imagen_usage_summary
 *   with Content-Profile: mai, apikey and Authorization: Bearer <key>.
 *
 * @example
 *   const ledger = new SupabaseLedger(createMaiClient({ url, key }));
 */
import { z } from "zod";
import { dataApiError, type MaiClient } from "../supabase/client";
import type { UsageEvent } from "./event";
import type { Ledger, RawPage, UsageFilter, UsageGroupKey, UsageReport, UsageSummary } from "./ledger";
import {
  checkFilter,
  checkGroupKeys,
  checkPageLimit,
  checkRecentErrorLimit,
  decodeCursor,
  encodeCursor,
  eventForLedger,
  toReconciliation,
  toTotals,
  toUsageRow,
} from "./ledger-rules";

const TABLE = "imagen_usage";

const groupRowSchema = z.looseObject({ group: z.record(z.string(), z.string().nullable()) });
const reportSchema = z.object({ groups: z.array(z.unknown()), totals: z.unknown() });
const summarySchema = z.object({
  totals: z.unknown(),
  by_source: z.array(z.looseObject({ source: z.string().nullable() })),
  by_day: z.array(z.looseObject({ day: z.string() })),
  recent_errors: z.array(z.unknown()),
  reconciliation: z.unknown(),
});
const rawRowsSchema = z.array(z.looseObject({ occurred_at: z.string(), id: z.number() }));

export class SupabaseLedger implements Ledger {
  constructor(private readonly client: MaiClient) {}

  async recordBatch(events: readonly UsageEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { error, status } = await this.client.from(TABLE).upsert(events.map(eventForLedger), { onConflict: "event_id", ignoreDuplicates: true });
    if (error) throw dataApiError("Supabase ledger recordBatch", error, status);
  }

  async correct(events: readonly UsageEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.rpc("correct", "imagen_usage_correct", { p_events: events.map(eventForLedger) });
  }

  async report(filter: UsageFilter, groupBy: readonly UsageGroupKey[]): Promise<UsageReport> {
    checkFilter(filter);
    checkGroupKeys(groupBy);
    const data = reportSchema.parse(await this.rpc("report", "imagen_usage_report", { ...filterArgs(filter), p_group: [...groupBy] }));
    return {
      groups: data.groups.map((row) => {
        const { group } = groupRowSchema.parse(row);
        return { group, ...toTotals(row) };
      }),
      totals: toTotals(data.totals),
    };
  }

  async raw(filter: UsageFilter, page: { readonly limit: number; readonly cursor?: string }): Promise<RawPage> {
    checkFilter(filter);
    checkPageLimit(page.limit);
    const before = page.cursor === undefined ? null : decodeCursor(page.cursor);
    const data = rawRowsSchema.parse(
      await this.rpc("raw", "imagen_usage_raw", {
        ...filterArgs(filter),
        // One row more than asked tells whether an older page exists.
        p_limit: page.limit + 1,
        p_before_occurred_at: before?.occurredAt ?? null,
        p_before_id: before?.id ?? null,
      }),
    );
    const pageRows = data.slice(0, page.limit);
    const last = pageRows[pageRows.length - 1];
    return {
      rows: pageRows.map(toUsageRow),
      // The cursor keeps Postgres' own spelling of the time (microseconds included).
      next_cursor: data.length > page.limit && last ? encodeCursor({ occurredAt: last.occurred_at, id: last.id }) : null,
    };
  }

  async summary(filter: UsageFilter, recentErrorLimit: number): Promise<UsageSummary> {
    checkFilter(filter);
    checkRecentErrorLimit(recentErrorLimit);
    const data = summarySchema.parse(await this.rpc("summary", "imagen_usage_summary", { ...filterArgs(filter), p_recent_errors: recentErrorLimit }));
    return {
      totals: toTotals(data.totals),
      by_source: data.by_source.map((row) => ({ source: row.source, ...toTotals(row) })),
      by_day: data.by_day.map((row) => ({ day: row.day, ...toTotals(row) })),
      recent_errors: data.recent_errors.map(toUsageRow),
      reconciliation: toReconciliation(data.reconciliation),
    };
  }

  private async rpc(operation: string, fn: string, args: Record<string, unknown>): Promise<unknown> {
    const { data, error, status } = await this.client.rpc(fn, args);
    if (error) throw dataApiError(`Supabase ledger ${operation}`, error, status);
    return data;
  }
}

/** Every argument is sent, null when unset, so PostgREST resolves exactly one function signature. */
function filterArgs(filter: UsageFilter) {
  return {
    p_since: filter.since ?? null,
    p_until: filter.until ?? null,
    p_caller: filter.caller ?? null,
    p_ref: filter.ref ?? null,
    p_client_request_id: filter.client_request_id ?? null,
  };
}
