/** GET /v1/pricing: the current price table with each rate's age and source, held changes, last refresh. */
import { createRoute } from "@hono/zod-openapi";
import type { App } from "../http/context";
import { fromDependency } from "../http/dependency";
import { systemClock } from "../lib/clock";
import { buildPricingOverview, pricingOverviewSchema } from "../pricing/overview";
import { ledgerDependency } from "../deps";
import { problemResponses } from "./schemas";
import { ROUTES } from "../routes";

const route = createRoute({
  method: "get",
  path: ROUTES.pricing,
  operationId: "getPricing",
  summary: "Current prices (age, source), changes held for review, and the last refresh result",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The price table", content: { "application/json": { schema: pricingOverviewSchema.openapi("PricingOverview") } } },
    ...problemResponses(401, 503),
  },
});

export function registerPricingRoutes(app: App): void {
  app.openapi(route, async (c) => {
    const { env, config } = c.var.deps;
    const store = c.var.deps.priceStore();
    const overview = await fromDependency(ledgerDependency(env, config, "price store"), c.get("log"), () => buildPricingOverview(store, systemClock));
    return c.json(overview, 200);
  });
}
