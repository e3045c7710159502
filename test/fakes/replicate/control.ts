/**
 * The fake Replicate's control surface as types: the scenario a test sets and the records it
 * reads back. No node:* imports here, so tests running inside workerd can import it.
 */

export type WebhookEvent = "start" | "output" | "logs" | "completed";

/** One scripted answer, consumed by the next matching request. */
export interface Scripted {
  readonly status?: number;
  readonly body?: unknown;
  /** Seconds, put in the 429 body as `retry_after`. */
  readonly retry_after?: number;
  /** Value of a `Retry-After` header. */
  readonly retry_after_header?: string | number;
  /** Close the connection without answering. */
  readonly network_error?: boolean;
  /** Answer this HTML page (text/html) instead of Replicate's JSON: what a proxy in front of the API sends. */
  readonly html?: string;
  /**
   * Creates only: make the prediction as usual, then send this answer instead of it (a response
   * lost after Replicate accepted, and will bill, the work).
   */
  readonly after_create?: boolean;
  /**
   * Hold the answer this long first (ms; until the client hangs up, if sooner), then answer as
   * scripted, or as usual when nothing else is scripted. With `after_create`, the prediction is
   * made before the wait: a create whose answer never comes while the work runs.
   */
  readonly hang_ms?: number;
}

export interface WebhookBehaviour {
  /** Events never sent (still recorded, with `dropped: true`). */
  readonly drop?: readonly WebhookEvent[];
  /** Events sent twice (same webhook-id). */
  readonly duplicate?: readonly WebhookEvent[];
  /** Send `completed` first and the earlier events after it. */
  readonly reorder?: boolean;
  /**
   * Waits before each retry of a `completed` delivery the receiver did not answer with 2xx
   * (ms, multiplied by time_scale). Replicate retries only `completed`, for about a minute.
   */
  readonly retry_delays_ms?: readonly number[];
}

export interface Scenario {
  readonly next_create?: readonly Scripted[];
  readonly next_get?: readonly Scripted[];
  readonly next_cancel?: readonly Scripted[];
  readonly next_download?: readonly Scripted[];
  /** Time spent `starting` (booting), ms. */
  readonly starting_ms?: number;
  /** Time spent `processing` before the outputs exist, ms. */
  readonly processing_ms?: number;
  /** Output written, status still `processing`, metrics empty (what sync mode may return), ms. */
  readonly finalize_ms?: number;
  /** `hang`: stays processing until canceled or its Cancel-After deadline. */
  readonly outcome?: "succeeded" | "failed" | "canceled" | "hang";
  /** The `error` of a failed prediction. */
  readonly error?: string;
  readonly output_mode?: "url" | "data_uri";
  /** Put outputs on this host instead of the fake's own (they are not served). */
  readonly output_host?: string;
  /** After this long the outputs are deleted: URLs 404, `output: null, data_removed: true`. */
  readonly output_ttl_ms?: number;
  /** Serve downloads without Content-Length (chunked). */
  readonly chunked_downloads?: boolean;
  /** Multiplies durations clients give in seconds: Prefer wait, Cancel-After, webhook retries. */
  readonly time_scale?: number;
  readonly webhooks?: WebhookBehaviour;
  /** Predictions per page of GET /v1/predictions (Replicate's is 100). */
  readonly list_page_size?: number;
  /**
   * Test control: what predictions report as `model` instead of the model's name (e.g.
   * `unknown/unknown`), to check that nothing downstream prices or names a result by the echo.
   */
  readonly model_echo?: string;
  readonly next_list?: readonly Scripted[];
}

/** One webhook attempt, as sent (or as it would have been sent, when dropped). */
export interface DeliveryRecord {
  readonly webhook_id: string;
  readonly event: WebhookEvent;
  readonly attempt: number;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly dropped: boolean;
  /** The receiver's status code, when it answered. */
  status?: number;
  error?: string;
}

/** One request the fake received (API calls and downloads). */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  /** Only prefer, cancel-after and content-type: never the token. */
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly at: number;
}
