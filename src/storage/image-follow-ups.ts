/**
 * What a stored image still needs once its bytes are in R2: its JSON sidecar and its marker in the
 * caller's index. Neither is needed for the answer (the caller gets the image's bytes or URL), so a
 * sync request writes them after the answer (`waitUntil`); a job awaits them before it finishes.
 *
 * Each write is retried with backoff, because losing it loses something: the sidecar is the only
 * copy of the prompt beside the image, and without its marker the image would be missing from
 * `GET /v1/images`. A write that still fails is logged whole, as an error, so it can be replayed
 * (the same last resort as a usage event nothing would take).
 */
import type { Logger } from "../lib/log";
import { indexImage } from "./image-index";

/** Backoff before the 2nd and 3rd try: a blip in R2, not an outage, is what this rides out. */
const RETRY_DELAYS_MS = [100, 1_000] as const;

export interface ImageFollowUps {
  readonly caller: string;
  readonly imageKey: string;
  readonly imageId: string;
  /** R2's upload time of the image: it orders the caller's index. */
  readonly uploaded: Date;
  /** The sidecar's key and JSON text, or null when none was asked for. */
  readonly sidecar: { readonly key: string; readonly json: string; readonly write: () => Promise<R2Object | null> } | null;
}

export async function writeFollowUps(bucket: R2Bucket, work: ImageFollowUps, log: Logger): Promise<void> {
  await Promise.all([
    work.sidecar && writeSidecar(bucket, work, work.sidecar, log),
    withRetries(() => indexImage(bucket, work.caller, work.imageKey, work.uploaded)).catch((error: unknown) =>
      log.error("IMAGE NOT INDEXED", { key: work.imageKey, caller: work.caller, uploaded: work.uploaded.toISOString(), error: message(error) }),
    ),
  ]);
}

async function writeSidecar(bucket: R2Bucket, work: ImageFollowUps, sidecar: NonNullable<ImageFollowUps["sidecar"]>, log: Logger): Promise<void> {
  try {
    await withRetries(async () => {
      if (await sidecar.write()) return;
      // Create-only refused: ours from a try whose answer was lost, or someone else's object.
      const there = await bucket.head(sidecar.key);
      if (there?.customMetadata?.image_id !== work.imageId) throw new SidecarKeyTaken(sidecar.key);
    });
  } catch (error) {
    log.error("SIDECAR NOT WRITTEN", { key: sidecar.key, image_key: work.imageKey, sidecar: sidecar.json, error: message(error) });
  }
}

class SidecarKeyTaken extends Error {
  constructor(key: string) {
    super(`another object already holds ${key}; it was not overwritten`);
  }
}

async function withRetries(write: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (error instanceof SidecarKeyTaken || delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
