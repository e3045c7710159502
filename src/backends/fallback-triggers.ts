/**
 * The failures a chain may move on after, as an instance's or a chain's `fallback_on` lists them.
 * The vocabulary lives beside the instance config that names it; deciding which trigger a failure
 * presents is the runner's (src/core/fallback.ts), never a backend's.
 */
import { z } from "zod";

const FALLBACK_TRIGGERS = [
  /** The instance cannot be used as configured: a secret missing or refused, the account out of credit. */
  "unconfigured",
  /** Nothing answered: network failure, tunnel down, the home box switched off. */
  "unreachable",
  /** The provider still said 429 after its Retry-After was honoured. */
  "rate_limited",
  /** The provider answered 5xx, or said it failed, before it took any work. */
  "server_error",
  /** The provider did not answer in time, before it took any work. */
  "timeout",
] as const;

export type FallbackTrigger = (typeof FALLBACK_TRIGGERS)[number];

export const DEFAULT_FALLBACK_ON: readonly FallbackTrigger[] = FALLBACK_TRIGGERS;

export const fallbackOnSchema = z.array(z.enum(FALLBACK_TRIGGERS)).min(1).max(FALLBACK_TRIGGERS.length);
