/**
 * The answer body of a finished generation: what `POST /v1/images` returns with 201 and what a
 * finished async job carries as its `result`. One function, so the two can never drift apart.
 * Hono-free: the job's Durable Object builds it too.
 */
import type { ImageUrlFor } from "../storage/signed-urls";
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

/** `urlFor` (src/storage/signed-urls) makes every URL, so each is signed the same way. */
export async function outcomeBody(outcome: GenerationOutcome, urlFor: ImageUrlFor): Promise<OutcomeBody> {
  return {
    ...outcome,
    failed_attempts: [...outcome.failed_attempts],
    images: await Promise.all(
      outcome.images.map(async ({ sidecar_key, ...image }) => ({
        ...image,
        url: await urlFor(image.key),
        sidecar_url: sidecar_key === null ? null : await urlFor(sidecar_key),
      })),
    ),
  };
}
