/** GET /healthz: no key needed; says whether config and ledger settings are valid, without revealing them. */
import { createRoute, z } from "@hono/zod-openapi";
import { ConfigError, loadConfig } from "../config/load";
import type { App } from "../http/context";
import { ledgerTarget } from "../services";

const Health = z.object({ status: z.enum(["ok", "misconfigured"]), problems: z.array(z.string()).optional() }).openapi("Health");

const route = createRoute({
  method: "get",
  path: "/healthz",
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
    return c.json({ status: "ok" as const }, 200);
  });
}
