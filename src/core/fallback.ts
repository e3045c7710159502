/**
 * When a chain moves on to its next backend. A failed attempt is classified into one trigger; a
 * chain falls back only on the triggers it lists (`fallback_on`, default: all of them). Some
 * failures never fall back, whatever the config says:
 *   - the request itself was refused (the provider's 4xx, our own validation): the next backend
 *     would refuse it too;
 *   - nobody waits any more (canceled);
 *   - the images were made and billed, then lost (paid_output_lost);
 *   - the provider accepted paid work (a job it took, a one-shot call that may have been billed:
 *     `BackendError.extra.ambiguous`): a second backend could make the caller pay twice.
 */
import type { BackendError } from "../backends/errors";
import type { FallbackTrigger } from "../backends/fallback-triggers";
import { costExposure } from "../spend/exposure";

/**
 * The trigger a failed attempt presents, or null when it may never fall back. `accepted`: the
 * provider had taken the attempt's work (a job submitted) when it failed.
 */
export function fallbackTrigger(error: BackendError, accepted: boolean): FallbackTrigger | null {
  // Never after possible spend: the one rule (src/spend/exposure.ts) that settlement and x-should-retry use too.
  if (costExposure({ error, accepted }) !== "none") return null;
  switch (error.kind) {
    case "not_configured":
    case "auth":
    case "insufficient_credit":
      return "unconfigured";
    case "rate_limited":
      return "rate_limited";
    case "timeout":
      return "timeout";
    case "unavailable":
      return error.extra.httpStatus !== undefined ? "server_error" : "unreachable";
    case "failed":
      return "server_error";
    case "invalid_request":
    case "canceled":
    case "paid_output_lost":
      return null;
  }
}
