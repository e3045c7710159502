/**
 * Backend failures, classified once. The kind decides the HTTP answer and whether a fallback
 * chain may move on; `detail` is the human sentence that says what to do.
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
  | "failed";

export class BackendError extends Error {
  override readonly name = "BackendError";
  constructor(
    readonly kind: BackendErrorKind,
    readonly detail: string,
    readonly extra: {
      /** Provider job id, when one was created. */
      readonly externalId?: string;
      /** Field-level problems to pass on to the caller (e.g. Replicate's invalid_fields). */
      readonly invalidFields?: readonly unknown[];
      /**
       * The provider may have accepted (and billed) the work before the failure (a 5xx or a lost
       * connection after a create was sent): trying another backend could pay twice.
       */
      readonly ambiguous?: boolean;
      readonly cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: extra.cause });
  }
}

/** HTTP status for a backend failure that reached the caller. */
export function httpStatusForBackendError(kind: BackendErrorKind): number {
  switch (kind) {
    case "invalid_request":
      return 400;
    case "insufficient_credit":
      return 402;
    case "not_configured":
      return 503;
    case "rate_limited":
      return 503;
    case "timeout":
      return 504;
    case "auth":
    case "unavailable":
    case "failed":
      return 502;
  }
}

/** The problem `type` (its last URN segment) for a backend failure; shared by HTTP answers and async jobs. */
export type BackendProblemType = "invalid-request" | "insufficient-credit" | "backend-timeout" | "backend-unavailable" | "backend-failed";

export function problemTypeForBackendError(kind: BackendErrorKind): BackendProblemType {
  switch (kind) {
    case "invalid_request":
      return "invalid-request";
    case "insufficient_credit":
      return "insufficient-credit";
    case "timeout":
      return "backend-timeout";
    case "not_configured":
    case "rate_limited":
    case "unavailable":
      return "backend-unavailable";
    case "auth":
    case "failed":
      return "backend-failed";
  }
}
