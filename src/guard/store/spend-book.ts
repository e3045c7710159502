/**
 * The caller's spend, kept in its Durable Object's SQLite: reservations in flight and settled
 * spend per UTC day. Every method runs synchronously (SQLite calls in a Durable Object do not
 * yield), so a check-then-reserve can never interleave with another request's: N concurrent
 * reservations cannot overshoot a cap.
 *
 * Amounts are integer units (money-units.ts). A settled attempt is kept (30+ days) so a settle
 * repeated by a retry counts once, and a late settle of a reservation the alarm already released
 * still counts what the provider charged.
 */
import { BUDGET_PERIODS, type BudgetPeriod, dayKey, periodResetsAt, periodStartDay } from "../../lib/budget-periods";

export interface PeriodCaps {
  readonly daily?: number;
  readonly monthly?: number;
}

export interface ReserveInput {
  readonly attemptId: string;
  readonly requestId: string;
  readonly instance: string;
  readonly units: number;
  readonly leaseMs: number;
}

export interface PeriodState {
  readonly period: BudgetPeriod;
  /** Undefined = no cap for this period. */
  readonly capUnits: number | undefined;
  readonly spentUnits: number;
  readonly reservedUnits: number;
  readonly resetsAt: string;
}

export type ReserveOutcome =
  | { readonly ok: true; readonly units: number }
  | { readonly ok: false; readonly refusedBy: PeriodState; readonly requestedUnits: number };

/** Settled attempts are remembered this long (a retried settle within it still counts once). */
const SETTLED_RETENTION_MS = 40 * 86_400_000;

export class SpendBook {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS reservations (
        attempt_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        instance TEXT NOT NULL,
        units INTEGER NOT NULL,
        reserved_at INTEGER NOT NULL,
        lease_until INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS finished_attempts (
        attempt_id TEXT PRIMARY KEY,
        outcome TEXT NOT NULL CHECK (outcome IN ('settled', 'expired')),
        units INTEGER NOT NULL,
        finished_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS daily_spend (day TEXT PRIMARY KEY, units INTEGER NOT NULL);
    `);
  }

  /** Reserve `units` unless that would take any capped period past its cap. */
  reserve(input: ReserveInput, caps: PeriodCaps, now: number): ReserveOutcome {
    const existing = this.sql.exec<{ units: number }>("SELECT units FROM reservations WHERE attempt_id = ?", input.attemptId).toArray()[0];
    if (existing) return { ok: true, units: existing.units };
    for (const state of this.periods(caps, now)) {
      if (state.capUnits !== undefined && state.spentUnits + state.reservedUnits + input.units > state.capUnits) {
        return { ok: false, refusedBy: state, requestedUnits: input.units };
      }
    }
    this.sql.exec(
      "INSERT INTO reservations (attempt_id, request_id, instance, units, reserved_at, lease_until) VALUES (?, ?, ?, ?, ?, ?)",
      input.attemptId,
      input.requestId,
      input.instance,
      input.units,
      now,
      now + input.leaseMs,
    );
    return { ok: true, units: input.units };
  }

  /**
   * Reserve between `input.units` and `maxUnits`: as much as every capped period still has room
   * for. An isolate's allowance block (src/guard/allowance.ts) is reserved this way.
   */
  reserveUpTo(input: ReserveInput, maxUnits: number, caps: PeriodCaps, now: number): ReserveOutcome {
    const room = Math.min(
      maxUnits,
      ...this.periods(caps, now).map((state) => (state.capUnits === undefined ? Infinity : state.capUnits - state.spentUnits - state.reservedUnits)),
    );
    return this.reserve({ ...input, units: Math.max(input.units, room) }, caps, now);
  }

  /**
   * An attempt spent from an allowance block ended: count its charge once, and take it out of
   * the block's reservation (it is spent now). `close` = the block is retired and this was its
   * last attempt: what it still holds is released. False when the block is not (or no longer)
   * reserved here.
   */
  settleFromBlock(blockId: string, attemptId: string, chargedUnits: number, close: boolean, now: number): boolean {
    const done = this.sql.exec<{ outcome: string }>("SELECT outcome FROM finished_attempts WHERE attempt_id = ?", attemptId).toArray()[0];
    if (done?.outcome !== "settled") {
      this.sql.exec("INSERT OR REPLACE INTO finished_attempts (attempt_id, outcome, units, finished_at) VALUES (?, 'settled', ?, ?)", attemptId, chargedUnits, now);
      this.addSpend(chargedUnits, now);
    }
    return this.drawDown(blockId, done?.outcome === "settled" ? 0 : chargedUnits, close, now);
  }

  /** Take `units` out of a block's reservation; `close` releases the rest. False when the block is not reserved here. */
  drawDown(blockId: string, units: number, close: boolean, now: number): boolean {
    const touched = close
      ? this.sql.exec("DELETE FROM reservations WHERE attempt_id = ? RETURNING attempt_id", blockId)
      : this.sql.exec("UPDATE reservations SET units = max(0, units - ?) WHERE attempt_id = ? RETURNING attempt_id", units, blockId);
    if (touched.toArray().length === 0) return false;
    if (close) this.sql.exec("INSERT OR IGNORE INTO finished_attempts (attempt_id, outcome, units, finished_at) VALUES (?, 'settled', 0, ?)", blockId, now);
    return true;
  }

  /** The attempt ended: drop its reservation and count what was charged (once per attempt). */
  settle(attemptId: string, chargedUnits: number, now: number): void {
    const done = this.sql.exec<{ outcome: string }>("SELECT outcome FROM finished_attempts WHERE attempt_id = ?", attemptId).toArray()[0];
    if (done?.outcome === "settled") return;
    this.sql.exec("DELETE FROM reservations WHERE attempt_id = ?", attemptId);
    this.sql.exec(
      `INSERT INTO finished_attempts (attempt_id, outcome, units, finished_at) VALUES (?, 'settled', ?, ?)
       ON CONFLICT (attempt_id) DO UPDATE SET outcome = 'settled', units = excluded.units, finished_at = excluded.finished_at`,
      attemptId,
      chargedUnits,
      now,
    );
    this.addSpend(chargedUnits, now);
  }

  private addSpend(chargedUnits: number, now: number): void {
    if (chargedUnits <= 0) return;
    this.sql.exec("INSERT INTO daily_spend (day, units) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET units = units + excluded.units", dayKey(now), chargedUnits);
  }

  /** Releases the reservations whose lease ran out (their request died) and forgets old rows. */
  releaseExpired(now: number): number {
    const expired = this.sql.exec<{ attempt_id: string }>("SELECT attempt_id FROM reservations WHERE lease_until <= ?", now).toArray();
    for (const { attempt_id } of expired) {
      this.sql.exec("DELETE FROM reservations WHERE attempt_id = ?", attempt_id);
      this.sql.exec("INSERT OR IGNORE INTO finished_attempts (attempt_id, outcome, units, finished_at) VALUES (?, 'expired', 0, ?)", attempt_id, now);
    }
    this.sql.exec("DELETE FROM finished_attempts WHERE finished_at < ?", now - SETTLED_RETENTION_MS);
    // The monthly sum needs this month's days only; keep the previous month for reference.
    const previousMonth = periodStartDay("monthly", Date.parse(`${periodStartDay("monthly", now)}T00:00:00Z`) - 1);
    this.sql.exec("DELETE FROM daily_spend WHERE day < ?", previousMonth);
    return expired.length;
  }

  /** When the next reservation lease runs out, if any is in flight. */
  nextLeaseEnd(): number | null {
    return this.sql.exec<{ next: number | null }>("SELECT min(lease_until) AS next FROM reservations").one().next;
  }

  periods(caps: PeriodCaps, now: number): PeriodState[] {
    const reservedUnits = this.sql.exec<{ total: number }>("SELECT coalesce(sum(units), 0) AS total FROM reservations").one().total;
    return BUDGET_PERIODS.map((period) => ({
      period,
      capUnits: caps[period],
      spentUnits: this.sql
        .exec<{ total: number }>("SELECT coalesce(sum(units), 0) AS total FROM daily_spend WHERE day >= ?", periodStartDay(period, now))
        .one().total,
      reservedUnits,
      resetsAt: periodResetsAt(period, now),
    }));
  }
}
