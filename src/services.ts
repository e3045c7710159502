/**
 * Builds the pipeline's dependencies from the Worker environment: backends (created lazily,
 * cached per isolate for the life of a config object), R2 image store, the ledger (Supabase when
 * configured, else D1), the Queue-backed usage sink and the price-table estimator.
 */
import type { Backend } from "./backends/backend";
import { createBackend } from "./backends/registry";
import { loadConfig } from "./config/load";
import { ownEntry } from "./config/lookup";
import type { ImagenConfig } from "./config/schema";
import type { PipelineDeps } from "./core/generate";
import type { Env } from "./env";
import { type Clock, systemClock } from "./lib/clock";
import { cryptoIdSource } from "./lib/ids";
import type { Logger } from "./lib/log";
import { createMaiClient, type MaiClient, type SupabaseSettings, supabaseSettingsFromEnv } from "./lib/supabase";
import { D1PriceStore } from "./pricing/d1-price-store";
import { createCostEstimator } from "./pricing/estimate";
import type { CostEstimator } from "./pricing/estimator";
import type { PriceStore } from "./pricing/store";
import { SupabasePriceStore } from "./pricing/supabase-price-store";
import { R2ImageStore } from "./storage/image-store";
import { D1Ledger } from "./usage/d1-ledger";
import { deferredUsageSink } from "./usage/deferred-sink";
import type { Ledger } from "./usage/ledger";
import { queueUsageSink } from "./usage/queue-sink";
import { SupabaseLedger } from "./usage/supabase-ledger";

const backendCache = new WeakMap<ImagenConfig, Map<string, Backend>>();

export function backendResolver(config: ImagenConfig, env: Env, clock: Clock = systemClock): (name: string) => Backend {
  let cache = backendCache.get(config);
  if (!cache) backendCache.set(config, (cache = new Map()));
  return (name) => {
    let backend = cache.get(name);
    if (!backend) {
      const instance = ownEntry(config.backends, name);
      if (!instance) throw new Error(`backend "${name}" is not configured`);
      backend = createBackend(name, instance, { env, fetch: (input, init) => fetch(input, init), clock });
      cache.set(name, backend);
    }
    return backend;
  };
}

export type LedgerTarget = { readonly kind: "d1" } | { readonly kind: "supabase"; readonly settings: SupabaseSettings };

/**
 * Which ledger this deployment writes to. `auto` = Supabase when its URL variable is set, else
 * the embedded D1 ledger. Throws, naming the variable, when Supabase is half configured.
 */
export function ledgerTarget(config: ImagenConfig, env: Env): LedgerTarget {
  const { backend, supabase_url_env, supabase_key_env } = config.ledger;
  if (backend === "d1") return { kind: "d1" };
  const settings = supabaseSettingsFromEnv(env, { url: supabase_url_env, key: supabase_key_env });
  if (settings) return { kind: "supabase", settings };
  if (backend === "supabase") throw new Error(`ledger.backend is "supabase" but ${supabase_url_env} is not set`);
  return { kind: "d1" };
}

const clients = new Map<string, MaiClient>();

function supabaseClient(settings: SupabaseSettings): MaiClient {
  const id = `${settings.url}\u0000${settings.key}`;
  let client = clients.get(id);
  if (!client) clients.set(id, (client = createMaiClient(settings)));
  return client;
}

export function ledgerFor(env: Env, config: ImagenConfig): Ledger {
  const target = ledgerTarget(config, env);
  return target.kind === "d1" ? new D1Ledger(env.LEDGER) : new SupabaseLedger(supabaseClient(target.settings));
}

/** How an outage names the ledger and price store ("the usage ledger (D1)"). */
export function ledgerDependency(env: Env, config: ImagenConfig, what: "usage ledger" | "price store"): string {
  return `the ${what} (${ledgerTarget(config, env).kind === "d1" ? "D1" : "Supabase"})`;
}

export function priceStoreFor(env: Env, config: ImagenConfig): PriceStore {
  const target = ledgerTarget(config, env);
  return target.kind === "d1" ? new D1PriceStore(env.LEDGER) : new SupabasePriceStore(supabaseClient(target.settings));
}

// The estimator caches current prices per isolate; one per config object (and ledger target).
const estimators = new WeakMap<ImagenConfig, Map<string, CostEstimator>>();

function estimatorFor(env: Env, config: ImagenConfig, log: Logger): CostEstimator {
  let byTarget = estimators.get(config);
  if (!byTarget) estimators.set(config, (byTarget = new Map()));
  let target: LedgerTarget | Error;
  try {
    target = ledgerTarget(config, env);
  } catch (error) {
    target = error instanceof Error ? error : new Error(String(error));
  }
  const id = target instanceof Error ? "unavailable" : target.kind === "d1" ? "d1" : target.settings.url;
  let estimator = byTarget.get(id);
  if (!estimator) {
    // A misconfigured ledger must not fail generations: estimate from the bundled snapshot
    // (the estimator's own fallback) while /healthz reports the problem.
    const store = target instanceof Error ? unavailablePriceStore(target) : priceStoreFor(env, config);
    estimator = createCostEstimator({ store, clock: systemClock, log, cacheMs: config.pricing.cache_seconds * 1000 });
    byTarget.set(id, estimator);
  }
  return estimator;
}

function unavailablePriceStore(error: unknown): PriceStore {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return { current: fail, apply: fail, hold: fail, held: fail, supersede: fail, approveHeld: fail, recordRun: fail, lastRun: fail };
}

/**
 * The pipeline's dependencies. With a `waitUntil` (a request's execution context), usage events
 * are delivered after the response instead of before it.
 */
export function pipelineDeps(env: Env, log: Logger, waitUntil?: (work: Promise<unknown>) => void): PipelineDeps {
  const config = loadConfig(env.IMAGEN_CONFIG);
  const usage = queueUsageSink(env.USAGE_EVENTS, () => ledgerFor(env, config), log);
  return {
    config,
    backend: backendResolver(config, env),
    store: new R2ImageStore(env.IMAGES),
    usage: waitUntil ? deferredUsageSink(usage, waitUntil, log) : usage,
    pricing: estimatorFor(env, config, log),
    clock: systemClock,
    ids: cryptoIdSource(),
    log,
  };
}
