/** What the guard's middleware and handlers need about one request: the caller's object, limits and admission. */
import type { Context, MiddlewareHandler } from "hono";
import type { Spender } from "../deps/pipeline";
import type { AppEnv } from "./context";
import type { GenerationRequest } from "../core/request";
import type { CallerGuard } from "../guard/caller-guard";
import { effectiveLimits, type GuardConfig, type Limits } from "../config/guard";
import { GenerationReuse, reuseFingerprint } from "../reuse/reuse";
import { callerGuard } from "../guard/durable-guard";
import { Admission } from "../guard/admission";

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

/**
 * The request's admission at its caller's object (src/guard/admission.ts): middleware describe
 * their parts into it; the first attempt (or `admitNow`) sends it, once.
 */
export function admissionOf(c: Context<AppEnv>): Admission {
  let admission = c.get("admission");
  if (!admission) c.set("admission", (admission = new Admission(callerGuard(c.env.GUARDS, c.get("caller").name))));
  return admission;
}

/**
 * The last middleware of a route whose handler makes no attempt (nothing to carry the
 * admission): the described parts are sent here, before the handler runs.
 */
export function admitNow(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const admission = admissionOf(c);
    if (admission.pending) await admission.admit();
    await next();
  };
}

/** The request's spender: its attempts reserve under the caller's caps and its API key's limits. */
export function spenderOf(c: Context<AppEnv>): Spender {
  const keyLimits = c.get("apiKey").limits;
  return { caller: c.get("caller").name, ...(keyLimits && { keyLimits }) };
}

/** The request's reuse (null: off, unseeded, or `Cache-Control: no-cache`); its lookup goes with the admission. */
export async function requestReuse(c: Context<AppEnv>, request: GenerationRequest): Promise<GenerationReuse | null> {
  if (/\bno-cache\b/i.test(c.req.header("cache-control") ?? "")) return null;
  const config = c.var.deps.config;
  const caller = c.get("caller").name;
  const settings = { windowSeconds: config.guard.reuse_window_s, defaultBackend: config.default_backend, waitSeconds: config.guard.idempotency_wait_seconds };
  const fingerprint = await reuseFingerprint(request, caller, settings);
  if (fingerprint === null) return null;
  const stillStored = async (keys: readonly string[]) => (await Promise.all(keys.map((key) => c.env.IMAGES.head(key)))).every((object) => object !== null);
  const reuse = new GenerationReuse(callerGuard(c.env.GUARDS, caller), fingerprint, c.get("requestId"), settings, stillStored);
  admissionOf(c).lookUpReuse(fingerprint, c.get("requestId"), settings.waitSeconds * 1000);
  return reuse;
}
