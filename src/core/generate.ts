/**
 * A synchronous generation, start to finish: prepare the request, run the backend chain to its
 * end (./runner.ts: one usage event per attempt), store the images under the naming template.
 * Async jobs run the same runner one step at a time (src/jobs).
 */
import type { AsyncProgress } from "../backends/backend";
import { type GenerationOutcome, outcomeOf, type PipelineDeps, prepareGeneration } from "./pipeline";
import type { Caller } from "../lib/caller";
import type { GenerationRequest } from "./request";
import { GenerationRunner } from "./runner";
import { releaseOutput } from "./explicit-output";
import { storeImages } from "./store-images";

export interface GenerateOptions {
  /** The caller's own: when it aborts (client hung up), the provider's work is canceled and nothing falls back. */
  readonly signal?: AbortSignal;
  /** Queue position and sampler steps, when the backend reports them. */
  readonly onProgress?: (progress: AsyncProgress) => void;
  /** Each stored image whose bytes were in memory (not streamed), by its final key: lets an answer embed them without reading R2 back. */
  readonly onStoredBytes?: (key: string, bytes: Uint8Array) => void;
}

export async function generate(
  request: GenerationRequest,
  caller: Caller,
  requestId: string,
  deps: PipelineDeps,
  options: GenerateOptions = {},
): Promise<GenerationOutcome> {
  const prepared = await prepareGeneration(request, caller, requestId, deps);
  try {
    const runner = new GenerationRunner(prepared, deps, { deadlineGraceMs: 0, holdSubmit: true });
    const attempt = await runner.run(options.signal ?? new AbortController().signal, options.onProgress);
    const images = await storeImages(prepared, attempt, deps);
    if (options.onStoredBytes) {
      for (const [index, record] of images.entries()) {
        const image = attempt.result.images[index];
        if (image && "bytes" in image) options.onStoredBytes(record.key, image.bytes);
      }
    }
    return outcomeOf(attempt, images, attempt.failed, requestId);
  } finally {
    await releaseOutput(request, deps.store);
  }
}
