/** What the guard's middleware and handlers need about one request: the caller's object and limits. */
import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import type { CallerGuard } from "./caller-guard";
import { effectiveLimits, type GuardConfig, type Limits } from "./config";
import { callerGuard } from "./spend-guard";

export interface RequestGuard {
  readonly config: GuardConfig;
  readonly limits: Limits;
  readonly stub: DurableObjectStub<CallerGuard>;
}

export function requestGuard(c: Context<AppEnv>): RequestGuard {
  const config = c.var.deps.config.guard;
  const caller = c.get("caller").name;
  return { config, limits: effectiveLimits(config, caller, c.get("apiKey").limits), stub: callerGuard(c.env.GUARDS, caller) };
}
