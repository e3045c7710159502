/** GET /v1/pricing: the current price table with each rate's age and source, held changes, last refresh. */
import { createRoute } from "@hono/zod-openapi";
import { loadConfig } from "../config/load";
import type { App } from "../http/context";
import { systemClock } from "../lib/clock";
import { buildPricingOverview, pricingOverviewSchema } from "../pricing/overview";
import { priceStoreFor } from "../services";
import { problemResponses } from "./schemas";

const route = createRoute({
  method: "get",
  path: "/v1/pricing",
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
    const store = priceStoreFor(c.env, loadConfig(c.env.IMAGEN_CONFIG));
    return c.json(await buildPricingOverview(store, systemClock), 200);
  });
}
