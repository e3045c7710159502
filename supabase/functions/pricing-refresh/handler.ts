/**
 * The pricing-refresh Edge Function's request handler, free of Deno globals so it is tested with
 * a fake fetch and an in-memory store (handler_test.ts). index.ts wires the real dependencies.
 *
 * Protocol: `POST` with header `x-pricing-refresh-secret: <PRICING_REFRESH_SECRET>` runs one
 * refresh (src/pricing/refresh.ts, the same code the Worker's cron runs) and answers its report:
 * 200 when every source refreshed, 502 when a source failed (its last prices were kept), 503 when
 * the price store could not be read. Wrong or missing secret: 401. No secret or no store
 * configured: 503 (fail closed). Any other method: 405.
 */
import type { Clock } from "../../../src/lib/clock";
import type { Logger } from "../../../src/lib/log";
import { type PricingConfig, pricingConfigSchema } from "../../../src/pricing/config";
import { runConfiguredRefresh } from "../../../src/pricing/run";
import type { FetchLike } from "../../../src/pricing/sources/source";
import type { PriceStore } from "../../../src/pricing/store";

export const SECRET_HEADER = "x-pricing-refresh-secret";

export interface PricingRefreshDeps {
  /** The shared secret callers must present; undefined = not configured, every call refused. */
  readonly secret: string | undefined;
  readonly store: () => PriceStore;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: PricingConfig;
  readonly wanted?: readonly { readonly provider: string; readonly model: string }[];
}

export function createPricingRefreshHandler(deps: PricingRefreshDeps): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "POST") {
      return problem(405, "method-not-allowed", "Method not allowed", "use POST to run a price refresh", { allow: "POST" });
    }
    if (!deps.secret) {
      deps.log.error("pricing-refresh refused a call: PRICING_REFRESH_SECRET is not set");
      return problem(503, "misconfigured", "Service misconfigured", "the function has no shared secret; set PRICING_REFRESH_SECRET");
    }
    const presented = request.headers.get(SECRET_HEADER);
    if (presented === null || !(await sameSecret(presented, deps.secret))) {
      return problem(401, "unauthorized", "Unauthorized", `missing or wrong ${SECRET_HEADER} header`);
    }
    let store: PriceStore;
    try {
      store = deps.store();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      deps.log.error("pricing-refresh has no price store", { error: detail });
      return problem(503, "misconfigured", "Service misconfigured", `no price store: ${detail}`);
    }
    const report = await runConfiguredRefresh(deps.config, {
      store,
      fetch: deps.fetch,
      clock: deps.clock,
      wanted: deps.wanted,
      log: deps.log,
    });
    const status = report.ok ? 200 : report.error ? 503 : 502;
    return Response.json(report, { status });
  };
}

/** Reads the function's settings from its environment (`supabase secrets set ...`). */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): {
  config: PricingConfig;
  wanted: { provider: string; model: string }[];
} {
  const raw = env.PRICING_CONFIG?.trim();
  const config = pricingConfigSchema.parse(raw ? JSON.parse(raw) : {});
  const wanted = (env.PRICING_WANTED_MODELS ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
    .map((item) => {
      const colon = item.indexOf(":");
      if (colon <= 0 || colon === item.length - 1) {
        throw new Error(`PRICING_WANTED_MODELS entry "${item}" is not provider:model`);
      }
      return { provider: item.slice(0, colon), model: item.slice(colon + 1) };
    });
  return { config, wanted };
}

/**
 * Constant-time comparison: hashing first makes both sides the same length, so neither the
 * content nor the length of the secret leaks through timing.
 */
async function sameSecret(presented: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", encoder.encode(presented)), crypto.subtle.digest("SHA-256", encoder.encode(expected))]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The same problem+json shape as the Worker (src/http/problem.ts), without pulling Hono into the function. */
function problem(status: number, type: string, title: string, detail: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type: `urn:imagen-edge:problem:${type}`, title, status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}
