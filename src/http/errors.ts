/**
 * Every failure becomes a problem+json answer here, in one place: Hono's own exceptions, and
 * everything else through problemFor (src/core/problem.ts). Anything unexpected is logged, never leaked.
 */
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config/load";
import { type Problem, problemFor } from "../core/problem";
import type { Logger } from "../lib/log";
import { ProblemException, type ProblemType, problemResponse } from "./problem";
import { AdmissionStopped } from "../guard/admission";

export function errorToResponse(error: unknown, requestId: string | undefined, log: Logger): Response {
  return problemResponse(toProblem(error, log), requestId);
}

function toProblem(error: unknown, log: Logger): Problem {
  if (error instanceof ProblemException) return error.problem;
  // Not an answer yet: the middleware that described the stopping part (rate limit, Idempotency-Key) renders it.
  if (error instanceof AdmissionStopped) return { type: "internal", status: 500, detail: error.message };
  if (error instanceof HTTPException) {
    // Hono's own validators and middleware (e.g. malformed JSON) throw these.
    const type: ProblemType = error.status === 400 ? "invalid-request" : error.status === 404 ? "not-found" : "internal";
    return { type, status: error.status, detail: error.message || "request rejected" };
  }
  const problem = problemFor(error);
  if (error instanceof ConfigError) log.error("configuration invalid", { problems: error.problems.join("; ") });
  else if (problem.type === "internal") {
    log.error("unhandled error", {
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? (error.stack ?? null) : null,
    });
  }
  return problem;
}
