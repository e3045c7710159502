/**
 * GET /v1/usage (the report behind `imagen usage`, over HTTPS) and GET /v1/usage/summary (the admin
 * overview: totals, by source, by day, recent errors). Aggregation runs in the ledger's SQL; this only parses and formats.
 * Users see their own rows; admins see everyone's and may filter by caller.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { readScope } from "../auth/ownership";
import type { AppEnv, App } from "../http/context";
import { fromDependency } from "../http/dependency";
import { CORRELATION_ID } from "../http/correlation";
import { problem } from "../http/problem";
import { ledgerDependency } from "../deps";
import { alignedTable, csv, rawRows, reportRows } from "../usage/format";
import { REF_PATTERN } from "../usage/event";
import type { Ledger, UsageFilter, UsageGroupKey } from "../usage/ledger";
import { groupKeysProblem, isUtcDate, MAX_PAGE_LIMIT, USAGE_GROUP_KEYS, UTC_DATE_PATTERN } from "../usage/ledger-rules";
import { problemResponses } from "./schemas";
import { ROUTES } from "../routes";

const GROUP_KEYS = USAGE_GROUP_KEYS;
const DEFAULT_GROUP: readonly UsageGroupKey[] = ["week", "backend", "model", "caller"];

/** A UTC date like 2026-05-01 that exists on the calendar. */
export const utcDate = z.string().regex(UTC_DATE_PATTERN, "a UTC date like 2026-05-01").refine(isUtcDate, "not a real date");

const filterFields = {
  since: utcDate.optional().openapi({ description: "Inclusive UTC date (YYYY-MM-DD)." }),
  until: utcDate.optional().openapi({ description: "Exclusive UTC date (YYYY-MM-DD)." }),
  caller: z.string().min(1).max(64).optional().openapi({ description: "Admins: one caller's rows. Users may only name themselves." }),
  ref: z
    .string()
    .regex(REF_PATTERN, "a ref as sent with POST /v1/images")
    .optional()
    .openapi({ description: "Only attempts made with this ref (e.g. a post id)." }),
  client_request_id: z
    .string()
    .regex(CORRELATION_ID, "an X-Request-Id as the client sent it")
    .optional()
    .openapi({ description: "Only attempts of requests sent with this X-Request-Id (users: their own requests)." }),
};

const UsageQuery = z
  .strictObject({
    ...filterFields,
    group: z
      .string()
      .optional()
      .openapi({ description: `Comma-separated: ${GROUP_KEYS.join(", ")}. Default ${DEFAULT_GROUP.join(",")}.` })
      .transform((value, ctx) => {
        if (value === undefined) return [...DEFAULT_GROUP];
        const keys = value
          .split(",")
          .map((k) => k.trim())
          .filter(Boolean);
        if (keys.length === 0 || groupKeysProblem(keys) !== null) {
          ctx.addIssue({ code: "custom", message: `group keys are ${GROUP_KEYS.join(", ")} (each once); got ${value}` });
          return z.NEVER;
        }
        return keys as UsageGroupKey[];
      }),
    raw: z.enum(["0", "1", "true", "false"]).optional().openapi({ description: "1 = one row per attempt, newest first, paginated." }),
    format: z.enum(["json", "table", "csv"]).default("json"),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(100).openapi({ description: "Raw rows per page." }),
    cursor: z.string().max(200).optional().openapi({ description: "next_cursor from the previous raw page." }),
  })
  .refine((q) => !q.since || !q.until || q.since < q.until, { message: "since must be before until", path: ["until"] });

const Totals = z.object({ calls: z.int(), succeeded: z.int(), failed: z.int(), images: z.int(), cost_usd: z.number() });
const Reconciliation = z
  .object({
    estimated_usd: z.number(),
    reserved_usd: z.number(),
    reserved_calls: z.int(),
    provider_reported_calls: z.int(),
    provider_predict_time_s: z.number(),
    provider_image_count: z.int(),
    images_where_provider_reported: z.int(),
  })
  .openapi({ description: "Our estimates beside the spend guard's reservations and the providers' own figures, over the same rows." });

const usageRoute = createRoute({
  method: "get",
  path: ROUTES.usage,
  operationId: "getUsage",
  summary: "Usage grouped by week/backend/model/caller (or raw attempts), as JSON, an aligned table or CSV",
  security: [{ bearer: [] }],
  request: { query: UsageQuery },
  responses: {
    200: {
      description: "Grouped rows with grand totals, or a page of raw rows",
      content: {
        "application/json": {
          schema: z.object({
            groups: z.array(Totals.extend({ group: z.record(z.string(), z.string().nullable()) })).optional(),
            totals: Totals.optional(),
            rows: z.array(z.record(z.string(), z.unknown())).optional(),
            next_cursor: z.string().nullable().optional(),
          }),
        },
        "text/plain": { schema: z.string() },
        "text/csv": { schema: z.string() },
      },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

const summaryRoute = createRoute({
  method: "get",
  path: ROUTES.usageSummary,
  operationId: "getUsageSummary",
  summary: "Totals, by source, by day, and recent failed attempts",
  security: [{ bearer: [] }],
  request: { query: z.strictObject({ ...filterFields, recent: z.coerce.number().int().min(1).max(100).default(20) }) },
  responses: {
    200: {
      description: "Summary",
      content: {
        "application/json": {
          schema: z.object({
            totals: Totals,
            by_source: z.array(Totals.extend({ source: z.string().nullable() })),
            by_day: z.array(Totals.extend({ day: z.string() })),
            recent_errors: z.array(z.record(z.string(), z.unknown())),
            reconciliation: Reconciliation,
          }),
        },
      },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

export function registerUsageRoutes(app: App): void {
  app.openapi(usageRoute, async (c) => {
    const query = c.req.valid("query");
    const filter = scopedFilter(c, query);
    const read = ledgerReader(c);
    if (query.raw === "1" || query.raw === "true") {
      const page = await read((ledger) => ledger.raw(filter, { limit: query.limit, ...(query.cursor && { cursor: query.cursor }) })).catch((error: unknown) => {
        // The ledgers validate cursors; a forged or stale one is the caller's error.
        throw error instanceof RangeError ? problem("invalid-request", 400, `cursor: ${error.message}`) : error;
      });
      if (query.format === "table") return c.text(alignedTable(rawRows(page.rows)), 200);
      if (query.format === "csv") return c.body(csv(rawRows(page.rows)), 200, { "content-type": "text/csv; charset=utf-8" });
      return c.json({ rows: [...page.rows], next_cursor: page.next_cursor }, 200);
    }
    const report = await read((ledger) => ledger.report(filter, query.group));
    if (query.format === "table") return c.text(alignedTable(reportRows(report, query.group)), 200);
    if (query.format === "csv") return c.body(csv(reportRows(report, query.group)), 200, { "content-type": "text/csv; charset=utf-8" });
    return c.json({ groups: report.groups.map((g) => ({ ...g, group: { ...g.group } })), totals: report.totals }, 200);
  });

  app.openapi(summaryRoute, async (c) => {
    const query = c.req.valid("query");
    const filter = scopedFilter(c, query);
    const summary = await ledgerReader(c)((ledger) => ledger.summary(filter, query.recent));
    return c.json(
      {
        totals: summary.totals,
        by_source: [...summary.by_source],
        by_day: [...summary.by_day],
        recent_errors: summary.recent_errors.map((row) => ({ ...row })),
        reconciliation: summary.reconciliation,
      },
      200,
    );
  });
}

/** Runs a ledger read; a ledger outage answers 503 naming it. */
function ledgerReader(c: Context<AppEnv>): <T>(read: (ledger: Ledger) => Promise<T>) => Promise<T> {
  const { env, config } = c.var.deps;
  const ledger = c.var.deps.ledger();
  const name = ledgerDependency(env, config, "usage ledger");
  return (read) => fromDependency(name, c.get("log"), () => read(ledger));
}

/**
 * Users are confined to their own rows; naming someone else is refused, not silently narrowed.
 * So a client_request_id (which two callers may share) finds only the user's own requests.
 */
function scopedFilter(c: Context<AppEnv>, query: Partial<Record<keyof typeof filterFields, string | undefined>>): UsageFilter {
  const caller = c.get("caller");
  const scope = readScope(caller, query.caller);
  if (!scope) throw problem("forbidden", 403, "only admins can read other callers' usage");
  const who = scope.caller;
  return {
    ...(query.since && { since: query.since }),
    ...(query.until && { until: query.until }),
    ...(who !== undefined && { caller: who }),
    ...(query.ref && { ref: query.ref }),
    ...(query.client_request_id && { client_request_id: query.client_request_id }),
  };
}
