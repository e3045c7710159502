/**
 * The spend methods of the caller's Durable Object (src/guard/caller-guard.ts delegates its RPC
 * here): the book (./book.ts) in dollars, on the object's clock. The object runs one request's
 * synchronous code at a time, so each reserve's check-and-write is atomic across every isolate.
 *
 * The Worker passes the caller's caps on every call (they come from config and the API key, which
 * the object does not read); the object keeps only state. Reservations carry how long they count
 * (`lapseAfterMs`, ./lapse.ts) rather than a time, so the Worker's clock and the object's never
 * have to agree.
 */
import type { Usd } from "../lib/money";
import type { GenerationSpec } from "../backends/backend";
import type { UsageEvent } from "../usage/event";
import { type HoldInput, type PeriodCaps, type PeriodState, SpendBook, type AttemptSpendRow } from "./book";
import type { CostUnknownReason } from "./exposure";
import { fromUnits, toUnits } from "./money-units";
import type { BudgetPeriod } from "./periods";

/** USD caps per period; absent = uncapped. */
export interface SpendCaps {
  readonly daily?: number;
  readonly monthly?: number;
}

export interface AttemptRef {
  readonly attemptId: string;
  readonly requestId: string;
  readonly instance: string;
}

export interface SpendReservation extends AttemptRef {
  /** The attempt's worst case. */
  readonly usd: Usd;
  /** How long the reservation counts unless settled first: the attempt's deadline plus a grace. */
  readonly lapseAfterMs: number;
  readonly caps: SpendCaps;
}

/**
 * What a reconciliation needs about an attempt of unknown cost: the call as it was sent (to find
 * its work at the provider), its ledger row as written (to correct it once the cost is known) and
 * what storing its images needs (`Store`: the core's AdoptionStore, src/core/adopt-images.ts; this
 * folder only keeps it). The store inputs hold the prompt (the sidecar records it), as the spec
 * does: the book is the caller's own object, and a settle drops the hint; the ledger row never
 * has it.
 */
export interface ReconcileHint<Store = unknown> {
  readonly spec: GenerationSpec;
  /** Worker clock (ms) when the call went out. */
  readonly sentAt: number;
  readonly event: UsageEvent;
  /** Absent on attempts held by code that kept no store inputs: their images are not stored. */
  readonly store?: Store;
}

/** How an attempt ended, for the book: what it cost, or that nobody knows yet. */
export type Settlement =
  | { readonly kind: "charged"; readonly usd: Usd }
  | { readonly kind: "unknown"; readonly reason: CostUnknownReason; readonly worstCaseUsd: Usd; readonly reconcile?: ReconcileHint };

export interface PeriodBudget {
  readonly period: BudgetPeriod;
  readonly capUsd: Usd | null;
  readonly spentUsd: Usd;
  /** Reservations in flight plus attempts whose cost is not known yet (at their worst case). */
  readonly reservedUsd: Usd;
  /** null when uncapped; never negative. */
  readonly remainingUsd: Usd | null;
  readonly resetsAt: string;
  /** When money held now comes back at the latest: the earliest lapse of a reservation in flight, else the reset. */
  readonly moneyBackAt: string;
}

export type ReserveAnswer =
  | { readonly ok: true; readonly reservedUsd: Usd }
  | { readonly ok: false; readonly refusedBy: PeriodBudget; readonly requestedUsd: Usd; readonly retryAfterS: number };

export interface UnknownAttempt<Store = unknown> extends AttemptRef {
  readonly worstCaseUsd: Usd;
  readonly reason: string;
  /** null: held by code that kept no hint (nothing to look up; it stays held). */
  readonly reconcile: ReconcileHint<Store> | null;
}

export class CallerSpend {
  private readonly book: SpendBook;

  constructor(
    sql: SqlStorage,
    private readonly now: () => number,
  ) {
    this.book = new SpendBook(sql);
  }

  reserve(reservation: SpendReservation): ReserveAnswer {
    const now = this.now();
    const outcome = this.book.reserve(
      { ...refOf(reservation), units: toUnits(reservation.usd), lapsesAt: now + reservation.lapseAfterMs },
      capUnits(reservation.caps),
      now,
    );
    if (outcome.ok) return { ok: true, reservedUsd: fromUnits(outcome.units) };
    const refusedBy = periodBudget(outcome.refusedBy);
    const retryAfterS = Math.max(1, Math.ceil((Date.parse(refusedBy.moneyBackAt) - now) / 1000));
    return { ok: false, refusedBy, requestedUsd: fromUnits(outcome.requestedUnits), retryAfterS };
  }

  /** Idempotent: the first settlement of an attempt counts; an unknown one is replaced by the charge a reconciliation finds. */
  settle(attempt: AttemptRef, settlement: Settlement): void {
    const now = this.now();
    if (settlement.kind === "charged") this.book.settle(attempt.attemptId, toUnits(settlement.usd), now);
    else
      this.book.holdUnknown(
        { ...refOf(attempt), units: toUnits(settlement.worstCaseUsd) } satisfies HoldInput,
        settlement.reason,
        now,
        settlement.reconcile ? JSON.stringify(settlement.reconcile) : null,
      );
  }

  budget(caps: SpendCaps): PeriodBudget[] {
    return this.book.periods(capUnits(caps), this.now()).map(periodBudget);
  }

  /** Attempts whose cost is not known yet: what a reconciliation looks up at the provider. */
  unknownAttempts<Store>(): UnknownAttempt<Store>[] {
    return this.book.unknown().map((row) => unknownAttempt<Store>(row));
  }

  prune(): void {
    this.book.prune(this.now());
  }

  nextPruneAt(): number | null {
    return this.book.nextPruneAt();
  }
}

function refOf(attempt: AttemptRef): AttemptRef {
  return { attemptId: attempt.attemptId, requestId: attempt.requestId, instance: attempt.instance };
}

/** `Store`: what the hint's store inputs were when settled (the book keeps JSON as it got it). */
function unknownAttempt<Store>(row: AttemptSpendRow): UnknownAttempt<Store> {
  return {
    attemptId: row.attempt_id,
    requestId: row.request_id,
    instance: row.instance,
    worstCaseUsd: fromUnits(row.held_units),
    reason: row.reason ?? "",
    reconcile: row.reconcile === null ? null : (JSON.parse(row.reconcile) as ReconcileHint<Store>),
  };
}

function capUnits(caps: SpendCaps): PeriodCaps {
  return {
    ...(caps.daily !== undefined && { daily: toUnits(caps.daily) }),
    ...(caps.monthly !== undefined && { monthly: toUnits(caps.monthly) }),
  };
}

function periodBudget(state: PeriodState): PeriodBudget {
  const used = state.spentUnits + state.heldUnits;
  return {
    period: state.period,
    capUsd: state.capUnits === undefined ? null : fromUnits(state.capUnits),
    spentUsd: fromUnits(state.spentUnits),
    reservedUsd: fromUnits(state.heldUnits),
    remainingUsd: state.capUnits === undefined ? null : fromUnits(Math.max(0, state.capUnits - used)),
    resetsAt: state.resetsAt,
    moneyBackAt: state.nextLapseAt === null ? state.resetsAt : new Date(Math.min(state.nextLapseAt, Date.parse(state.resetsAt))).toISOString(),
  };
}
