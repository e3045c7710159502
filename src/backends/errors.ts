/**
 * Backend failures, classified once. The kind decides whether a fallback chain may move on and
 * (through src/core/problem.ts) the answer the caller gets; `detail` is the human sentence that
 * says what to do.
 */
export type BackendErrorKind =
  /** The instance lacks a secret it needs. */
  | "not_configured"
  /** The provider refused our credentials. */
  | "auth"
  /** The provider rejected the request itself: retrying elsewhere will not help. */
  | "invalid_request"
  | "insufficient_credit"
  | "rate_limited"
  /** Network failure, 5xx, tunnel down: the provider could not be reached or answered badly. */
  | "unavailable"
  | "timeout"
  /** The provider ran the job and it failed. */
  | "failed"
  /** Nobody waits any more (the client hung up, the job's owner canceled it); the provider's work was stopped. */
  | "canceled"
  /** The provider made (and billed) the images, but they could not be fetched before they expired. */
  | "paid_output_lost";

/** One field-level complaint from a provider (Replicate's `invalid_fields` entries, ComfyUI's node errors). */
export type InvalidField = { readonly [member: string]: string | number | boolean | null };

export class BackendError extends Error {
  override readonly name = "BackendError";
  constructor(
    readonly kind: BackendErrorKind,
    readonly detail: string,
    readonly extra: {
      /** Provider job id, when one was created. */
      readonly externalId?: string;
      /** Field-level problems to pass on to the caller (e.g. Replicate's invalid_fields). */
      readonly invalidFields?: readonly InvalidField[];
      /**
       * The provider may have accepted (and billed) the work before the failure (a 5xx or a lost
       * connection after a create was sent): trying another backend could pay twice.
       */
      readonly ambiguous?: boolean;
      /** What the provider still bills for this failed attempt (`paid_output_lost`). */
      readonly charged?: { readonly images: number; readonly width: number; readonly height: number };
      /** The provider's HTTP status when it answered (5xx tells "answered badly" from "unreachable"). */
      readonly httpStatus?: number;
      /** How long until asking again can help (a backend cooling down): the answer's Retry-After. */
      readonly retryAfterMs?: number;
      readonly cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: extra.cause });
  }
}
