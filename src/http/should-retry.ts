/**
 * `x-should-retry: false`: for every route that generates, when a retry could pay for a second
 * generation. The OpenAI SDKs (and most HTTP clients' retry policies) retry 408, 409, 429 and 5xx
 * on their own; after an attempt the provider may have billed, that would pay twice, so the answer
 * tells them not to. Whether an attempt may have cost money is the one rule of
 * src/spend/exposure.ts, carried on each attempt as `cost_exposure`; fallback and settlement ask
 * the same rule.
 */
import type { MiddlewareHandler } from "hono";
import { PROBLEM_CONTENT_TYPE } from "./problem";

export const SHOULD_RETRY_HEADER = "x-should-retry";

/** The members of a problem document the rule reads. */
export interface RetryEvidence {
  readonly status: number;
  readonly attempts?: readonly { readonly kind: string; readonly cost_exposure?: string }[] | undefined;
}

/** Attempt kinds that prove the provider took no paid work, for attempts stored before `cost_exposure` existed. */
const UNPAID_KINDS = new Set(["not_configured", "auth", "invalid_request", "insufficient_credit", "rate_limited", "skipped"]);

/** False when an attempt of this answer may already have cost money and a retry could pay again. */
export function retryIsSafe(problem: RetryEvidence): boolean {
  if (problem.status < 500) return true;
  // A 5xx without attempts (our own failure before any) cost nothing either.
  return (problem.attempts ?? []).every((a) => (a.cost_exposure ?? (UNPAID_KINDS.has(a.kind) ? "none" : "unknown")) === "none");
}

/** For routes that answer problem+json: marks the answers after which a retry could pay twice. */
export function markUnsafeRetries(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.res.status < 500 || !c.res.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)) return;
    const problem = (await c.res
      .clone()
      .json()
      .catch(() => null)) as RetryEvidence | null;
    if (problem && !retryIsSafe({ status: c.res.status, attempts: Array.isArray(problem.attempts) ? problem.attempts : undefined })) {
      c.res.headers.set(SHOULD_RETRY_HEADER, "false");
    }
  };
}
