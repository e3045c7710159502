/**
 * The usage ledger on Cloudflare D1: the embedded default, so `wrangler dev` and the tests need
 * no account. Tables come from migrations/d1; aggregation runs in SQLite
 * (GROUP BY, the ISO week's Monday computed in SQL), never in a loop here.
 *
 * @example
 *   const ledger = new D1Ledger(env.LEDGER);
 *   await ledger.recordBatch(events);                      // idempotent by event_id
 *   const report = await ledger.report({ since: "2026-05-01" }, ["week", "backend"]);
 */
import type { UsageEvent } from "./event";
import type { Ledger, RawPage, UsageFilter, UsageGroupKey, UsageReport, UsageSummary, UsageTotals } from "./ledger";
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
  USAGE_EVENT_COLUMNS,
  USAGE_GROUP_KEYS,
} from "./ledger-rules";

/** SQL for each group key. Week: step forward to Sunday ('weekday 0', same day if Sunday), back 6 days. */
const GROUP_SQL: Record<UsageGroupKey, string> = {
  week: "date(occurred_at, 'weekday 0', '-6 days')",
  day: "substr(occurred_at, 1, 10)",
  backend: "backend",
  model: "model",
  caller: "caller",
  source: "source",
  ref: "ref",
};

const TOTALS_SQL = `count(*) AS calls,
  coalesce(sum(success), 0) AS succeeded,
  count(*) - coalesce(sum(success), 0) AS failed,
  coalesce(sum(images_produced), 0) AS images,
  round(coalesce(sum(cost_usd_estimate), 0), 4) AS cost_usd`;

/** Estimates beside reservations and provider-reported figures (UsageReconciliation). */
const RECONCILIATION_SQL = `round(coalesce(sum(cost_usd_estimate), 0), 4) AS estimated_usd,
  round(coalesce(sum(reserved_usd), 0), 4) AS reserved_usd,
  count(reserved_usd) AS reserved_calls,
  count(*) FILTER (WHERE provider_predict_time_s IS NOT NULL OR provider_image_count IS NOT NULL) AS provider_reported_calls,
  round(coalesce(sum(provider_predict_time_s), 0), 3) AS provider_predict_time_s,
  coalesce(sum(provider_image_count), 0) AS provider_image_count,
  coalesce(sum(images_produced) FILTER (WHERE provider_image_count IS NOT NULL), 0) AS images_where_provider_reported`;

/**
 * One statement inserts many events from one JSON parameter: D1 counts queries per invocation
 * (50 on the free plan) and limits bound parameters to 100 per statement, so a queue batch of 100
 * events must not become 100 statements or 2,300 parameters.
 */
const INSERT_SQL = `INSERT INTO imagen_usage (${USAGE_EVENT_COLUMNS.join(", ")})
SELECT ${USAGE_EVENT_COLUMNS.map((c) => `json_extract(value, '$.${c}')`).join(", ")}
FROM json_each(?1) WHERE true
ON CONFLICT (event_id) DO NOTHING`;

/** Ledger.correct: what a reconciliation found, written over a row only while its cost is unknown (as imagen_usage_correct in Postgres). */
const CORRECTED_COLUMNS = ["cost_usd_estimate", "cost_unknown_reason", "images_produced", "provider_image_count", "external_id", "error_message"];
const CORRECT_SQL = `INSERT INTO imagen_usage (${USAGE_EVENT_COLUMNS.join(", ")})
SELECT ${USAGE_EVENT_COLUMNS.map((c) => `json_extract(value, '$.${c}')`).join(", ")}
FROM json_each(?1) WHERE true
ON CONFLICT (event_id) DO UPDATE SET ${CORRECTED_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}
WHERE imagen_usage.cost_unknown_reason IS NOT NULL`;

/** Events per INSERT: keeps the JSON parameter far below D1's 2 MB value limit. */
const EVENTS_PER_STATEMENT = 200;

export class D1Ledger implements Ledger {
  constructor(private readonly db: D1Database) {}

  async recordBatch(events: readonly UsageEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map(eventForLedger);
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += EVENTS_PER_STATEMENT) {
      statements.push(this.db.prepare(INSERT_SQL).bind(JSON.stringify(rows.slice(i, i + EVENTS_PER_STATEMENT))));
    }
    // One batch is one transaction: a bad event rejects the whole batch, so the queue retries it whole.
    await this.run("recordBatch", () => this.db.batch(statements));
  }

  async correct(events: readonly UsageEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map(eventForLedger);
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += EVENTS_PER_STATEMENT) {
      statements.push(this.db.prepare(CORRECT_SQL).bind(JSON.stringify(rows.slice(i, i + EVENTS_PER_STATEMENT))));
    }
    await this.run("correct", () => this.db.batch(statements));
  }

  async report(filter: UsageFilter, groupBy: readonly UsageGroupKey[]): Promise<UsageReport> {
    checkFilter(filter);
    checkGroupKeys(groupBy);
    const where = whereClause(filter);
    // Canonical order (time first), whatever order the keys were asked in; nulls last like Postgres.
    const keys = USAGE_GROUP_KEYS.filter((k) => groupBy.includes(k));
    const select = keys.map((k) => `${GROUP_SQL[k]} AS ${k}`);
    const groupsSql = keys.length
      ? `SELECT ${[...select, TOTALS_SQL].join(", ")} FROM imagen_usage ${where.sql}
         GROUP BY ${keys.map((k) => GROUP_SQL[k]).join(", ")}
         ORDER BY ${keys.map((k) => `${k} IS NULL, ${k}`).join(", ")}`
      : null;
    const totalsSql = `SELECT ${TOTALS_SQL} FROM imagen_usage ${where.sql}`;
    const statements = [this.db.prepare(totalsSql).bind(...where.params)];
    if (groupsSql) statements.push(this.db.prepare(groupsSql).bind(...where.params));
    const [totals, groups] = await this.run("report", () => this.db.batch<Record<string, unknown>>(statements));
    return {
      groups: (groups?.results ?? []).map((row) => ({
        group: Object.fromEntries(keys.map((k) => [k, nullableText(row[k])])),
        ...toTotals(row),
      })),
      totals: singleTotals(totals?.results),
    };
  }

  async raw(filter: UsageFilter, page: { readonly limit: number; readonly cursor?: string }) {
    checkFilter(filter);
    checkPageLimit(page.limit);
    const before = page.cursor === undefined ? null : decodeCursor(page.cursor);
    const where = whereClause(filter, before ? ["(occurred_at, id) < (?, ?)"] : [], before ? [before.occurredAt, before.id] : []);
    const { results } = await this.run("raw", () =>
      this.db
        .prepare(`SELECT * FROM imagen_usage ${where.sql} ORDER BY occurred_at DESC, id DESC LIMIT ?`)
        .bind(...where.params, page.limit + 1)
        .all<Record<string, unknown>>(),
    );
    const rows = results.slice(0, page.limit).map(toUsageRow);
    const last = rows[rows.length - 1];
    const next_cursor = results.length > page.limit && last ? encodeCursor({ occurredAt: last.occurred_at, id: last.id }) : null;
    return { rows, next_cursor } satisfies RawPage;
  }

  async summary(filter: UsageFilter, recentErrorLimit: number): Promise<UsageSummary> {
    checkFilter(filter);
    checkRecentErrorLimit(recentErrorLimit);
    const where = whereClause(filter);
    const failures = whereClause(filter, ["success = 0"]);
    const [totals, bySource, byDay, errors] = await this.run("summary", () =>
      this.db.batch<Record<string, unknown>>([
        this.db.prepare(`SELECT ${TOTALS_SQL}, ${RECONCILIATION_SQL} FROM imagen_usage ${where.sql}`).bind(...where.params),
        this.db
          .prepare(
            `SELECT source, ${TOTALS_SQL} FROM imagen_usage ${where.sql}
             GROUP BY source ORDER BY cost_usd DESC, calls DESC, source IS NULL, source`,
          )
          .bind(...where.params),
        this.db
          .prepare(
            `SELECT substr(occurred_at, 1, 10) AS day, ${TOTALS_SQL} FROM imagen_usage ${where.sql}
             GROUP BY day ORDER BY day DESC`,
          )
          .bind(...where.params),
        this.db.prepare(`SELECT * FROM imagen_usage ${failures.sql} ORDER BY occurred_at DESC, id DESC LIMIT ?`).bind(...failures.params, recentErrorLimit),
      ]),
    );
    return {
      totals: singleTotals(totals?.results),
      by_source: (bySource?.results ?? []).map((row) => ({ source: nullableText(row.source), ...toTotals(row) })),
      by_day: (byDay?.results ?? []).map((row) => ({ day: String(row.day), ...toTotals(row) })),
      recent_errors: (errors?.results ?? []).map(toUsageRow),
      reconciliation: toReconciliation(singleRow(totals?.results)),
    };
  }

  /** D1 errors name the constraint ("CHECK constraint failed: imagen_usage_outcome"); keep that, add the operation. */
  private async run<T>(operation: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(`D1 ledger ${operation} failed: ${detail}`, { cause: error });
    }
  }
}

/** Filters on occurred_at (canonical ISO text, so a date prefix compares correctly) and exact columns. */
function whereClause(filter: UsageFilter, extra: string[] = [], extraParams: unknown[] = []) {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) {
    conditions.push("occurred_at >= ?");
    params.push(`${filter.since}T00:00:00.000Z`);
  }
  if (filter.until !== undefined) {
    conditions.push("occurred_at < ?");
    params.push(`${filter.until}T00:00:00.000Z`);
  }
  for (const column of ["caller", "ref", "client_request_id"] as const) {
    const value = filter[column];
    if (value === undefined) continue;
    conditions.push(`${column} = ?`);
    params.push(value);
  }
  conditions.push(...extra);
  params.push(...extraParams);
  return { sql: conditions.length ? `WHERE ${conditions.join(" AND ")}` : "", params };
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function singleRow(rows: readonly Record<string, unknown>[] | undefined): Record<string, unknown> {
  const row = rows?.[0];
  if (!row) throw new Error("D1 ledger: totals query returned no row");
  return row;
}

function singleTotals(rows: readonly Record<string, unknown>[] | undefined): UsageTotals {
  return toTotals(singleRow(rows));
}
