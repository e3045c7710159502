/**
 * The body of `GET /v1/pricing`: the current price table with each rate's age and source, the
 * held changes that can still be approved (not superseded, expired or outdated: held.ts), the
 * last refresh's result and its warnings. Built here so the handler stays a
 * one-liner; the zod schema doubles as the OpenAPI description.
 */
import { z } from "zod";
import type { Clock } from "../lib/clock";
import { currentRow, heldStanding } from "./held";
import { priceKeyFields, priceRowFields } from "./price-rows";
import type { PriceStore } from "./store";
import { pricingWarnings } from "./warnings";

const rateSchema = z.object({
  ...priceRowFields,
  /** Whole days since this rate took effect. */
  age_days: z.number().int(),
});

const heldSchema = z.object({
  id: z.number().int(),
  ...priceKeyFields,
  old_rate: z.number().nullable(),
  new_rate: z.number(),
  source: z.string(),
  reason: z.string(),
  /** The latest refresh that proposed it. */
  detected_at: z.string(),
  /** After this the proposal expires (pricing.held_max_age_days) unless a refresh proposes it again. */
  expires_at: z.string(),
});

const lastRefreshSchema = z.object({
  started_at: z.string(),
  finished_at: z.string(),
  ok: z.boolean(),
  /** The RefreshReport (src/pricing/refresh.ts) as recorded. */
  report: z.unknown(),
});

export const pricingOverviewSchema = z.object({
  generated_at: z.string(),
  rates: z.array(rateSchema),
  held: z.array(heldSchema),
  last_refresh: lastRefreshSchema.nullable(),
  /** Things to look at, e.g. a priced model a source no longer lists. */
  warnings: z.array(z.string()),
});

export type PricingOverview = z.infer<typeof pricingOverviewSchema>;

const DAY_MS = 86_400_000;

/** Reads the store (three reads, in parallel). A store failure propagates: the handler answers 503. */
export async function buildPricingOverview(store: PriceStore, clock: Clock, options: { readonly heldMaxAgeDays: number }): Promise<PricingOverview> {
  const [current, held, lastRun] = await Promise.all([store.current(), store.held(), store.lastRun()]);
  const now = clock.now();
  const rates = [...current]
    .sort((a, b) =>
      `${a.provider}|${a.model}|${a.unit}|${a.quality ?? ""}|${a.size ?? ""}`.localeCompare(
        `${b.provider}|${b.model}|${b.unit}|${b.quality ?? ""}|${b.size ?? ""}`,
      ),
    )
    .map((row) => ({
      id: row.id,
      provider: row.provider,
      model: row.model,
      unit: row.unit,
      quality: row.quality,
      size: row.size,
      usd_rate: row.usd_rate,
      source: row.source,
      fetched_at: row.fetched_at,
      effective_from: row.effective_from,
      age_days: Math.max(0, Math.floor((now - Date.parse(row.effective_from)) / DAY_MS)),
    }));
  return {
    generated_at: new Date(now).toISOString(),
    rates,
    held: [...held]
      .sort((a, b) => b.detected_at.localeCompare(a.detected_at))
      .flatMap((h) => {
        const standing = heldStanding(h, currentRow(current, h), now, options.heldMaxAgeDays);
        const { superseded_at: _superseded, rejected_at: _rejected, ...shown } = h;
        return standing.stands ? [{ ...shown, expires_at: standing.expires_at }] : [];
      }),
    last_refresh: lastRun ? { started_at: lastRun.started_at, finished_at: lastRun.finished_at, ok: lastRun.ok, report: lastRun.report } : null,
    warnings: pricingWarnings(lastRun),
  };
}
