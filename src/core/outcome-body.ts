/**
 * The answer body of a finished generation: what `POST /v1/images` returns with 201 and what a
 * finished async job carries as its `result`. One function, so the two can never drift apart.
 * Hono-free: the job's Durable Object builds it too.
 */
import { imageUrl } from "../routes";
import type { GenerationOutcome } from "./pipeline";

export interface OutcomeImageBody {
  readonly id: string;
  readonly key: string;
  readonly url: string;
  readonly sidecar_url: string | null;
  readonly width: number;
  readonly height: number;
  readonly mime_type: string;
  readonly bytes: number;
}

export type OutcomeBody = Omit<GenerationOutcome, "images" | "failed_attempts"> & {
  readonly images: OutcomeImageBody[];
  readonly failed_attempts: GenerationOutcome["failed_attempts"][number][];
};

export function outcomeBody(outcome: GenerationOutcome, origin: string): OutcomeBody {
  return {
    ...outcome,
    failed_attempts: [...outcome.failed_attempts],
    images: outcome.images.map(({ sidecar_key, ...image }) => ({
      ...image,
      url: imageUrl(origin, image.key),
      sidecar_url: sidecar_key === null ? null : imageUrl(origin, sidecar_key),
    })),
  };
}
