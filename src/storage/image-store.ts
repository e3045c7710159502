/**
 * Where images and sidecars go. The pipeline sees this port; R2 implements it. Objects are never
 * overwritten: every write is create-only, and a taken key moves to the next free suffix.
 */
import type { GeneratedImage } from "../backends/backend";
import type { Logger } from "../lib/log";
import { indexImage } from "./image-index";
import { writeFollowUps } from "./image-follow-ups";
import { sidecarKey, withSuffix } from "./naming";

/**
 * R2 custom metadata: who, which backend, model and seed, the size and this image's share of the
 * cost — never the prompt. Everything `GET /v1/images` lists comes from here (src/storage/image-listing.ts).
 */
export interface ImageMetadata {
  readonly caller: string;
  readonly backend: string;
  readonly model: string;
  readonly seed: string;
  readonly image_id: string;
  readonly request_id: string;
  readonly width: string;
  readonly height: string;
  /** USD, 4 dp, this image's share of the attempt's estimate; "" when the model has no known price. */
  readonly cost_usd_estimate: string;
}

export interface StoredImage {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  /** Key of the JSON sidecar, or null when none was asked for. */
  readonly sidecarKey: string | null;
}

export interface PutImageOptions {
  readonly metadata: ImageMetadata;
  /** Use `-2`, `-3`… when the key is taken (templates); false = fail instead (explicit keys). */
  readonly allowSuffix: boolean;
  /** Builds the sidecar for the key the image finally got; null = no sidecar. */
  readonly sidecar: ((finalKey: string, size: number) => unknown) | null;
  /**
   * The same image (same `metadata.image_id`) may have been stored by an earlier run of this
   * write that died before it was recorded (the cron's adoption, src/core/adopt-images.ts): an
   * object under a key that carries this id is that image, kept and completed (sidecar, index
   * marker) rather than stored again under the next suffix.
   */
  readonly resume?: boolean;
}

export interface ImageStore {
  exists(key: string): Promise<boolean>;
  /**
   * Reserve `key` for one request (`holder`: its id) before anything is paid for: true when this
   * call took it, false when another request holds it. Atomic: of many concurrent claimers
   * exactly one wins. A claim left by a request that died lapses after CLAIM_LAPSES_AFTER_MS.
   */
  claim(key: string, holder: string): Promise<boolean>;
  /** Drop the claims on these keys: the objects were written (they now hold the keys) or never will be. */
  unclaim(keys: readonly string[]): Promise<void>;
  /** Stores image (and sidecar); null when the key is taken and suffixes are not allowed. */
  putImage(key: string, image: GeneratedImage, options: PutImageOptions): Promise<StoredImage | null>;
  delete(keys: readonly string[]): Promise<void>;
}

const MAX_SUFFIX = 1000;
/** Claims live in a reserved folder (callers cannot write under `_`), one marker per image key. */
const CLAIM_FOLDER = "_claims/";
/** Longer than any attempt chain may run (Replicate stops its predictions at 30 min). */
const CLAIM_LAPSES_AFTER_MS = 2 * 60 * 60 * 1000;
export const IMAGE_CACHE_CONTROL = "private, max-age=31536000, immutable";
/** R2 refuses object names longer than this many UTF-8 bytes. */
const R2_MAX_KEY_BYTES = 1024;

/** Whether R2 could hold an object under `key` at all (it throws on longer names). */
export function isStorableKey(key: string): boolean {
  return new TextEncoder().encode(key).byteLength <= R2_MAX_KEY_BYTES;
}

/**
 * A sync request's `waitUntil` and logger: with them, an image's sidecar and index marker are
 * written after the answer (./image-follow-ups.ts); without (jobs, scripts), before putImage returns.
 */
export interface AfterAnswer {
  readonly waitUntil: (work: Promise<unknown>) => void;
  readonly log: Logger;
}

export class R2ImageStore implements ImageStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly afterAnswer?: AfterAnswer,
  ) {}

  async exists(key: string): Promise<boolean> {
    return (await this.bucket.head(key)) !== null;
  }

  async putImage(key: string, image: GeneratedImage, options: PutImageOptions): Promise<StoredImage | null> {
    const attempts = options.allowSuffix ? MAX_SUFFIX : 1;
    for (let n = 1; n <= attempts; n++) {
      const candidate = n === 1 ? key : withSuffix(key, n);
      if (options.resume) {
        const earlier = await this.earlierWrite(candidate, options);
        if (earlier === "taken") continue;
        if (earlier) return earlier;
      }
      // A stream can be read once: find a free key first, so its one write goes to the right place.
      if ("stream" in image && (await this.exists(candidate))) continue;
      const stored = await this.tryKey(candidate, image, options);
      if (stored) return stored;
      if ("stream" in image) throw new Error("object appeared between probe and write; not overwritten");
    }
    if (options.allowSuffix) throw new Error(`no free key after ${MAX_SUFFIX} suffixes`);
    return null;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.bucket.delete([...keys]);
  }

  async claim(key: string, holder: string): Promise<boolean> {
    const marker = CLAIM_FOLDER + key;
    const body = JSON.stringify({ holder });
    // Create-only: R2 lets exactly one of concurrent conditional puts create the object.
    if (await this.bucket.put(marker, body, { onlyIf: { etagDoesNotMatch: "*" }, customMetadata: { holder } })) return true;
    const held = await this.bucket.head(marker);
    if (held === null) return this.bucket.put(marker, body, { onlyIf: { etagDoesNotMatch: "*" }, customMetadata: { holder } }).then((put) => put !== null);
    if (Date.now() - held.uploaded.getTime() < CLAIM_LAPSES_AFTER_MS) return false;
    // A lapsed claim is taken over only if nobody replaced it meanwhile (same etag).
    return (await this.bucket.put(marker, body, { onlyIf: { etagMatches: held.etag }, customMetadata: { holder } })) !== null;
  }

  async unclaim(keys: readonly string[]): Promise<void> {
    await this.delete(keys.map((key) => CLAIM_FOLDER + key));
  }

  /**
   * Image and sidecar are written at the same time, both create-only. If either key turns out to
   * be taken, whatever this call did create is removed again and the caller tries the next key —
   * nothing that existed before is ever touched.
   */
  private async tryKey(key: string, image: GeneratedImage, options: PutImageOptions): Promise<StoredImage | null> {
    const size = "stream" in image ? image.byteLength : image.bytes.byteLength;
    const body = "stream" in image ? image.stream.pipeThrough(new FixedLengthStream(image.byteLength)) : image.bytes;
    const sideKey = options.sidecar ? sidecarKey(key) : null;
    if (this.afterAnswer) return this.imageFirst(key, body, size, image.mimeType, options, this.afterAnswer);
    const [object, sidecar] = await Promise.all([
      this.createOnly(key, body, image.mimeType, options.metadata),
      sideKey && options.sidecar
        ? this.createOnly(sideKey, JSON.stringify(options.sidecar(key, size), null, 2), "application/json; charset=utf-8", options.metadata)
        : Promise.resolve(null),
    ]);
    // Resuming, a sidecar already there may be this image's own, written before a crash took the image's write.
    const sidecarDone = sidecar !== null || !sideKey || (options.resume === true && (await this.carriesImage(sideKey, options.metadata.image_id)));
    if (object && sidecarDone) {
      // Before the answer names the image, so a listing that follows it finds the image.
      await indexImage(this.bucket, options.metadata.caller, key, object.uploaded);
      return { key, size: object.size, etag: object.httpEtag, sidecarKey: sideKey };
    }
    await this.delete([...(object ? [key] : []), ...(sidecar && sideKey ? [sideKey] : [])]);
    return null;
  }

  /**
   * The image an earlier run of this write stored under `key` (completed now: its sidecar and
   * index marker may not have been written before that run died); "taken" when another image
   * holds the key; null when it is free.
   */
  private async earlierWrite(key: string, options: PutImageOptions): Promise<StoredImage | "taken" | null> {
    const existing = await this.bucket.head(key);
    if (existing === null) return null;
    if (existing.customMetadata?.image_id !== options.metadata.image_id) return "taken";
    const sideKey = options.sidecar ? sidecarKey(key) : null;
    if (sideKey && options.sidecar && !(await this.exists(sideKey))) {
      await this.createOnly(sideKey, JSON.stringify(options.sidecar(key, existing.size), null, 2), "application/json; charset=utf-8", options.metadata);
    }
    await indexImage(this.bucket, options.metadata.caller, key, existing.uploaded);
    return { key, size: existing.size, etag: existing.httpEtag, sidecarKey: sideKey };
  }

  private async carriesImage(key: string, imageId: string): Promise<boolean> {
    return (await this.bucket.head(key))?.customMetadata?.image_id === imageId;
  }

  /**
   * The answer's own write only: the image, create-only. Its sidecar and index marker follow after
   * the answer. A template key whose sidecar key is taken (an older sidecar outlived its image) is
   * no longer moved to the next suffix; the sidecar is then logged instead of written.
   */
  private async imageFirst(
    key: string,
    body: ReadableStream | Uint8Array,
    size: number,
    mimeType: string,
    options: PutImageOptions,
    after: AfterAnswer,
  ): Promise<StoredImage | null> {
    const object = await this.createOnly(key, body, mimeType, options.metadata);
    if (!object) return null;
    const sideKey = options.sidecar ? sidecarKey(key) : null;
    const json = sideKey && options.sidecar ? JSON.stringify(options.sidecar(key, size), null, 2) : null;
    const followUps = writeFollowUps(
      this.bucket,
      {
        caller: options.metadata.caller,
        imageKey: key,
        imageId: options.metadata.image_id,
        uploaded: object.uploaded,
        sidecar:
          sideKey && json !== null
            ? { key: sideKey, json, write: () => this.createOnly(sideKey, json, "application/json; charset=utf-8", options.metadata) }
            : null,
      },
      after.log,
    );
    after.waitUntil(followUps);
    return { key, size: object.size, etag: object.httpEtag, sidecarKey: sideKey };
  }

  private createOnly(key: string, body: ReadableStream | Uint8Array | string, contentType: string, metadata: ImageMetadata) {
    return this.bucket.put(key, body, {
      // etag-does-not-match "*" = only if no object exists; R2 answers null otherwise.
      onlyIf: { etagDoesNotMatch: "*" },
      httpMetadata: { contentType, cacheControl: IMAGE_CACHE_CONTROL },
      customMetadata: { ...metadata },
    });
  }
}
