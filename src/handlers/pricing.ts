/** GET /v1/pricing: the current price table with each rate's age and source, held changes, last refresh. */
import { createRoute } from "@hono/zod-openapi";
import type { App } from "../http/context";
import { systemClock } from "../lib/clock";
import { buildPricingOverview, pricingOverviewSchema } from "../pricing/overview";
import { problemResponses } from "./schemas";
import { ROUTES } from "../routes";

const route = createRoute({
  method: "get",
  path: ROUTES.pricing,
  summary: "Current prices (age, source), changes held for review, and the last refresh result",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The price table", content: { "application/json": { schema: pricingOverviewSchema.openapi("PricingOverview") } } },
    ...problemResponses(401, 503),
  },
});

export function registerPricingRoutes(app: App): void {
  app.openapi(route, async (c) => {
    const store = c.var.deps.priceStore();
    return c.json(await buildPricingOverview(store, systemClock), 200);
  });
}
