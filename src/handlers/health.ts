/** GET /healthz: no key needed; says whether the configuration is valid without revealing it. */
import { createRoute, z } from "@hono/zod-openapi";
import { ConfigError, loadConfig } from "../config/load";
import type { App } from "../http/context";

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
    try {
      loadConfig(c.env.IMAGEN_CONFIG);
      return c.json({ status: "ok" as const }, 200);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return c.json({ status: "misconfigured" as const, problems: [...error.problems] }, 503);
    }
  });
}
