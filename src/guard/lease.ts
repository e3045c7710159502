/**
 * How long a spend reservation may stay unsettled before the caller's alarm releases it. It must
 * outlive the slowest attempt the config allows (its `timeout_s`, plus the grace a job waits for a
 * late provider callback): a lease that ran out while the provider was still working would free
 * money that is about to be charged, and let other requests spend it too.
 */
import type { ImagenConfig } from "../config/schema";

/** What an instance without its own `timeout_s` may take at most (Replicate's default for non-schnell models). */
const DEFAULT_ATTEMPT_SECONDS = 120;
/** Slack for the settle call itself and clock skew between the job and the guard. */
const SETTLE_MARGIN_SECONDS = 60;

export function leaseSecondsFor(config: Pick<ImagenConfig, "backends" | "jobs" | "guard">): number {
  const longestAttempt = Math.max(
    DEFAULT_ATTEMPT_SECONDS,
    ...Object.values(config.backends).map((instance) => ("timeout_s" in instance && typeof instance.timeout_s === "number" ? instance.timeout_s : 0)),
  );
  return Math.max(config.guard.lease_seconds, Math.ceil(longestAttempt + config.jobs.deadline_grace_s + SETTLE_MARGIN_SECONDS));
}
