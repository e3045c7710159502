/**
 * Every failure becomes a problem+json answer here, in one place: pipeline errors, validation,
 * backend failures, misconfiguration, and anything unexpected (logged, never leaked).
 */
import { HTTPException } from "hono/http-exception";
import { httpStatusForBackendError, problemTypeForBackendError } from "../backends/errors";
import { ConfigError } from "../config/load";
import { guardProblem } from "../guard/problem-mapping";
import { GenerationFailedError, InvalidRequestError, OutputConflictError } from "../core/errors";
import type { Logger } from "../lib/log";
import { type Problem, ProblemException, type ProblemType, problemResponse } from "./problem";

export function errorToResponse(error: unknown, requestId: string | undefined, log: Logger): Response {
  return problemResponse(toProblem(error, log), requestId);
}

function toProblem(error: unknown, log: Logger): Problem {
  if (error instanceof ProblemException) return error.problem;
  const refused = guardProblem(error);
  if (refused) return refused;
  if (error instanceof InvalidRequestError) {
    return {
      type: "invalid-request",
      status: 400,
      detail: error.message,
      extra: { errors: [{ field: error.field, message: error.detail }] },
    };
  }
  if (error instanceof OutputConflictError) return { type: "conflict", status: 409, detail: error.message };
  if (error instanceof GenerationFailedError) {
    const last = error.attempts[error.attempts.length - 1];
    return {
      type: problemTypeForBackendError(error.last.kind),
      status: httpStatusForBackendError(error.last.kind),
      detail: error.last.detail,
      extra: {
        backend: last?.backend,
        latency_ms: last?.latency_ms,
        ...(error.last.extra.externalId !== undefined && { external_id: error.last.extra.externalId }),
        ...(error.last.extra.invalidFields && { invalid_fields: error.last.extra.invalidFields }),
        attempts: error.attempts,
      },
    };
  }
  if (error instanceof ConfigError) {
    log.error("configuration invalid", { problems: error.problems.join("; ") });
    return { type: "misconfigured", status: 500, detail: error.message };
  }
  if (error instanceof HTTPException) {
    // Hono's own validators and middleware (e.g. malformed JSON) throw these.
    const type: ProblemType = error.status === 400 ? "invalid-request" : error.status === 404 ? "not-found" : "internal";
    return { type, status: error.status, detail: error.message || "request rejected" };
  }
  log.error("unhandled error", {
    error: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? (error.stack ?? null) : null,
  });
  return { type: "internal", status: 500, detail: "internal error; the request id identifies it in the logs" };
}
