/**
 * The guard sums money in SQLite. Summing floats drifts (0.1 + 0.2), so amounts are stored as
 * integer ten-thousandths of a dollar — the precision `Usd` is rounded to — and converted back at
 * the edge.
 */
import { type Usd, USD_DECIMALS, usd } from "../lib/money";

const UNITS_PER_USD = 10 ** USD_DECIMALS;

export function toUnits(amount: Usd | number): number {
  return Math.round(usd(amount) * UNITS_PER_USD);
}

export function fromUnits(units: number): Usd {
  return usd(units / UNITS_PER_USD);
}
