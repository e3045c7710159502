/**
 * Whether a held price change still stands, and approving one. A proposal is outdated when a later
 * refresh read another value for its line (superseded), when no refresh has proposed it for
 * `held_max_age_days` (expired), or when the line's current rate is no longer the rate it was
 * compared with (changed by hand since). Approving an outdated proposal would install a price
 * nobody checked against today's: it is refused. An operator can also reject a proposal: it no longer
 * stands, and the refresh does not propose the same rate again for its line (refresh.ts).
 */
import type { Clock } from "../lib/clock";
import { priceKeyId, roundRate } from "./model-key";
import type { HeldChange, PriceKey, PriceRow, PriceStore } from "./store";

export const DEFAULT_HELD_MAX_AGE_DAYS = 14;
const DAY_MS = 86_400_000;

type StaleReason = "superseded" | "expired" | "outdated" | "rejected";

export type HeldStanding =
  | { readonly stands: true; readonly expires_at: string }
  | { readonly stands: false; readonly reason: StaleReason; readonly detail: string };

/** `current` is the line's current row, or undefined when the line has no price. */
export function heldStanding(change: HeldChange, current: PriceRow | undefined, now: number, maxAgeDays: number): HeldStanding {
  if (change.rejected_at !== null) {
    return { stands: false, reason: "rejected", detail: `an operator rejected it at ${change.rejected_at}` };
  }
  if (change.superseded_at !== null) {
    return { stands: false, reason: "superseded", detail: `a refresh at ${change.superseded_at} read another value for this price line` };
  }
  const expiresAt = Date.parse(change.detected_at) + maxAgeDays * DAY_MS;
  if (now >= expiresAt) {
    return {
      stands: false,
      reason: "expired",
      detail: `last proposed at ${change.detected_at}, more than ${maxAgeDays} days ago (pricing.held_max_age_days)`,
    };
  }
  const currentRate = current ? roundRate(current.usd_rate) : null;
  const proposedAgainst = change.old_rate === null ? null : roundRate(change.old_rate);
  if (currentRate !== proposedAgainst) {
    return {
      stands: false,
      reason: "outdated",
      detail: `proposed against ${proposedAgainst === null ? "no price" : `$${proposedAgainst}`}, but the current rate is ${currentRate === null ? "none" : `$${currentRate}`}`,
    };
  }
  return { stands: true, expires_at: new Date(expiresAt).toISOString() };
}

export type Approval =
  | { readonly kind: "approved"; readonly price: PriceRow }
  | { readonly kind: "not-found" }
  | { readonly kind: "refused"; readonly reason: StaleReason; readonly detail: string };

/** Install a standing held change as the current price of its line, dated by `clock`. */
export async function approveHeldChange(store: PriceStore, id: number, options: { readonly clock: Clock; readonly maxAgeDays: number }): Promise<Approval> {
  const [held, current] = await Promise.all([store.held(), store.current()]);
  const change = held.find((h) => h.id === id);
  if (!change) return { kind: "not-found" };
  const now = options.clock.now();
  const standing = heldStanding(change, currentRow(current, change), now, options.maxAgeDays);
  if (!standing.stands) return { kind: "refused", reason: standing.reason, detail: standing.detail };
  const price = await store.approveHeld(id, new Date(now).toISOString());
  // Between the read and the write a refresh superseded it, or another approval took it.
  return price
    ? { kind: "approved", price }
    : { kind: "refused", reason: "superseded", detail: "the proposal was superseded or approved while this approval ran" };
}

export type Rejection =
  | { readonly kind: "rejected"; readonly change: HeldChange & { readonly rejected_at: string } }
  | { readonly kind: "not-found" }
  | { readonly kind: "refused"; readonly reason: "superseded" | "rejected"; readonly detail: string };

/**
 * Reject a held change, dated by `clock`. An expired or outdated proposal can still be rejected
 * (the refresh would otherwise propose it again); a superseded or already rejected one cannot.
 */
export async function rejectHeldChange(store: PriceStore, id: number, options: { readonly clock: Clock }): Promise<Rejection> {
  const change = (await store.held()).find((h) => h.id === id);
  if (!change) return { kind: "not-found" };
  if (change.rejected_at !== null) return { kind: "refused", reason: "rejected", detail: `already rejected at ${change.rejected_at}` };
  if (change.superseded_at !== null) {
    return { kind: "refused", reason: "superseded", detail: `a refresh at ${change.superseded_at} read another value for this price line` };
  }
  const at = new Date(options.clock.now()).toISOString();
  if (await store.rejectHeld(id, at)) return { kind: "rejected", change: { ...change, rejected_at: at } };
  return { kind: "refused", reason: "superseded", detail: "the proposal was superseded, approved or rejected while this rejection ran" };
}

/** The rejected proposals that still hold (not superseded): line and rate, as `heldRateId` spells them. */
export function rejectedRates(held: readonly HeldChange[]): Set<string> {
  return new Set(held.filter((h) => h.rejected_at !== null && h.superseded_at === null).map((h) => heldRateId(h, h.new_rate)));
}

export function heldRateId(key: PriceKey, rate: number): string {
  return `${priceKeyId(key)}|${roundRate(rate)}`;
}

export function currentRow(current: readonly PriceRow[], change: HeldChange): PriceRow | undefined {
  const key = priceKeyId(change);
  return current.find((row) => priceKeyId(row) === key);
}
