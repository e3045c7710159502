/** Pipeline dependencies for driving generate() directly: real R2, fake clock, in-memory usage. */
import { env } from "cloudflare:workers";
import { parseConfig } from "../../src/config/load";
import { NO_GUARD } from "../../src/core/attempt-guard";
import { CooldownBook } from "../../src/core/cooldown";
import type { PipelineDeps } from "../../src/core/pipeline";
import type { Clock } from "../../src/lib/clock";
import { manualClock } from "./clock";
import { ulid } from "../../src/lib/ids";
import { jsonLogger } from "../../src/lib/log";
import { createCostEstimator } from "../../src/pricing/estimate";
import { MemoryPriceStore } from "../../src/pricing/memory-price-store";
import { BUNDLED_PRICES } from "../../src/pricing/snapshot";
import { backendResolver } from "../../src/deps";
import { R2ImageStore } from "../../src/storage/image-store";
import { R2ReferenceStore } from "../../src/storage/reference-store";
import { testReferenceInputs } from "./reference-images";
import type { UsageEvent, UsageSink } from "../../src/usage/event";
import { testConfig } from "./config";

export { manualClock } from "./clock";

export interface WorldOptions {
  /** Where usage events go instead of the world's `events`. */
  readonly usage?: UsageSink;
  /** Secrets the backends read (merged over the test env). */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Default: a manual clock, for backends that need no real time to pass. */
  readonly clock?: Clock;
}

export function pipelineWorld(config: unknown = testConfig(), { usage, secrets, clock = manualClock() }: WorldOptions = {}) {
  const events: UsageEvent[] = [];
  const logs: string[] = [];
  let n = 0;
  const parsed = parseConfig(config);
  const deps: PipelineDeps = {
    config: parsed,
    backend: backendResolver(parsed, { ...env, ...secrets } as typeof env, clock),
    store: new R2ImageStore(env.IMAGES),
    references: new R2ReferenceStore(env.IMAGES),
    inputs: testReferenceInputs(),
    usage: usage ?? { record: async (event) => void events.push(event) },
    pricing: createCostEstimator({ store: new MemoryPriceStore(clock, BUNDLED_PRICES), clock }),
    guard: NO_GUARD,
    cooldowns: new CooldownBook(),
    clock,
    ids: { newId: () => ulid(clock.now() + n++), randomSeed: () => 777 },
    log: jsonLogger({}, (line) => logs.push(line)),
  };
  return { deps, events, logs, clock };
}
