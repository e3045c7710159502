/**
 * RFC 9457 problem details: every error answer is application/problem+json with a stable `type`,
 * a human `detail` that says what to do, and the request id.
 */
import { HTTPException } from "hono/http-exception";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export type ProblemType =
  | "invalid-request"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "conflict"
  | "payload-too-large"
  | "unsupported-media-type"
  | "backend-failed"
  | "backend-timeout"
  | "backend-unavailable"
  | "insufficient-credit"
  | "budget-exceeded"
  | "rate-limited"
  | "idempotency-key-reused"
  | "idempotency-key-in-use"
  | "misconfigured"
  | "internal";

const TITLES: Record<ProblemType, string> = {
  "invalid-request": "Invalid request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  "not-found": "Not found",
  "method-not-allowed": "Method not allowed",
  conflict: "Conflict",
  "payload-too-large": "Payload too large",
  "unsupported-media-type": "Unsupported media type",
  "backend-failed": "Backend failed",
  "backend-timeout": "Backend timed out",
  "backend-unavailable": "Backend unavailable",
  "insufficient-credit": "Insufficient credit",
  "budget-exceeded": "Spend cap reached",
  "rate-limited": "Too many requests",
  "idempotency-key-reused": "Idempotency key reused with another request",
  "idempotency-key-in-use": "Idempotency key in use",
  misconfigured: "Service misconfigured",
  internal: "Internal error",
};

export interface Problem {
  readonly type: ProblemType;
  readonly status: number;
  readonly detail: string;
  /** Extension members (RFC 9457 §3.2), e.g. `errors`, `latency_ms`, `attempts`. */
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

export function problemResponse(problem: Problem, requestId: string | undefined): Response {
  const body = {
    type: `urn:imagen-edge:problem:${problem.type}`,
    title: TITLES[problem.type],
    status: problem.status,
    detail: problem.detail,
    ...(requestId && { request_id: requestId }),
    ...problem.extra,
  };
  return new Response(JSON.stringify(body), {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...problem.headers },
  });
}

/** Thrown by handlers and middleware; the app's error handler renders it (with the request id). */
export class ProblemException extends HTTPException {
  constructor(readonly problem: Problem) {
    super(problem.status as never, { message: problem.detail });
  }
}

export function problem(
  type: ProblemType,
  status: number,
  detail: string,
  options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
): ProblemException {
  return new ProblemException({ type, status, detail, ...options });
}
