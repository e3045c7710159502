/** The pipeline's dependencies for one config: what a sync request and a job hand the runner. */
import { NO_GUARD } from "../core/attempt-guard";
import type { PipelineDeps } from "../core/pipeline";
import type { ImagenConfig } from "../config/schema";
import type { Env } from "../env";
import type { Limits } from "../config/guard";
import { attemptGuardFor } from "../guard/durable-guard";
import type { Admission } from "../guard/admission";
import { type Clock, systemClock } from "../lib/clock";
import { cryptoIdSource } from "../lib/ids";
import type { Logger } from "../lib/log";
import { R2ImageStore } from "../storage/image-store";
import { R2ReferenceStore, r2ReferenceInputs } from "../storage/reference-store";
import { urlSignerFromEnv } from "../storage/signed-urls";
import { deferredUsageSink } from "../usage/deferred-sink";
import { queueUsageSink } from "../usage/queue-sink";
import { backendResolver, cooldownsFor } from "./backends";
import { estimatorFor } from "./estimator";
import { ledgerFor } from "./ledger";

export interface PipelineOptions {
  readonly clock?: Clock;
  /** A request's execution context: usage events are then delivered after the response. */
  readonly waitUntil?: (work: Promise<unknown>) => void;
  /** Whose spend the attempts reserve, and the API key's own limits; absent = nothing is guarded. */
  readonly spender?: Spender;
  /** The request's admission at its caller's object, sent with its first attempt (src/guard/admission.ts). */
  readonly admission?: Admission;
}

export interface Spender {
  readonly caller: string;
  readonly keyLimits?: Limits;
}

export function pipelineDepsFor(config: ImagenConfig, env: Env, log: Logger, options: PipelineOptions = {}): PipelineDeps {
  const clock = options.clock ?? systemClock;
  const usage = queueUsageSink(env.USAGE_EVENTS, () => ledgerFor(env, config), log);
  return {
    config,
    backend: backendResolver(config, env, clock),
    // A request answers once its images are stored; their sidecars and index markers follow it.
    store: new R2ImageStore(env.IMAGES, options.waitUntil && { waitUntil: options.waitUntil, log }),
    references: new R2ReferenceStore(env.IMAGES),
    inputs: r2ReferenceInputs(env.IMAGES, {
      origin: config.public_base_url,
      allowedHosts: inputUrlHosts(config),
      ttlSeconds: config.edits.input_url_ttl_s,
      signer: () => urlSignerFromEnv(env, config.image_urls, clock),
    }),
    usage: options.waitUntil ? deferredUsageSink(usage, options.waitUntil, log) : usage,
    pricing: estimatorFor(env, config, log),
    guard: options.spender
      ? attemptGuardFor(
          env.GUARDS,
          config.guard,
          options.spender.caller,
          options.spender.keyLimits,
          options.waitUntil && { waitUntil: options.waitUntil, log },
          options.admission,
        )
      : NO_GUARD,
    cooldowns: cooldownsFor(config),
    clock,
    ids: cryptoIdSource(() => clock.now()),
    log,
  };
}

/** The hosts that may be handed a signed input URL: those the config names, nothing else. */
function inputUrlHosts(config: ImagenConfig): ReadonlySet<string> {
  const hosts = new Set(config.edits.input_url_hosts.map((host) => host.toLowerCase()));
  for (const instance of Object.values(config.backends)) {
    const baseUrl = "base_url" in instance ? instance.base_url : undefined;
    if (typeof baseUrl === "string") hosts.add(new URL(baseUrl).hostname.toLowerCase());
  }
  return hosts;
}
