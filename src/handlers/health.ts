/**
 * GET /healthz: no key needed; says whether config and ledger settings are valid, without revealing
 * them, and warns about what a deployment should fix (missing settings, the last price refresh's
 * warnings such as a priced model a source no longer lists) and whether pricing is degraded (a
 * price source failed, so its prices are not being checked). Pricing never makes the service
 * unhealthy: the last known prices stay in use, so the status code stays 200.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ConfigError } from "../config/load";
import type { App } from "../http/context";
import type { Logger } from "../lib/log";
import type { PriceStore } from "../pricing/store";
import { PUBLIC_BASE_URL_MISSING } from "../http/public-origin";
import { ROUTES } from "../routes";
import { pricingHealth, pricingWarnings } from "../pricing/warnings";
import { urlSecretProblem } from "../storage/signed-urls";

const Health = z
  .object({
    status: z.enum(["ok", "misconfigured"]),
    problems: z.array(z.string()).optional(),
    /** What a deployment should look at (missing settings, price refresh warnings); the service runs regardless. */
    warnings: z.array(z.string()).optional(),
    /**
     * `ok`, `degraded: source X failed at T: …` (a price source's last read failed; its last known
     * prices stay current), or `unknown: …` (the price store could not be read). Absent when misconfigured.
     */
    pricing: z.string().optional(),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: ROUTES.health,
  operationId: "getHealth",
  summary: "Liveness and configuration check (no API key)",
  security: [],
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: Health } } },
    503: { description: "Configuration invalid", content: { "application/json": { schema: Health } } },
  },
});

export function registerHealthRoutes(app: App): void {
  app.openapi(route, async (c) => {
    try {
      void c.var.deps.config; // validated on first read, once per isolate
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return c.json({ status: "misconfigured" as const, problems: [...error.problems] }, 503);
    }
    const config = c.var.deps.config;
    const problems: string[] = [];
    try {
      c.var.deps.ledgerTarget();
    } catch (error) {
      problems.push(`ledger: ${error instanceof Error ? error.message : String(error)}`);
    }
    const urls = urlSecretProblem(c.env, config.image_urls);
    if (urls) problems.push(`image_urls: ${urls}`);
    if (problems.length > 0) return c.json({ status: "misconfigured" as const, problems }, 503);
    const pricing = await lastRefresh(c.var.deps.priceStore(), c.get("log"));
    const warnings = [...(config.public_base_url === undefined ? [PUBLIC_BASE_URL_MISSING] : []), ...pricing.warnings];
    return c.json({ status: "ok" as const, pricing: pricing.health, ...(warnings.length > 0 && { warnings }) }, 200);
  });
}

/** The store being down is not a configuration problem: a warning, with the detail only in the log. */
async function lastRefresh(store: PriceStore, log: Logger): Promise<{ health: string; warnings: string[] }> {
  try {
    const run = await store.lastRun();
    return { health: pricingHealth(run), warnings: pricingWarnings(run) };
  } catch (error) {
    log.warn("healthz could not read the last price refresh", { error: error instanceof Error ? error.message : String(error) });
    return {
      health: "unknown: the price store could not be read",
      warnings: ["pricing: the price store could not be read, so the last refresh's warnings are unknown"],
    };
  }
}
