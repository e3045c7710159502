/**
 * Resolving a `backend` / `model` name against the whole config. Kept out of ./chains.ts: the
 * schema imports that module, and this one needs the schema's type.
 */
import { DEFAULT_FALLBACK_ON, type FallbackTrigger } from "../backends/fallback-triggers";
import { ownEntry } from "../lib/lookup";
import type { ImagenConfig } from "./schema";

/** What a `backend` / `model` name stands for: the instances to try and when to move on. */
export interface ResolvedChain {
  readonly backends: readonly string[];
  readonly fallbackOn: readonly FallbackTrigger[];
}

/**
 * The chain `name` stands for: a configured chain, or an instance (with its own `fallback` list,
 * if any); undefined when it is neither.
 */
export function resolveChain(config: Pick<ImagenConfig, "backends" | "chains">, name: string): ResolvedChain | undefined {
  const chain = ownEntry(config.chains, name);
  if (chain) return { backends: chain.backends, fallbackOn: chain.fallback_on ?? DEFAULT_FALLBACK_ON };
  const instance = ownEntry(config.backends, name);
  if (!instance) return undefined;
  return { backends: [name, ...(instance.fallback ?? [])], fallbackOn: instance.fallback_on ?? DEFAULT_FALLBACK_ON };
}
