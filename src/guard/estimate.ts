/**
 * `POST /v1/images/estimate`, without HTTP: plan the request exactly as a generation would, price
 * each attempt of its backend chain the way the provider bills, and compare the worst case with
 * the caller's limits and what is left of its budget. No backend is called, nothing is reserved.
 *
 * The worst case is the sum over the chain: a fallback runs only after an attempt failed, and a
 * failed attempt is usually free, but a provider may still bill one (a prediction that succeeded
 * whose images were lost), so only the sum is an upper bound.
 */
import type { PipelineDeps } from "../core/pipeline";
import { planGeneration } from "../core/plan";
import type { GenerationRequest } from "../core/request";
import { type Usd, usd } from "../lib/money";
import type { PeriodBudget } from "./caller-guard";
import type { Limits } from "../config/guard";
import { requestLimitViolation } from "./request-limits";
import { type AttemptPrice, priceAttempt } from "../spend/worst-case";

export interface AttemptEstimate {
  readonly backend: string;
  readonly provider: string;
  readonly model: string;
  readonly width: number;
  readonly height: number;
  readonly n: number;
  readonly price: AttemptPrice;
}

export interface RequestEstimate {
  readonly attempts: readonly AttemptEstimate[];
  /** Sum over the chain; null when a paid attempt has no known price. */
  readonly worstCaseUsd: Usd | null;
  readonly limitViolations: readonly { readonly field: string; readonly message: string }[];
  /** false: a limit is broken or the worst case exceeds a cap's remainder; null: the price is unknown. */
  readonly fitsBudget: boolean | null;
}

export async function estimateAttempts(
  request: GenerationRequest,
  deps: Pick<PipelineDeps, "config" | "backend" | "ids" | "pricing">,
): Promise<AttemptEstimate[]> {
  const plan = planGeneration(request, deps.config, deps.ids, deps.backend);
  const shape = { width: plan.spec.width, height: plan.spec.height, n: plan.spec.n };
  const quality = plan.spec.quality;
  return Promise.all(
    plan.chain.map(async (name) => {
      const backend = deps.backend(name);
      const price = await priceAttempt(backend, { ...shape, ...(quality !== undefined && { quality }) }, deps.pricing);
      return { backend: name, provider: backend.provider, model: backend.model, ...shape, price };
    }),
  );
}

export function judgeEstimate(attempts: readonly AttemptEstimate[], limits: Limits, budget: readonly PeriodBudget[]): RequestEstimate {
  const violation = attempts[0] ? requestLimitViolation(attempts[0], limits) : null;
  const limitViolations = violation ? [{ field: violation.field, message: violation.detail }] : [];
  const worstCaseUsd = attempts.some((a) => a.price.kind === "unpriced")
    ? null
    : usd(attempts.reduce((sum, a) => sum + (a.price.kind === "priced" ? a.price.usd : 0), 0));
  const fitsBudget =
    limitViolations.length > 0
      ? false
      : worstCaseUsd === null
        ? null
        : worstCaseUsd === 0 || budget.every((period) => period.remainingUsd === null || worstCaseUsd <= period.remainingUsd);
  return { attempts, worstCaseUsd, limitViolations, fitsBudget };
}
