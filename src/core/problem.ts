/**
 * What a failure means to the caller, decided once for every transport: the HTTP layer renders
 * it as problem+json (RFC 9457), a failed job carries it as its `error`, and other renderers
 * (OpenAI-shaped errors) start from the same object. Status codes live here, not in backends.
 */
import { BackendError, type BackendErrorKind, type InvalidField } from "../backends/errors";
import { ConfigError } from "../config/load";
import { BudgetExceededError, RequestLimitError } from "./spend-errors";
import { type FailedAttempt, GenerationFailedError, InputNotFoundError, InvalidRequestError, OutputConflictError } from "./errors";

export type ProblemType =
  | "invalid-request"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "not-acceptable"
  | "precondition-failed"
  | "conflict"
  | "payload-too-large"
  | "unsupported-media-type"
  | "backend-failed"
  | "backend-timeout"
  | "backend-unavailable"
  | "insufficient-credit"
  | "canceled"
  | "paid-output-lost"
  | "budget-exceeded"
  | "rate-limited"
  | "idempotency-key-reused"
  | "idempotency-key-in-use"
  | "misconfigured"
  | "dependency-unavailable"
  | "internal";

const PROBLEM_TITLES: Readonly<Record<ProblemType, string>> = {
  "invalid-request": "Invalid request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  "not-found": "Not found",
  "method-not-allowed": "Method not allowed",
  "not-acceptable": "Not acceptable",
  "precondition-failed": "Precondition failed",
  conflict: "Conflict",
  "payload-too-large": "Payload too large",
  "unsupported-media-type": "Unsupported media type",
  "backend-failed": "Backend failed",
  "backend-timeout": "Backend timed out",
  "backend-unavailable": "Backend unavailable",
  "insufficient-credit": "Insufficient credit",
  canceled: "Canceled",
  "paid-output-lost": "Images paid for but not stored",
  "budget-exceeded": "Spend cap reached",
  "rate-limited": "Too many requests",
  "idempotency-key-reused": "Idempotency key reused with another request",
  "idempotency-key-in-use": "Idempotency key in use",
  misconfigured: "Service misconfigured",
  "dependency-unavailable": "Dependency unavailable",
  internal: "Internal error",
};

export interface Problem {
  readonly type: ProblemType;
  readonly status: number;
  readonly detail: string;
  /** Extension members (RFC 9457 §3.2). */
  readonly extra?: ProblemExtensions;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The extension members this service uses; others may be added by a handler. */
interface ProblemExtensions {
  /** Field-level problems with the request. */
  readonly errors?: readonly { readonly field: string; readonly message: string }[];
  /** A failed generation: the backend that failed last, its latency and provider job id. */
  readonly backend?: string | null;
  readonly latency_ms?: number | null;
  readonly external_id?: string;
  /** The provider's own field-level complaints (e.g. Replicate's 422). */
  readonly invalid_fields?: readonly InvalidField[];
  /** Every failed attempt of the chain, in order. */
  readonly attempts?: readonly FailedAttempt[];
  readonly [member: string]: unknown;
}

/** The problem as JSON: `type` as a URN, its title, status, detail and the extension members. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extension: string]: unknown;
}

/** A client that went away gets no answer; 499 is what proxies log for it. */
export const CLIENT_CLOSED_REQUEST = 499;

const BY_BACKEND_KIND: Readonly<Record<BackendErrorKind, { readonly type: ProblemType; readonly status: number }>> = {
  invalid_request: { type: "invalid-request", status: 400 },
  insufficient_credit: { type: "insufficient-credit", status: 402 },
  not_configured: { type: "backend-unavailable", status: 503 },
  rate_limited: { type: "backend-unavailable", status: 503 },
  unavailable: { type: "backend-unavailable", status: 502 },
  timeout: { type: "backend-timeout", status: 504 },
  auth: { type: "backend-failed", status: 502 },
  failed: { type: "backend-failed", status: 502 },
  canceled: { type: "canceled", status: CLIENT_CLOSED_REQUEST },
  paid_output_lost: { type: "paid-output-lost", status: 502 },
};

/**
 * The problem for any error the pipeline or a job may raise. Unknown errors become `internal`
 * with a detail that leaks nothing; the caller logs them (`isUnexpected`).
 */
export function problemFor(error: unknown): Problem {
  if (error instanceof BudgetExceededError) {
    return {
      type: "budget-exceeded",
      status: 402,
      detail: `${error.message}. Ask the operator to raise the cap, or retry after ${error.retryAfterS} s.`,
      extra: {
        cap: error.period,
        cap_usd: error.capUsd,
        spent_usd: error.spentUsd,
        reserved_usd: error.reservedUsd,
        requested_usd: error.requestedUsd,
        resets_at: error.resetsAt,
        money_back_at: error.moneyBackAt,
        retry_after: error.retryAfterS,
      },
      headers: { "retry-after": String(error.retryAfterS) },
    };
  }
  if (error instanceof RequestLimitError) {
    return {
      type: "invalid-request",
      status: 400,
      detail: error.message,
      extra: { errors: [{ field: error.field, message: error.detail }], limit: error.limit },
    };
  }
  if (error instanceof InvalidRequestError) {
    return { type: "invalid-request", status: 400, detail: error.message, extra: { errors: [{ field: error.field, message: error.detail }] } };
  }
  if (error instanceof InputNotFoundError) {
    return {
      type: "not-found",
      status: 404,
      detail: error.message,
      extra: { errors: [{ field: error.field, message: `no image "${error.key}" for this caller` }] },
    };
  }
  if (error instanceof OutputConflictError) return { type: "conflict", status: 409, detail: error.message };
  if (error instanceof GenerationFailedError) {
    const last = error.attempts.at(-1);
    const retryAfterS = retryAfterSeconds(error.last.extra.retryAfterMs);
    return {
      ...BY_BACKEND_KIND[error.last.kind],
      ...(retryAfterS !== undefined && { headers: { "retry-after": String(retryAfterS) } }),
      detail: error.last.detail,
      extra: {
        ...(retryAfterS !== undefined && { retry_after: retryAfterS }),
        backend: last?.backend ?? null,
        latency_ms: last?.latency_ms ?? null,
        ...(error.last.extra.externalId !== undefined && { external_id: error.last.extra.externalId }),
        ...(error.last.extra.invalidFields && { invalid_fields: error.last.extra.invalidFields }),
        attempts: error.attempts,
      },
    };
  }
  if (error instanceof BackendError) {
    const retryAfterS = retryAfterSeconds(error.extra.retryAfterMs);
    return {
      ...BY_BACKEND_KIND[error.kind],
      ...(retryAfterS !== undefined && { headers: { "retry-after": String(retryAfterS) }, extra: { retry_after: retryAfterS } }),
      detail: error.detail,
    };
  }
  if (error instanceof ConfigError) return { type: "misconfigured", status: 500, detail: error.message };
  return { type: "internal", status: 500, detail: "internal error; the request id identifies it in the logs" };
}

/** A wait in ms as Retry-After wants it: whole seconds, rounded up, never 0 (which invites an instant retry). */
function retryAfterSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.max(1, Math.ceil(ms / 1000));
}

export function problemDocument(problem: Problem, requestId?: string): ProblemDocument {
  return {
    type: `urn:imagen-edge:problem:${problem.type}`,
    title: PROBLEM_TITLES[problem.type],
    status: problem.status,
    detail: problem.detail,
    ...(requestId !== undefined && { request_id: requestId }),
    ...problem.extra,
  };
}
