/** Budget periods are UTC calendar days and months; a cap resets at the next boundary. */
export type BudgetPeriod = "daily" | "monthly";

export const BUDGET_PERIODS: readonly BudgetPeriod[] = ["daily", "monthly"];

/** "2026-11-30": the key spend is summed under. */
export function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The first day (inclusive) of the period containing `ms`, as a day key. */
export function periodStartDay(period: BudgetPeriod, ms: number): string {
  const day = dayKey(ms);
  return period === "daily" ? day : `${day.slice(0, 7)}-01`;
}

/** When the period containing `ms` ends and its cap starts afresh (ISO 8601, UTC). */
export function periodResetsAt(period: BudgetPeriod, ms: number): string {
  const d = new Date(ms);
  const next = period === "daily" ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return new Date(next).toISOString();
}
