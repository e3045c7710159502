/**
 * Backend instances for a config, built lazily and kept per isolate for the life of the config
 * object (a ComfyUI instance caches its status probe; building one parses its workflow).
 */
import type { Backend } from "../backends/backend";
import { createBackend } from "../backends/registry";
import { CooldownBook } from "../core/cooldown";
import { ownEntry } from "../lib/lookup";
import type { ImagenConfig } from "../config/schema";
import type { Env } from "../env";
import { type Clock, systemClock } from "../lib/clock";

const backendCache = new WeakMap<ImagenConfig, Map<string, Backend>>();
const cooldownBooks = new WeakMap<ImagenConfig, CooldownBook>();

/** The isolate's cooldown book for a config: which of its backends are skipped for a while. */
export function cooldownsFor(config: ImagenConfig): CooldownBook {
  let book = cooldownBooks.get(config);
  if (!book) cooldownBooks.set(config, (book = new CooldownBook()));
  return book;
}

export function backendResolver(config: ImagenConfig, env: Readonly<Record<string, unknown>> | Env, clock: Clock = systemClock): (name: string) => Backend {
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
