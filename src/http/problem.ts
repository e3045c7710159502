/**
 * problem+json over HTTP (RFC 9457): the answer for a Problem (src/core/problem.ts), and the
 * exception handlers and middleware throw to answer with one.
 */
import { HTTPException } from "hono/http-exception";
import { type Problem, problemDocument, type ProblemType } from "../core/problem";

export type { Problem, ProblemType } from "../core/problem";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemResponse(problem: Problem, requestId: string | undefined): Response {
  return new Response(JSON.stringify(problemDocument(problem, requestId)), {
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
