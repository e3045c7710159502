/**
 * One attempt on one backend, through the runner every request uses (src/core/runner.ts): the
 * way backend tests exercise a provider protocol. Resolves with what the backend produced, or
 * rejects with the attempt's BackendError.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { BackendError } from "../../src/backends/errors";
import type { AsyncProgress, AttemptContext, Backend, BackendResult, GenerationSpec } from "../../src/backends/backend";
import { parseConfig } from "../../src/config/load";
import { NO_GUARD } from "../../src/core/attempt-guard";
import { CooldownBook } from "../../src/core/cooldown";
import { DEFAULT_FALLBACK_ON } from "../../src/backends/fallback-triggers";
import { GenerationFailedError } from "../../src/core/errors";
import type { PipelineDeps } from "../../src/core/pipeline";
import { GenerationRunner } from "../../src/core/runner";
import { cryptoIdSource } from "../../src/lib/ids";
import { createCostEstimator } from "../../src/pricing/estimate";
import { MemoryPriceStore } from "../../src/pricing/memory-price-store";
import { BUNDLED_PRICES } from "../../src/pricing/snapshot";
import { R2ImageStore } from "../../src/storage/image-store";
import { R2ReferenceStore } from "../../src/storage/reference-store";
import { testReferenceInputs } from "./reference-images";
import type { UsageEvent } from "../../src/usage/event";

export interface AttemptOptions {
  readonly onProgress?: (progress: AsyncProgress) => void;
  /** Usage events of the attempt land here. */
  readonly events?: UsageEvent[];
}

export async function runAttempt(backend: Backend, spec: GenerationSpec, ctx: AttemptContext, options: AttemptOptions = {}): Promise<BackendResult> {
  const events = options.events ?? [];
  const deps: PipelineDeps = {
    config: parseConfig({ default_backend: backend.name, backends: { [backend.name]: { type: "mock" } } }),
    backend: () => backend,
    store: new R2ImageStore(env.IMAGES),
    references: new R2ReferenceStore(env.IMAGES),
    inputs: ctx.inputs ?? testReferenceInputs(),
    usage: { record: async (event) => void events.push(event) },
    pricing: createCostEstimator({ store: new MemoryPriceStore(ctx.clock, BUNDLED_PRICES), clock: ctx.clock }),
    guard: NO_GUARD,
    cooldowns: new CooldownBook(),
    clock: ctx.clock,
    ids: cryptoIdSource(() => ctx.clock.now()),
    log: ctx.log,
  };
  const prepared = {
    plan: { chain: [backend.name], fallbackOn: DEFAULT_FALLBACK_ON, spec, style: null },
    request: { prompt: spec.prompt, n: spec.n },
    caller: { name: "backend-test", role: "user" as const },
    requestId: ctx.requestId,
    promptHash: "0".repeat(64),
  };
  const runner = new GenerationRunner(prepared, deps, { deadlineGraceMs: 0, holdSubmit: true });
  try {
    return (await runner.run(ctx.signal, options.onProgress)).result;
  } catch (error) {
    throw error instanceof GenerationFailedError ? error.last : error;
  }
}

/** The BackendError a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function backendFailure(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}
