/**
 * Builds the pipeline's dependencies from the Worker environment. Backends are created lazily
 * and cached per isolate for the life of a config object.
 */
import type { Backend } from "./backends/backend";
import { createBackend } from "./backends/registry";
import { loadConfig } from "./config/load";
import type { ImagenConfig } from "./config/schema";
import type { PipelineDeps } from "./core/generate";
import type { Env } from "./env";
import { type Clock, systemClock } from "./lib/clock";
import { cryptoIdSource } from "./lib/ids";
import type { Logger } from "./lib/log";
import { freeOnlyEstimator } from "./pricing/free-estimator";
import { R2ImageStore } from "./storage/image-store";
import { logUsageSink } from "./usage/log-sink";

const backendCache = new WeakMap<ImagenConfig, Map<string, Backend>>();

export function backendResolver(config: ImagenConfig, env: Env, clock: Clock = systemClock): (name: string) => Backend {
  let cache = backendCache.get(config);
  if (!cache) backendCache.set(config, (cache = new Map()));
  return (name) => {
    let backend = cache.get(name);
    if (!backend) {
      const instance = config.backends[name];
      if (!instance) throw new Error(`backend "${name}" is not configured`);
      backend = createBackend(name, instance, { env, fetch: (input, init) => fetch(input, init), clock });
      cache.set(name, backend);
    }
    return backend;
  };
}

export function pipelineDeps(env: Env, log: Logger): PipelineDeps {
  const config = loadConfig(env.IMAGEN_CONFIG);
  return {
    config,
    backend: backendResolver(config, env),
    store: new R2ImageStore(env.IMAGES),
    usage: logUsageSink(log),
    pricing: freeOnlyEstimator,
    clock: systemClock,
    ids: cryptoIdSource(),
    log,
  };
}
