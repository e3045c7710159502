/**
 * The composition root: everything a handler needs, built from the Worker's env once per isolate
 * per config (the env wrangler hands us is stable per isolate) and reached through the `deps`
 * middleware (src/http/deps.ts) as `c.var.deps`. Jobs build theirs from their own config
 * snapshot instead (src/jobs/generation-job.ts).
 */
import type { Backend } from "../backends/backend";
import { loadConfig } from "../config/load";
import type { ImagenConfig } from "../config/schema";
import type { PipelineDeps } from "../core/pipeline";
import type { Env } from "../env";
import type { Logger } from "../lib/log";
import type { PriceStore } from "../pricing/store";
import type { Ledger } from "../usage/ledger";
import { backendResolver } from "./backends";
import { ledgerFor, ledgerTarget, type LedgerTarget, priceStoreFor } from "./ledger";
import { type PipelineOptions, pipelineDepsFor } from "./pipeline";

export { backendResolver, cooldownsFor } from "./backends";
export { ledgerDependency, ledgerTarget } from "./ledger";
export { pipelineDepsFor } from "./pipeline";

export interface AppDeps {
  readonly env: Env;
  /** The validated IMAGEN_CONFIG; throws ConfigError (a 500 `misconfigured`) when it is not valid. */
  readonly config: ImagenConfig;
  readonly backend: (name: string) => Backend;
  /** Which ledger this deployment writes to; throws, naming the variable, when Supabase is half configured. */
  ledgerTarget(): LedgerTarget;
  ledger(): Ledger;
  priceStore(): PriceStore;
  /** The pipeline's dependencies for one request (its logger, its execution context). */
  pipeline(log: Logger, options?: PipelineOptions): PipelineDeps;
}

const byEnv = new WeakMap<object, { readonly raw: unknown; readonly deps: AppDeps }>();

export function appDeps(env: Env): AppDeps {
  const cached = byEnv.get(env);
  if (cached && cached.raw === env.IMAGEN_CONFIG) return cached.deps;
  const deps = buildAppDeps(env);
  byEnv.set(env, { raw: env.IMAGEN_CONFIG, deps });
  return deps;
}

function buildAppDeps(env: Env): AppDeps {
  let config: ImagenConfig | undefined;
  let ledger: Ledger | undefined;
  let prices: PriceStore | undefined;
  const configured = () => (config ??= loadConfig(env.IMAGEN_CONFIG));
  return {
    env,
    get config() {
      return configured();
    },
    backend: (name) => backendResolver(configured(), env)(name),
    ledgerTarget: () => ledgerTarget(configured(), env),
    ledger: () => (ledger ??= ledgerFor(env, configured())),
    priceStore: () => (prices ??= priceStoreFor(env, configured())),
    pipeline: (log, options = {}) => pipelineDepsFor(configured(), env, log, options),
  };
}
