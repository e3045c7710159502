/**
 * The ledger port: Supabase in production, D1 as the embedded default.
 * Both implement this contract and pass the same contract suite; aggregation runs in SQL.
 */
import type { UsageEvent } from "./event";

/** A stored attempt: the event plus the ledger's own row id. */
export interface UsageRow extends UsageEvent {
  readonly id: number;
}

export type UsageGroupKey = "week" | "day" | "backend" | "model" | "caller" | "source";

export interface UsageFilter {
  /** Inclusive lower bound, UTC date YYYY-MM-DD. */
  readonly since?: string;
  /** Exclusive upper bound, UTC date YYYY-MM-DD. */
  readonly until?: string;
  /** Restrict to one caller (users are always restricted to themselves). */
  readonly caller?: string;
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
}

export interface Ledger {
  /** Writes events; an event id already present is skipped, not duplicated. */
  recordBatch(events: readonly UsageEvent[]): Promise<void>;
  report(filter: UsageFilter, groupBy: readonly UsageGroupKey[]): Promise<UsageReport>;
  /** Newest first. */
  raw(filter: UsageFilter, page: { readonly limit: number; readonly cursor?: string }): Promise<RawPage>;
  summary(filter: UsageFilter, recentErrorLimit: number): Promise<UsageSummary>;
}
