/**
 * `[vars.IMAGEN_CONFIG.chains.<name>]`: named fallback chains. A chain is usable wherever an
 * instance is (`backend` on POST /v1/images, `model` on /v1/images/generations, `default_backend`):
 * its backends are tried in order, moving on only on the failures `fallback_on` lists.
 *
 * @example
 * [vars.IMAGEN_CONFIG.chains.flux-schnell-any]
 * backends = ["flux-schnell-local", "flux-schnell-replicate", "flux-schnell-together"]
 * fallback_on = ["unconfigured", "unreachable", "rate_limited", "server_error", "timeout"]
 */
import { z } from "zod";
import { fallbackOnSchema } from "../backends/fallback-triggers";

export const chainSchema = z.strictObject({
  /** Instance names, tried in this order. */
  backends: z.array(z.string()).min(1).max(6),
  fallback_on: fallbackOnSchema.optional(),
  description: z.string().max(200).optional(),
});

export type ChainConfig = z.infer<typeof chainSchema>;

/** Problems of the chains against the configured instances: [path below `chains`, message]. */
export function chainProblems(chains: Readonly<Record<string, ChainConfig>>, instances: readonly string[]): [(string | number)[], string][] {
  return Object.entries(chains).flatMap(([chain, config]) => {
    const problems: [(string | number)[], string][] = [];
    if (instances.includes(chain)) problems.push([[chain], `chain "${chain}" has the name of an instance; names must be unique`]);
    config.backends.forEach((backend, i) => {
      if (!instances.includes(backend)) problems.push([[chain, "backends", i], `"${backend}" is not a configured backend`]);
      else if (config.backends.indexOf(backend) !== i) problems.push([[chain, "backends", i], `"${backend}" is listed twice`]);
    });
    return problems;
  });
}
