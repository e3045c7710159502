/**
 * Per-API-key request rate limit (`rate_limit = { requests, window_seconds }` in the caller's or the
 * key's limits), counted in the caller's Durable Object: exact across isolates, per key, with the
 * remaining quota and reset known — which the RateLimit headers need and the Workers rate-limit
 * binding (approximate, per-location, fixed 10/60 s periods, no remaining count) cannot give.
 *
 * The take is part of the request's admission (src/guard/admission.ts): it goes to the object in
 * the same round trip as the Idempotency-Key claim, the reuse lookup and the first reservation,
 * and is counted first, so a refused request claims, reserves and generates nothing. A request
 * that ends before it was admitted (an invalid body) is counted on its way out.
 *
 * Every answer carries the IETF draft-ietf-httpapi-ratelimit-headers fields:
 *   RateLimit-Policy: "per-key";q=30;w=60      RateLimit: "per-key";r=12;t=41
 * and a refused request gets 429 with Retry-After. Keys without a rate limit add nothing to the admission.
 *
 * @example
 *   app.openapi(createRoute({ …, middleware: [rateLimit(), …, admitNow()] }), handler);
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { problem } from "./problem";
import type { RateLimit } from "../config/guard";
import { admissionOf, requestGuard } from "./request-guard";
import type { RateDecision } from "../guard/store/rate-window";

const POLICY = "per-key";

export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = requestGuard(c).limits.rate_limit;
    if (!limit) return next();
    const admission = admissionOf(c);
    admission.countRequest(c.get("apiKey").id, limit);
    await next();
    await admission.countUnadmitted();
    const decision = admission.rateDecision!;
    const headers = rateLimitHeaders(limit, decision);
    if (!decision.allowed) {
      const seconds = secondsUntilReset(decision);
      throw problem("rate-limited", 429, `this API key may send ${limit.requests} request(s) per ${limit.window_seconds} s; retry in ${seconds} s`, {
        headers: { ...headers, "retry-after": String(seconds) },
      });
    }
    // Raw responses (a replay, image bytes) may have immutable headers; re-wrap before stamping.
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

function rateLimitHeaders(limit: RateLimit, decision: RateDecision): Record<string, string> {
  return {
    "ratelimit-policy": `"${POLICY}";q=${limit.requests};w=${limit.window_seconds}`,
    ratelimit: `"${POLICY}";r=${decision.remaining};t=${secondsUntilReset(decision)}`,
  };
}

function secondsUntilReset(decision: RateDecision): number {
  return Math.max(1, Math.ceil(decision.resetInMs / 1000));
}
