/**
 * The wire form of a usage event (queue messages, dead letters): validated on the way in, so a
 * malformed message is caught at the consumer instead of as a database constraint error.
 */
import { z } from "zod";
import { usd } from "../lib/money";
import { MAX_CLIENT_REQUEST_ID_CHARS, REF_PATTERN, type UsageEvent } from "./event";

const isoTime = z.iso.datetime({ offset: false, precision: 3 });

export const usageEventSchema = z.strictObject({
  event_id: z.string().min(1).max(64),
  occurred_at: isoTime,
  request_id: z.string().min(1).max(255),
  caller: z.string().min(1).max(64),
  source: z.string().max(64).nullable(),
  backend: z.string().min(1).max(64),
  backend_type: z.string().min(1).max(32),
  model: z.string().min(1).max(200),
  model_version: z.string().max(200).nullable(),
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  prompt_hash: z.string().regex(/^[0-9a-f]{64}$/),
  width: z.int().min(1),
  height: z.int().min(1),
  images_requested: z.int().min(1),
  images_produced: z.int().min(0),
  latency_ms: z.int().min(0),
  cost_usd_estimate: z
    .number()
    .min(0)
    .nullable()
    .transform((v) => (v === null ? null : usd(v))),
  price_id: z.int().positive().nullable(),
  success: z.boolean(),
  error_code: z.string().max(64).nullable(),
  error_message: z.string().max(2000).nullable(),
  external_id: z.string().max(200).nullable(),
  attempt: z.int().min(1),
  // Absent in events queued before these columns existed: read as null.
  client_request_id: z.string().min(1).max(MAX_CLIENT_REQUEST_ID_CHARS).nullable().default(null),
  ref: z.string().regex(REF_PATTERN).nullable().default(null),
  reserved_usd: z
    .number()
    .min(0)
    .nullable()
    .default(null)
    .transform((v) => (v === null ? null : usd(v))),
  provider_predict_time_s: z.number().min(0).nullable().default(null),
  provider_image_count: z.int().min(0).nullable().default(null),
  cost_unknown_reason: z.string().min(1).max(64).nullable().default(null),
}) satisfies z.ZodType<UsageEvent, unknown>;
