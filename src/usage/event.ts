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
}

/** Where the pipeline hands events. Delivery (queue, ledger, retries) is the sink's business. */
export interface UsageSink {
  record(event: UsageEvent): Promise<void>;
}
