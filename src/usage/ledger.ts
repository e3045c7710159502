/**
 * The ledger port: Supabase in production, D1 as the embedded default.
 * Both implement this contract and pass the same contract suite; aggregation runs in SQL.
 */
import type { Usd } from "../lib/money";
import type { UsageEvent } from "./event";

/** A stored attempt: the event plus the ledger's own row id; a field the event lacked reads null. */
export interface UsageRow extends UsageEvent {
  readonly id: number;
  readonly client_request_id: string | null;
  readonly ref: string | null;
  readonly reserved_usd: Usd | null;
  readonly provider_predict_time_s: number | null;
  readonly provider_image_count: number | null;
  readonly cost_unknown_reason: string | null;
}

export type UsageGroupKey = "week" | "day" | "backend" | "model" | "caller" | "source" | "ref";

export interface UsageFilter {
  /** Inclusive lower bound, UTC date YYYY-MM-DD. */
  readonly since?: string;
  /** Exclusive upper bound, UTC date YYYY-MM-DD. */
  readonly until?: string;
  /** Restrict to one caller (users are always restricted to themselves). */
  readonly caller?: string;
  /** Only rows with this ref. */
  readonly ref?: string;
  /** Only rows with this client X-Request-Id (with caller, one caller's correlation id). */
  readonly client_request_id?: string;
}

export interface UsageTotals {
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly images: number;
  /** Sum of known estimates, USD, 4 dp. */
  readonly cost_usd: number;
}

export interface UsageGroupRow extends UsageTotals {
  /** One entry per requested group key, e.g. {week: "2026-05-04", backend: "mock"}. Week = ISO week's Monday. */
  readonly group: Readonly<Partial<Record<UsageGroupKey, string | null>>>;
}

export interface UsageReport {
  readonly groups: readonly UsageGroupRow[];
  readonly totals: UsageTotals;
}

export interface RawPage {
  readonly rows: readonly UsageRow[];
  /** Opaque cursor for the next page (older rows), null at the end. */
  readonly next_cursor: string | null;
}

export interface UsageSummary {
  readonly totals: UsageTotals;
  readonly by_source: readonly (UsageTotals & { readonly source: string | null })[];
  readonly by_day: readonly (UsageTotals & { readonly day: string })[];
  /** Most recent failed attempts, newest first. */
  readonly recent_errors: readonly UsageRow[];
  readonly reconciliation: UsageReconciliation;
}

/**
 * Our estimates beside what was reserved and what providers reported, over the same rows. Sums
 * skip rows without the figure; the *_calls counts say how many rows each sum covers.
 */
export interface UsageReconciliation {
  /** Sum of cost_usd_estimate (equals totals.cost_usd). */
  readonly estimated_usd: number;
  /** Sum of reserved_usd, 4 dp. */
  readonly reserved_usd: number;
  readonly reserved_calls: number;
  /** Rows carrying a provider_predict_time_s or provider_image_count. */
  readonly provider_reported_calls: number;
  /** Sum of provider_predict_time_s, 3 dp. */
  readonly provider_predict_time_s: number;
  readonly provider_image_count: number;
  /** Our images_produced over the rows that carry provider_image_count: compare with provider_image_count. */
  readonly images_where_provider_reported: number;
}

export interface Ledger {
  /** Writes events; an event id already present is skipped, not duplicated. */
  recordBatch(events: readonly UsageEvent[]): Promise<void>;
  /**
   * An attempt of unknown cost, with its cost found by a reconciliation: its row (by event id)
   * gets the cost, reason, images, external id and message, and only while its cost is still
   * unknown; a row not delivered yet is written. The only write that changes an existing row.
   */
  correct(events: readonly UsageEvent[]): Promise<void>;
  report(filter: UsageFilter, groupBy: readonly UsageGroupKey[]): Promise<UsageReport>;
  /** Newest first. */
  raw(filter: UsageFilter, page: { readonly limit: number; readonly cursor?: string }): Promise<RawPage>;
  summary(filter: UsageFilter, recentErrorLimit: number): Promise<UsageSummary>;
}
