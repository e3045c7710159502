/**
 * One usage event per backend attempt, success or failure. Field names are
 * the ledger's column names. The prompt itself never appears: only its sha256.
 */
import type { Usd } from "../lib/money";

export interface UsageEvent {
  /** Unique per attempt; the ledger's idempotency key. */
  readonly event_id: string;
  /** ISO 8601 time the attempt ended. */
  readonly occurred_at: string;
  readonly request_id: string;
  readonly caller: string;
  /** Free attribution label from the request ("webhook", "admin", "script"...). */
  readonly source: string | null;
  /** Backend instance name. */
  readonly backend: string;
  readonly backend_type: string;
  readonly model: string;
  readonly model_version: string | null;
  readonly seed: number | null;
  readonly prompt_hash: string;
  readonly width: number;
  readonly height: number;
  readonly images_requested: number;
  readonly images_produced: number;
  readonly latency_ms: number;
  readonly cost_usd_estimate: Usd | null;
  /** Id of the price row the estimate used; null when no price was known. */
  readonly price_id: number | null;
  readonly success: boolean;
  readonly error_code: string | null;
  readonly error_message: string | null;
  /** The provider's job id (e.g. Replicate prediction id). */
  readonly external_id: string | null;
  /** 1-based position in the fallback chain. */
  readonly attempt: number;
  // Attribution and reconciliation (migrations/d1/0003). Optional so events queued by an older
  // Worker stay valid; the ledgers store a missing one as null and always read it back.
  /** The caller's own X-Request-Id: correlation only (request_id is ours and unique). */
  readonly client_request_id?: string | null;
  /** Caller-chosen attribution, e.g. a post id (REF_PATTERN). */
  readonly ref?: string | null;
  /** What the spend guard reserved for this attempt. */
  readonly reserved_usd?: Usd | null;
  /** Provider-reported compute time, e.g. Replicate's metrics.predict_time. */
  readonly provider_predict_time_s?: number | null;
  /** Images the provider says it produced. */
  readonly provider_image_count?: number | null;
  /** Why `cost_usd_estimate` is NULL on an attempt that may have been billed (src/spend/exposure.ts). */
  readonly cost_unknown_reason?: string | null;
}

export const MAX_REF_CHARS = 200;
/** What a caller may send as a ref: a short, URL- and CSV-safe label such as "post/2026-05-04-cats". */
export const REF_PATTERN = new RegExp(`^[A-Za-z0-9._:/#=-]{1,${MAX_REF_CHARS}}$`);
export const MAX_CLIENT_REQUEST_ID_CHARS = 128;

/** Where the pipeline hands events. Delivery (queue, ledger, retries) is the sink's business. */
export interface UsageSink {
  record(event: UsageEvent): Promise<void>;
}
