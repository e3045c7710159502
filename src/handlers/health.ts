/**
 * GET /healthz: no key needed; says whether config, ledger and URL-signing settings are valid,
 * without revealing them.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ConfigError, loadConfig } from "../config/load";
import type { App } from "../http/context";
import { ledgerTarget } from "../services";
import { urlSecretProblem } from "../storage/signed-urls";

const Health = z.object({ status: z.enum(["ok", "misconfigured"]), problems: z.array(z.string()).optional() }).openapi("Health");

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
  app.openapi(route, (c) => {
    let config;
    try {
      config = loadConfig(c.env.IMAGEN_CONFIG);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return c.json({ status: "misconfigured" as const, problems: [...error.problems] }, 503);
    }
    const problems: string[] = [];
    try {
      ledgerTarget(config, c.env);
    } catch (error) {
      problems.push(`ledger: ${error instanceof Error ? error.message : String(error)}`);
    }
    const urls = urlSecretProblem(c.env, config.image_urls);
    if (urls) problems.push(`image_urls: ${urls}`);
    if (problems.length > 0) return c.json({ status: "misconfigured" as const, problems }, 503);
    return c.json({ status: "ok" as const }, 200);
  });
}
