/**
 * The caller's spend book, kept in its Durable Object's SQLite: one row per paid attempt, keyed by
 * the attempt id (its usage event id), in one of three states:
 *
 *   reserved ──settle(charged)──► settled          the provider's answer says what it cost
 *      │                             ▲
 *      └──holdUnknown(reason)──► unknown ──settle── reconciled later (a lookup at the provider)
 *
 * What counts against a cap: settled charges, plus every reservation that has not lapsed, plus
 * every unknown attempt at its worst case. A reservation lapses at its own `lapses_at` (its
 * attempt's deadline plus a grace): from that instant it counts for nothing, with no alarm or
 * sweep involved, so money comes back exactly when the request that held it is over. An unknown
 * attempt never lapses: the provider may have billed it, so its worst case stands until a
 * reconciliation settles it.
 *
 * Every method runs synchronously (SQLite calls in a Durable Object do not yield), so a
 * check-then-reserve never interleaves with another request's. A settle is idempotent: the first
 * one counts, a repeat changes nothing. Amounts are integer units (./money-units.ts).
 */
import { BUDGET_PERIODS, type BudgetPeriod, dayKey, periodResetsAt, periodStartDay } from "./periods";

export interface PeriodCaps {
  readonly daily?: number;
  readonly monthly?: number;
}

export interface HoldInput {
  readonly attemptId: string;
  readonly requestId: string;
  readonly instance: string;
  /** The attempt's worst case. */
  readonly units: number;
}

export interface ReserveInput extends HoldInput {
  /** Clock time (ms) from which the reservation no longer counts. */
  readonly lapsesAt: number;
}

export interface PeriodState {
  readonly period: BudgetPeriod;
  /** Undefined = no cap for this period. */
  readonly capUnits: number | undefined;
  readonly spentUnits: number;
  /** Reservations that have not lapsed, plus unknown attempts at their worst case. */
  readonly heldUnits: number;
  readonly resetsAt: string;
  /** When the earliest reservation in flight lapses (money comes back then at the latest); null = none. */
  readonly nextLapseAt: number | null;
}

export type ReserveOutcome =
  | { readonly ok: true; readonly units: number }
  | { readonly ok: false; readonly refusedBy: PeriodState; readonly requestedUnits: number };

type AttemptSpendState = "reserved" | "unknown" | "settled";

export type AttemptSpendRow = {
  readonly attempt_id: string;
  readonly request_id: string;
  readonly instance: string;
  readonly state: AttemptSpendState;
  readonly held_units: number;
  readonly charged_units: number | null;
  readonly lapses_at: number | null;
  readonly reason: string | null;
  /** JSON: what a reconciliation looks the attempt up by and stores its images with (caller-spend's ReconcileHint); null when none was kept or once settled. */
  readonly reconcile: string | null;
};

/** Settled and lapsed rows are remembered this long, so a settle repeated within it still counts once. */
const SETTLED_RETENTION_MS = 40 * 86_400_000;

export class SpendBook {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS spend_attempts (
        attempt_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        instance TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('reserved', 'unknown', 'settled')),
        held_units INTEGER NOT NULL,
        charged_units INTEGER,
        lapses_at INTEGER,
        reason TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS spend_attempts_state ON spend_attempts (state, lapses_at);
      CREATE TABLE IF NOT EXISTS daily_spend (day TEXT PRIMARY KEY, units INTEGER NOT NULL);
      DROP TABLE IF EXISTS reservations;
      DROP TABLE IF EXISTS finished_attempts;
    `);
    // Books made before reconciliation kept no hint: the column is added once.
    const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('spend_attempts')").toArray();
    if (!columns.some((column) => column.name === "reconcile")) sql.exec("ALTER TABLE spend_attempts ADD COLUMN reconcile TEXT");
  }

  /**
   * Reserve the attempt's worst case unless that would take a capped period past its cap. The
   * same attempt reserved again gets its existing reservation (a retried call); one that lapsed
   * is checked against the caps again.
   */
  reserve(input: ReserveInput, caps: PeriodCaps, now: number): ReserveOutcome {
    const existing = this.row(input.attemptId);
    if (existing && !(existing.state === "reserved" && existing.lapses_at! <= now)) return { ok: true, units: existing.held_units };
    for (const state of this.periods(caps, now)) {
      if (state.capUnits !== undefined && state.spentUnits + state.heldUnits + input.units > state.capUnits) {
        return { ok: false, refusedBy: state, requestedUnits: input.units };
      }
    }
    this.sql.exec(
      `INSERT INTO spend_attempts (attempt_id, request_id, instance, state, held_units, lapses_at, updated_at) VALUES (?, ?, ?, 'reserved', ?, ?, ?)
       ON CONFLICT (attempt_id) DO UPDATE SET held_units = excluded.held_units, lapses_at = excluded.lapses_at, updated_at = excluded.updated_at`,
      input.attemptId,
      input.requestId,
      input.instance,
      input.units,
      input.lapsesAt,
      now,
    );
    return { ok: true, units: input.units };
  }

  /**
   * The attempt ended and the provider's answer says what it cost: count that once, and hold
   * nothing for it any more. Returns false when it was settled already (nothing changed). An
   * attempt the book never saw (free, or unpriced) is recorded too, so its charge counts. Its
   * reconciliation hint goes (it may hold the prompt, which the book keeps no longer than needed).
   */
  settle(attemptId: string, chargedUnits: number, now: number): boolean {
    const existing = this.row(attemptId);
    if (existing?.state === "settled") return false;
    this.sql.exec(
      `INSERT INTO spend_attempts (attempt_id, request_id, instance, state, held_units, charged_units, updated_at) VALUES (?, '', '', 'settled', 0, ?, ?)
       ON CONFLICT (attempt_id) DO UPDATE SET state = 'settled', charged_units = excluded.charged_units, lapses_at = NULL, reconcile = NULL,
         updated_at = excluded.updated_at`,
      attemptId,
      chargedUnits,
      now,
    );
    if (chargedUnits > 0) {
      this.sql.exec(
        "INSERT INTO daily_spend (day, units) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET units = units + excluded.units",
        dayKey(now),
        chargedUnits,
      );
    }
    return true;
  }

  /**
   * The attempt may have been accepted and billed, and nobody knows yet (its answer was lost, or
   * it restarted after the call went out): its worst case is held, without lapse, until a
   * reconciliation settles it. A settled attempt stays settled.
   */
  holdUnknown(input: HoldInput, reason: string, now: number, reconcile: string | null = null): void {
    this.sql.exec(
      `INSERT INTO spend_attempts (attempt_id, request_id, instance, state, held_units, reason, reconcile, updated_at) VALUES (?, ?, ?, 'unknown', ?, ?, ?, ?)
       ON CONFLICT (attempt_id) DO UPDATE SET state = 'unknown', held_units = max(held_units, excluded.held_units), lapses_at = NULL,
         reason = excluded.reason, reconcile = coalesce(excluded.reconcile, reconcile), updated_at = excluded.updated_at
       WHERE state != 'settled'`,
      input.attemptId,
      input.requestId,
      input.instance,
      input.units,
      reason,
      reconcile,
      now,
    );
  }

  row(attemptId: string): AttemptSpendRow | undefined {
    return this.sql.exec<AttemptSpendRow>("SELECT * FROM spend_attempts WHERE attempt_id = ?", attemptId).toArray()[0];
  }

  /** Attempts whose cost nobody knows yet, oldest first: what a reconciliation sweep looks up. */
  unknown(limit = 100): AttemptSpendRow[] {
    return this.sql.exec<AttemptSpendRow>("SELECT * FROM spend_attempts WHERE state = 'unknown' ORDER BY updated_at LIMIT ?", limit).toArray();
  }

  periods(caps: PeriodCaps, now: number): PeriodState[] {
    const held = this.sql
      .exec<{ total: number; next: number | null }>(
        `SELECT coalesce(sum(held_units), 0) AS total, min(CASE WHEN state = 'reserved' THEN lapses_at END) AS next FROM spend_attempts
         WHERE state = 'unknown' OR (state = 'reserved' AND lapses_at > ?)`,
        now,
      )
      .one();
    return BUDGET_PERIODS.map((period) => ({
      period,
      capUnits: caps[period],
      spentUnits: this.sql.exec<{ total: number }>("SELECT coalesce(sum(units), 0) AS total FROM daily_spend WHERE day >= ?", periodStartDay(period, now)).one()
        .total,
      heldUnits: held.total,
      resetsAt: periodResetsAt(period, now),
      nextLapseAt: held.next,
    }));
  }

  /** Forgets rows nobody will ask about again; lapsed reservations already count for nothing. */
  prune(now: number): void {
    this.sql.exec("DELETE FROM spend_attempts WHERE state != 'unknown' AND updated_at < ? AND coalesce(lapses_at, 0) < ?", now - SETTLED_RETENTION_MS, now);
    // The monthly sum needs this month's days only; keep the previous month for reference.
    const previousMonth = periodStartDay("monthly", Date.parse(`${periodStartDay("monthly", now)}T00:00:00Z`) - 1);
    this.sql.exec("DELETE FROM daily_spend WHERE day < ?", previousMonth);
  }

  /** When pruning is next worth doing; null = nothing to forget. */
  nextPruneAt(): number | null {
    const oldest = this.sql.exec<{ at: number | null }>("SELECT min(updated_at) AS at FROM spend_attempts WHERE state != 'unknown'").one().at;
    return oldest === null ? null : oldest + SETTLED_RETENTION_MS;
  }
}
