/**
 * GET /healthz: no key needed; says whether config, ledger and URL-signing settings are valid,
 * without revealing them.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ConfigError } from "../config/load";
import type { App } from "../http/context";
import { PUBLIC_BASE_URL_MISSING } from "../http/public-origin";
import { ROUTES } from "../routes";
import { urlSecretProblem } from "../storage/signed-urls";

const Health = z
  .object({
    status: z.enum(["ok", "misconfigured"]),
    problems: z.array(z.string()).optional(),
    /** Settings a production deployment needs that are missing; the service runs without them. */
    warnings: z.array(z.string()).optional(),
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
  app.openapi(route, (c) => {
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
    const warnings = config.jobs.public_base_url === undefined ? [PUBLIC_BASE_URL_MISSING] : [];
    return c.json({ status: "ok" as const, ...(warnings.length > 0 && { warnings }) }, 200);
  });
}
