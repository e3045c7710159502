/**
 * GET /v1/budget (the caller's caps, spend this period, reservations in flight, what is left) and
 * POST /v1/images/estimate (what a request would cost, attempt by attempt, and whether it fits).
 */
import type { ReferenceImage } from "../backends/backend";
import { createRoute, z } from "@hono/zod-openapi";
import { parseSize } from "../lib/size";
import { outputRefusal } from "../core/explicit-output";
import type { PeriodBudget } from "../guard/caller-guard";
import { limitsSchema } from "../config/guard";
import { estimateAttempts, judgeEstimate } from "../guard/estimate";
import { requestGuard } from "../http/request-guard";
import { spendCaps } from "../guard/durable-guard";
import type { App } from "../http/context";
import { requireJsonBody } from "../http/json-body";
import { GenerateImagesRequest, problemResponses } from "./schemas";

const PeriodBudgetSchema = z
  .object({
    cap_usd: z.number().nullable().openapi({ description: "null: no cap for this period." }),
    spent_usd: z.number().openapi({ description: "Settled spend of this caller's attempts in this period (the guard's own sums)." }),
    reserved_usd: z.number().openapi({ description: "Worst-case reservations of attempts in flight." }),
    remaining_usd: z.number().nullable(),
    resets_at: z.string().openapi({ description: "UTC midnight (daily) or the first of the next month (monthly)." }),
  })
  .openapi("PeriodBudget");

const BudgetSchema = z
  .object({
    caller: z.string(),
    daily: PeriodBudgetSchema,
    monthly: PeriodBudgetSchema,
    limits: limitsSchema.openapi({ description: "The limits in force for this API key (config default ← caller ← key)." }),
  })
  .openapi("Budget");

const EstimateSchema = z
  .object({
    attempts: z.array(
      z.object({
        backend: z.string(),
        provider: z.string(),
        model: z.string(),
        width: z.int(),
        height: z.int(),
        n: z.int(),
        pricing: z.enum(["free", "priced", "unpriced"]),
        usd: z.number().nullable().openapi({ description: "Worst case of this attempt; null when unpriced." }),
        price_id: z.int().nullable(),
      }),
    ),
    worst_case_usd: z.number().nullable().openapi({ description: "Every attempt of the chain billed; null if one has no known price." }),
    fits_budget: z.boolean().nullable(),
    limit_violations: z.array(z.object({ field: z.string(), message: z.string() })),
    budget: BudgetSchema,
  })
  .openapi("Estimate");

const budgetRoute = createRoute({
  method: "get",
  path: "/v1/budget",
  operationId: "getBudget",
  summary: "The caller's spend caps, spend this period, reservations in flight and what is left",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The budget", content: { "application/json": { schema: BudgetSchema } } },
    ...problemResponses(401),
  },
});

const estimateRoute = createRoute({
  method: "post",
  path: "/v1/images/estimate",
  operationId: "estimateImages",
  summary: "Price a generation request (each attempt of its chain, the worst case, whether it fits) without running it",
  security: [{ bearer: [] }],
  middleware: [requireJsonBody()] as const,
  request: { body: { required: true, content: { "application/json": { schema: GenerateImagesRequest } } } },
  responses: {
    200: { description: "The estimate", content: { "application/json": { schema: EstimateSchema } } },
    ...problemResponses(400, 401, 413, 415),
  },
});

export function registerBudgetRoutes(app: App): void {
  app.openapi(budgetRoute, async (c) => {
    const { limits, stub } = requestGuard(c);
    const periods = await stub.budget(spendCaps(limits));
    return c.json(budgetBody(c.get("caller").name, periods, limits), 200);
  });

  app.openapi(estimateRoute, async (c) => {
    const { callback_url: _callbackUrl, reference_images: referenceImages, mask, input_fidelity: _inputFidelity, ...body } = c.req.valid("json");
    const request = {
      ...body,
      size: body.size === undefined ? undefined : parseSize(body.size)!,
      // Only their number and the mask's presence change the price: they decide which backends of the chain edit.
      ...(referenceImages && { references: referenceImages.map(() => UNREAD_INPUT) }),
      ...(mask && { mask: UNREAD_INPUT }),
    };
    // What the real request would refuse (400) is refused here too, not priced.
    const refused = request.output === undefined ? null : outputRefusal(request.output, c.get("caller"));
    if (refused) throw refused;
    const { limits, stub } = requestGuard(c);
    const [attempts, periods] = await Promise.all([estimateAttempts(request, c.var.deps.pipeline(c.var.log)), stub.budget(spendCaps(limits))]);
    const estimate = judgeEstimate(attempts, limits, periods);
    return c.json(
      {
        attempts: estimate.attempts.map(({ price, ...attempt }) => ({
          ...attempt,
          pricing: price.kind,
          usd: price.kind === "priced" ? price.usd : price.kind === "free" ? 0 : null,
          price_id: price.kind === "priced" ? price.priceId : null,
        })),
        worst_case_usd: estimate.worstCaseUsd,
        fits_budget: estimate.fitsBudget,
        limit_violations: [...estimate.limitViolations],
        budget: budgetBody(c.get("caller").name, periods, limits),
      },
      200,
    );
  });
}

/** An input image an estimate does not read: it only counts. */
const UNREAD_INPUT: ReferenceImage = { key: "(not read for an estimate)", sha256: "", mimeType: "image/png", width: 0, height: 0, bytes: 0 };

function budgetBody(caller: string, periods: readonly PeriodBudget[], limits: z.infer<typeof limitsSchema>) {
  const period = (name: PeriodBudget["period"]) => {
    const p = periods.find((x) => x.period === name)!;
    return { cap_usd: p.capUsd, spent_usd: p.spentUsd, reserved_usd: p.reservedUsd, remaining_usd: p.remainingUsd, resets_at: p.resetsAt };
  };
  return { caller, daily: period("daily"), monthly: period("monthly"), limits };
}
