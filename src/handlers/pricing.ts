/**
 * GET /v1/pricing: the current price table with each rate's age and source, held changes that can
 * still be approved, the last refresh and its warnings.
 * POST /v1/pricing/held/{id}/approve (admin): install a held change as the current price; an
 * outdated proposal (superseded, expired, or proposed against another current rate) is a 409.
 * POST /v1/pricing/held/{id}/reject (admin): reject a held change; the refresh does not propose
 * the same rate for that line again until the source publishes another one.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../http/auth";
import type { App } from "../http/context";
import { fromDependency } from "../http/dependency";
import { problem } from "../http/problem";
import { systemClock } from "../lib/clock";
import { approveHeldChange, rejectHeldChange } from "../pricing/held";
import { buildPricingOverview, pricingOverviewSchema } from "../pricing/overview";
import { ledgerDependency } from "../deps";
import { priceKeyFields, priceRowFields } from "../pricing/price-rows";
import { problemResponses } from "./schemas";
import { ROUTES } from "../routes";

const overviewRoute = createRoute({
  method: "get",
  path: ROUTES.pricing,
  operationId: "getPricing",
  summary: "Current prices (age, source), changes held for review, the last refresh result and warnings",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The price table", content: { "application/json": { schema: pricingOverviewSchema.openapi("PricingOverview") } } },
    ...problemResponses(401, 503),
  },
});

const ApprovedPrice = z.object({ ...priceRowFields, effective_to: z.string().nullable() }).openapi("ApprovedPrice");

const heldIdParams = z.object({ id: z.coerce.number().int().positive().openapi({ description: "`held[].id` from GET /v1/pricing" }) });

const approveRoute = createRoute({
  method: "post",
  path: ROUTES.pricingApprove,
  operationId: "approveHeldPrice",
  summary: "Approve a held price change (admin): its rate becomes the line's current price now",
  security: [{ bearer: [] }],
  middleware: [requireAdmin()] as const,
  request: { params: heldIdParams },
  responses: {
    200: { description: "Approved; the new current price row", content: { "application/json": { schema: z.object({ price: ApprovedPrice }) } } },
    ...problemResponses(400, 401, 403, 404, 409, 503),
  },
});

const RejectedHeldPrice = z
  .object({
    id: z.number().int(),
    ...priceKeyFields,
    old_rate: z.number().nullable(),
    new_rate: z.number(),
    source: z.string(),
    reason: z.string(),
    detected_at: z.string(),
    rejected_at: z.string(),
  })
  .openapi("RejectedHeldPrice");

const rejectRoute = createRoute({
  method: "post",
  path: ROUTES.pricingReject,
  operationId: "rejectHeldPrice",
  summary:
    "Reject a held price change (admin): the current price stays, and the refresh does not propose this rate for this line again " +
    "while the source keeps publishing it; a different rate is proposed as usual",
  security: [{ bearer: [] }],
  middleware: [requireAdmin()] as const,
  request: { params: heldIdParams },
  responses: {
    200: { description: "Rejected", content: { "application/json": { schema: z.object({ held: RejectedHeldPrice }) } } },
    ...problemResponses(400, 401, 403, 404, 409, 503),
  },
});

export function registerPricingRoutes(app: App): void {
  app.openapi(overviewRoute, async (c) => {
    const { env, config } = c.var.deps;
    const store = c.var.deps.priceStore();
    const overview = await fromDependency(ledgerDependency(env, config, "price store"), c.get("log"), () =>
      buildPricingOverview(store, systemClock, { heldMaxAgeDays: config.pricing.held_max_age_days }),
    );
    return c.json(overview, 200);
  });

  app.openapi(approveRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { env, config } = c.var.deps;
    const store = c.var.deps.priceStore();
    const approval = await fromDependency(ledgerDependency(env, config, "price store"), c.get("log"), () =>
      approveHeldChange(store, id, { clock: systemClock, maxAgeDays: config.pricing.held_max_age_days }),
    );
    switch (approval.kind) {
      case "not-found":
        throw problem("not-found", 404, `no held price change with id ${id}; GET /v1/pricing lists them`);
      case "refused":
        throw problem("conflict", 409, `held price change ${id} is ${approval.reason} and can no longer be approved: ${approval.detail}`, {
          extra: { held_id: id, reason: approval.reason },
        });
      case "approved":
        c.get("log").info("held price change approved", { held_id: id, price_id: approval.price.id, usd_rate: approval.price.usd_rate });
        return c.json({ price: approval.price }, 200);
    }
  });

  app.openapi(rejectRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { env, config } = c.var.deps;
    const store = c.var.deps.priceStore();
    const rejection = await fromDependency(ledgerDependency(env, config, "price store"), c.get("log"), () =>
      rejectHeldChange(store, id, { clock: systemClock }),
    );
    switch (rejection.kind) {
      case "not-found":
        throw problem("not-found", 404, `no held price change with id ${id}; GET /v1/pricing lists them`);
      case "refused":
        throw problem("conflict", 409, `held price change ${id} is ${rejection.reason} and can no longer be rejected: ${rejection.detail}`, {
          extra: { held_id: id, reason: rejection.reason },
        });
      case "rejected": {
        const { superseded_at: _superseded, rejected_at, ...held } = rejection.change;
        c.get("log").info("held price change rejected", { held_id: id, new_rate: held.new_rate });
        return c.json({ held: { ...held, rejected_at } }, 200);
      }
    }
  });
}
