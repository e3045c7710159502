/**
 * The rules both ledgers (D1 and Supabase) share, so the contract suite can hold them to one
 * behaviour: how filters, group keys, page limits and cursors are validated, how times are
 * written, and how a stored row becomes a UsageRow again.
 */
import { z } from "zod";
import { canonicalTime, isoTime } from "../lib/iso-time";
import { usd } from "../lib/money";
import { decodeOpaqueCursor, encodeOpaqueCursor } from "../lib/opaque-cursor";
import type { UsageEvent } from "./event";
import type { UsageFilter, UsageGroupKey, UsageReconciliation, UsageRow, UsageTotals } from "./ledger";

/** Every group key, in the order reports sort groups by (time first). */
export const USAGE_GROUP_KEYS: readonly UsageGroupKey[] = ["week", "day", "backend", "model", "caller", "source", "ref"];

/**
 * The most rows one raw page may hold. A page asks for one row more (to know whether another
 * page exists), and PostgREST answers at most max_rows (1000, supabase/config.toml) rows.
 */
export const MAX_PAGE_LIMIT = 500;
/** The most failures a summary may list. */
const MAX_RECENT_ERRORS = 1000;

/** The event's fields in ledger-column order: what recordBatch writes. */
export const USAGE_EVENT_COLUMNS = [
  "event_id",
  "occurred_at",
  "request_id",
  "caller",
  "source",
  "backend",
  "backend_type",
  "model",
  "model_version",
  "seed",
  "prompt_hash",
  "width",
  "height",
  "images_requested",
  "images_produced",
  "latency_ms",
  "cost_usd_estimate",
  "price_id",
  "success",
  "error_code",
  "error_message",
  "external_id",
  "attempt",
  "client_request_id",
  "ref",
  "reserved_usd",
  "provider_predict_time_s",
  "provider_image_count",
  "cost_unknown_reason",
] as const satisfies readonly (keyof UsageEvent)[];

export const UTC_DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** A UTC date like 2026-05-01 that exists on the calendar. */
export function isUtcDate(value: string): boolean {
  // Round-tripping through Date rejects 2026-02-30 as well as malformed text.
  const ms = Date.parse(`${value}T00:00:00.000Z`);
  return UTC_DATE_PATTERN.test(value) && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

function checkDate(name: string, value: string | undefined): void {
  if (value === undefined) return;
  if (!isUtcDate(value)) {
    throw new RangeError(`usage filter: ${name} must be a UTC date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
}

/** Throws a RangeError naming the bad field; both ledgers call it before touching the database. */
export function checkFilter(filter: UsageFilter): void {
  checkDate("since", filter.since);
  checkDate("until", filter.until);
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
    throw new RangeError(`usage filter: until (${filter.until}) must be after since (${filter.since})`);
  }
  for (const name of ["caller", "ref", "client_request_id"] as const) {
    if (filter[name] === "") throw new RangeError(`usage filter: ${name} must not be empty`);
  }
}

/** Why `keys` is not a usable grouping (unknown or repeated keys), or null. */
export function groupKeysProblem(keys: readonly string[]): string | null {
  const unknown = keys.filter((k) => !(USAGE_GROUP_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) return `unknown usage group key: ${unknown.join(", ")} (use ${USAGE_GROUP_KEYS.join(", ")})`;
  if (new Set(keys).size !== keys.length) return "usage group keys must not repeat";
  return null;
}

export function checkGroupKeys(keys: readonly string[]): asserts keys is readonly UsageGroupKey[] {
  const problem = groupKeysProblem(keys);
  if (problem !== null) throw new RangeError(problem);
}

export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new RangeError(`usage page limit must be an integer 1..${MAX_PAGE_LIMIT}, got ${limit}`);
  }
}

export function checkRecentErrorLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_RECENT_ERRORS) {
    throw new RangeError(`recent error count must be an integer 0..${MAX_RECENT_ERRORS}, got ${limit}`);
  }
}

/**
 * Where the next (older) page starts: the last row's time as the database gave it (so Postgres'
 * microseconds survive) and its id. Opaque to callers: base64url of a small JSON array.
 */
export interface PageCursor {
  readonly occurredAt: string;
  readonly id: number;
}

export function encodeCursor(cursor: PageCursor): string {
  return encodeOpaqueCursor([cursor.occurredAt, cursor.id]);
}

const cursorShape = z.tuple([z.string().min(1), z.number().int().positive()]);

export function decodeCursor(cursor: string): PageCursor {
  try {
    const [occurredAt, id] = cursorShape.parse(decodeOpaqueCursor(cursor));
    if (Number.isNaN(Date.parse(occurredAt))) throw new Error("bad time");
    return { occurredAt, id };
  } catch {
    throw new RangeError("invalid usage page cursor");
  }
}

/**
 * The event as written: its time in canonical form, every column present (an event from an older
 * Worker lacks the newer ones; both ledgers then write null). The rest is the database's to check.
 */
export function eventForLedger(event: UsageEvent): UsageEvent {
  return {
    ...event,
    occurred_at: canonicalTime(event.occurred_at),
    client_request_id: event.client_request_id ?? null,
    ref: event.ref ?? null,
    reserved_usd: event.reserved_usd ?? null,
    provider_predict_time_s: event.provider_predict_time_s ?? null,
    provider_image_count: event.provider_image_count ?? null,
    cost_unknown_reason: event.cost_unknown_reason ?? null,
  };
}

const count = z.coerce.number().int().nonnegative();
const money = z.coerce.number().nonnegative();

const usageTotalsSchema = z.object({
  calls: count,
  succeeded: count,
  failed: count,
  images: count,
  cost_usd: money,
});

/** Picks exactly the totals fields (databases may return more), in a stable order. */
export function toTotals(value: unknown): UsageTotals {
  return usageTotalsSchema.parse(value);
}

const reconciliationSchema = z.object({
  estimated_usd: money,
  reserved_usd: money,
  reserved_calls: count,
  provider_reported_calls: count,
  provider_predict_time_s: z.coerce.number().nonnegative(),
  provider_image_count: count,
  images_where_provider_reported: count,
});

export function toReconciliation(value: unknown): UsageReconciliation {
  return reconciliationSchema.parse(value);
}

const time = isoTime;
const bool = z.union([z.boolean(), z.literal(0).transform(() => false), z.literal(1).transform(() => true)]);
const int = z.coerce.number().int();

/**
 * A stored row, from D1 (0/1 booleans, numbers) or PostgREST (JSON booleans, Postgres time
 * spelling). Rows written before ImaGen Edge by the earlier `imagen` CLI (backend_type "legacy", Supabase
 * only) lack some facts; they come back with request_id = event_id, caller "unknown", latency,
 * width and height 0, as docs/ledger.md says.
 */
const usageRowSchema = z
  .object({
    id: int,
    event_id: z.string(),
    occurred_at: time,
    request_id: z.string().nullable(),
    caller: z.string().nullable(),
    source: z.string().nullable(),
    backend: z.string(),
    backend_type: z.string(),
    model: z.string(),
    model_version: z.string().nullable(),
    seed: int.nullable(),
    prompt_hash: z.string(),
    width: int.nullable(),
    height: int.nullable(),
    images_requested: int,
    images_produced: int,
    latency_ms: int.nullable(),
    cost_usd_estimate: z.coerce.number().nullable(),
    price_id: int.nullable(),
    success: bool,
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    external_id: z.string().nullable(),
    attempt: int,
    client_request_id: z.string().nullable(),
    ref: z.string().nullable(),
    reserved_usd: z.coerce.number().nullable(),
    provider_predict_time_s: z.coerce.number().nullable(),
    provider_image_count: int.nullable(),
    cost_unknown_reason: z.string().nullable().default(null),
  })
  .transform(
    (r): UsageRow => ({
      id: r.id,
      event_id: r.event_id,
      occurred_at: r.occurred_at,
      request_id: r.request_id ?? r.event_id,
      caller: r.caller ?? "unknown",
      source: r.source,
      backend: r.backend,
      backend_type: r.backend_type,
      model: r.model,
      model_version: r.model_version,
      seed: r.seed,
      prompt_hash: r.prompt_hash,
      width: r.width ?? 0,
      height: r.height ?? 0,
      images_requested: r.images_requested,
      images_produced: r.images_produced,
      latency_ms: r.latency_ms ?? 0,
      cost_usd_estimate: r.cost_usd_estimate === null ? null : usd(r.cost_usd_estimate),
      price_id: r.price_id,
      success: r.success,
      error_code: r.error_code,
      error_message: r.error_message,
      external_id: r.external_id,
      attempt: r.attempt,
      client_request_id: r.client_request_id,
      ref: r.ref,
      reserved_usd: r.reserved_usd === null ? null : usd(r.reserved_usd),
      provider_predict_time_s: r.provider_predict_time_s,
      provider_image_count: r.provider_image_count,
      cost_unknown_reason: r.cost_unknown_reason,
    }),
  );

export function toUsageRow(value: unknown): UsageRow {
  return usageRowSchema.parse(value);
}
