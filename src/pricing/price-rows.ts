/**
 * Stored price rows back into the PriceStore types, for both stores: D1 gives 0/1 booleans and
 * JSON as text, PostgREST gives Postgres' time spelling. Times come out canonical
 * (`2026-11-22T00:00:00.000Z`) so both stores answer alike.
 */
import { z } from "zod";
import { isoTime } from "../lib/iso-time";
import type { HeldChange, PriceRow, RefreshRun } from "./store";

const time = isoTime;
const id = z.coerce.number().int().positive();
const rate = z.coerce.number().nonnegative();
const unit = z.enum(["image", "megapixel", "second"]);

/** The fields that name one price line (a PriceKey); shared with the /v1/pricing schema. */
export const priceKeyFields = {
  provider: z.string(),
  model: z.string(),
  unit,
  quality: z.string().nullable(),
  size: z.string().nullable(),
};

/** A price row's fields as the API shows them (without `effective_to`); shared by the /v1/pricing schemas. */
export const priceRowFields = {
  id: z.number().int(),
  ...priceKeyFields,
  usd_rate: z.number(),
  source: z.string(),
  fetched_at: z.string(),
  effective_from: z.string(),
};

const priceRowSchema = z.object({
  id,
  ...priceKeyFields,
  usd_rate: rate,
  source: z.string(),
  fetched_at: time,
  effective_from: time,
  effective_to: time.nullable(),
});

const heldChangeSchema = z.object({
  id,
  ...priceKeyFields,
  old_rate: rate.nullable(),
  new_rate: rate,
  source: z.string(),
  reason: z.string(),
  detected_at: time,
  superseded_at: time.nullable(),
  rejected_at: time.nullable(),
});

const refreshRunSchema = z.object({
  id,
  started_at: time,
  finished_at: time,
  ok: z.union([z.boolean(), z.literal(0).transform(() => false), z.literal(1).transform(() => true)]),
  // D1 keeps the report as JSON text, Postgres as jsonb.
  report: z.unknown().transform((r) => (typeof r === "string" ? (JSON.parse(r) as unknown) : r)),
});

export function toPriceRow(value: unknown): PriceRow {
  return priceRowSchema.parse(value);
}

export function toHeldChange(value: unknown): HeldChange {
  return heldChangeSchema.parse(value);
}

export function toRefreshRun(value: unknown): RefreshRun {
  return refreshRunSchema.parse(value);
}
