/**
 * USD amounts live in one type and are rounded in one place. The ledger column is
 * numeric(10,4) (the column predates ImaGen Edge and keeps its type), so estimates carry four decimals.
 */
declare const usdBrand: unique symbol;
export type Usd = number & { readonly [usdBrand]: true };

export const USD_DECIMALS = 4;

export function usd(amount: number): Usd {
  if (!Number.isFinite(amount) || amount < 0) throw new RangeError(`not a USD amount: ${amount}`);
  const factor = 10 ** USD_DECIMALS;
  return (Math.round(amount * factor) / factor) as Usd;
}

export const ZERO_USD = usd(0);
