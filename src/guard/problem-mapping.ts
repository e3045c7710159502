/**
 * How the guard's refusals become answers: one entry of the app's error mapping
 * (src/http/errors.ts calls guardProblem first). Over a cap → 402 naming the cap, what was spent,
 * what requests in flight reserved and when the cap resets; a per-request limit → 400 naming the
 * field, like any other invalid request.
 */
import type { Problem } from "../http/problem";
import { BudgetExceededError, RequestLimitError } from "./errors";

export function guardProblem(error: unknown): Problem | null {
  if (error instanceof BudgetExceededError) {
    return {
      type: "budget-exceeded",
      status: 402,
      detail: `${error.message}. Ask the operator to raise the cap, or wait for the reset.`,
      extra: {
        cap: error.period,
        cap_usd: error.capUsd,
        spent_usd: error.spentUsd,
        reserved_usd: error.reservedUsd,
        requested_usd: error.requestedUsd,
        resets_at: error.resetsAt,
      },
    };
  }
  if (error instanceof RequestLimitError) {
    return {
      type: "invalid-request",
      status: 400,
      detail: error.message,
      extra: { errors: [{ field: error.field, message: error.detail }], limit: error.limit },
    };
  }
  return null;
}
