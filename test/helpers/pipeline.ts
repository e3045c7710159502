/** Pipeline dependencies for driving generate() directly: real R2, fake clock, in-memory usage. */
import { env } from "cloudflare:workers";
import { parseConfig } from "../../src/config/load";
import { NO_GUARD } from "../../src/core/attempt-guard";
import type { PipelineDeps } from "../../src/core/pipeline";
import { manualClock } from "./clock";
import { ulid } from "../../src/lib/ids";
import { jsonLogger } from "../../src/lib/log";
import { createCostEstimator } from "../../src/pricing/estimate";
import { MemoryPriceStore } from "../../src/pricing/memory-price-store";
import { BUNDLED_PRICES } from "../../src/pricing/snapshot";
import { backendResolver } from "../../src/services";
import { R2ImageStore } from "../../src/storage/image-store";
import type { UsageEvent, UsageSink } from "../../src/usage/event";
import { testConfig } from "./config";

export { manualClock } from "./clock";

export function pipelineWorld(config: unknown = testConfig(), usage?: UsageSink) {
  const events: UsageEvent[] = [];
  const logs: string[] = [];
  const clock = manualClock();
  let n = 0;
  const parsed = parseConfig(config);
  const deps: PipelineDeps = {
    config: parsed,
    backend: backendResolver(parsed, env, clock),
    store: new R2ImageStore(env.IMAGES),
    usage: usage ?? { record: async (event) => void events.push(event) },
    pricing: createCostEstimator({ store: new MemoryPriceStore(clock, BUNDLED_PRICES), clock }),
    guard: NO_GUARD,
    clock,
    ids: { newId: () => ulid(clock.now() + n++), randomSeed: () => 777 },
    log: jsonLogger({}, (line) => logs.push(line)),
  };
  return { deps, events, logs, clock };
}
