/**
 * GET /healthz: no key needed; says whether config and ledger settings are valid, without revealing
 * them, and warns about what a deployment should fix (missing settings, the last price refresh's
 * warnings such as a priced model a source no longer lists).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ConfigError, loadConfig } from "../config/load";
import type { App } from "../http/context";
import type { Logger } from "../lib/log";
import type { PriceStore } from "../pricing/store";
import { PUBLIC_BASE_URL_MISSING } from "../http/public-origin";
import { pricingWarnings } from "../pricing/warnings";
import { ledgerTarget, priceStoreFor } from "../services";

const Health = z
  .object({
    status: z.enum(["ok", "misconfigured"]),
    problems: z.array(z.string()).optional(),
    /** What a deployment should look at (missing settings, price refresh warnings); the service runs regardless. */
    warnings: z.array(z.string()).optional(),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness and configuration check (no API key)",
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: Health } } },
    503: { description: "Configuration invalid", content: { "application/json": { schema: Health } } },
  },
});

export function registerHealthRoutes(app: App): void {
  app.openapi(route, async (c) => {
    let config;
    try {
      config = loadConfig(c.env.IMAGEN_CONFIG);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return c.json({ status: "misconfigured" as const, problems: [...error.problems] }, 503);
    }
    try {
      ledgerTarget(config, c.env);
    } catch (error) {
      return c.json({ status: "misconfigured" as const, problems: [`ledger: ${error instanceof Error ? error.message : String(error)}`] }, 503);
    }
    const warnings = [
      ...(config.jobs.public_base_url === undefined ? [PUBLIC_BASE_URL_MISSING] : []),
      ...(await lastRefreshWarnings(priceStoreFor(c.env, config), c.get("log"))),
    ];
    return c.json({ status: "ok" as const, ...(warnings.length > 0 && { warnings }) }, 200);
  });
}

/** The store being down is not a configuration problem: a warning, with the detail only in the log. */
async function lastRefreshWarnings(store: PriceStore, log: Logger): Promise<string[]> {
  try {
    return pricingWarnings(await store.lastRun());
  } catch (error) {
    log.warn("healthz could not read the last price refresh", { error: error instanceof Error ? error.message : String(error) });
    return ["pricing: the price store could not be read, so the last refresh's warnings are unknown"];
  }
}
