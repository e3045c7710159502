/**
 * Per-API-key request rate limit (`rate_limit = { requests, window_seconds }` in the caller's or the
 * key's limits), counted in the caller's Durable Object: exact across isolates, per key, with the
 * remaining quota and reset known — which the RateLimit headers need and the Workers rate-limit
 * binding (approximate, per-location, fixed 10/60 s periods, no remaining count) cannot give.
 *
 * Every answer carries the IETF draft-ietf-httpapi-ratelimit-headers fields:
 *   RateLimit-Policy: "per-key";q=30;w=60      RateLimit: "per-key";r=12;t=41
 * and a refused request gets 429 with Retry-After. Keys without a rate limit cost no round trip.
 *
 * @example
 *   app.openapi(createRoute({ …, middleware: [rateLimit()] }), handler);
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { problem } from "./problem";
import type { RateLimit } from "../guard/config";
import { requestGuard } from "../guard/request-guard";
import type { RateDecision } from "../guard/store/rate-window";

const POLICY = "per-key";

export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { limits, stub } = requestGuard(c);
    const limit = limits.rate_limit;
    if (!limit) return next();
    const decision = await stub.hitRateLimit(c.get("apiKey").id, limit);
    const headers = rateLimitHeaders(limit, decision);
    if (!decision.allowed) {
      const seconds = secondsUntilReset(decision);
      throw problem("rate-limited", 429, `this API key may send ${limit.requests} request(s) per ${limit.window_seconds} s; retry in ${seconds} s`, {
        headers: { ...headers, "retry-after": String(seconds) },
      });
    }
    await next();
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
