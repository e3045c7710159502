/**
 * Where images and sidecars go. The pipeline sees this port; R2 implements it. Objects are never
 * overwritten: writes are create-only and a taken key moves to the next free suffix.
 */
import type { GeneratedImage, ImageMimeType } from "../backends/backend";
import { withSuffix } from "./naming";

/** R2 custom metadata: who, which backend, which seed — never the prompt. */
export interface ImageMetadata {
  readonly caller: string;
  readonly backend: string;
  readonly seed: string;
  readonly image_id: string;
  readonly request_id: string;
}

export interface StoredImage {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

export interface ImageStore {
  exists(key: string): Promise<boolean>;
  /**
   * Store the image at `key`, or at the first free `-2`, `-3`… alternative when `allowSuffix`.
   * Returns null when the key is taken and suffixes are not allowed.
   */
  putImage(key: string, image: GeneratedImage, metadata: ImageMetadata, allowSuffix: boolean): Promise<StoredImage | null>;
  putSidecar(key: string, sidecar: unknown, metadata: ImageMetadata): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
}

const MAX_SUFFIX = 1000;

export class R2ImageStore implements ImageStore {
  constructor(private readonly bucket: R2Bucket) {}

  async exists(key: string): Promise<boolean> {
    return (await this.bucket.head(key)) !== null;
  }

  async putImage(
    key: string,
    image: GeneratedImage,
    metadata: ImageMetadata,
    allowSuffix: boolean,
  ): Promise<StoredImage | null> {
    // A stream can be consumed once, so a collision on a streamed image is resolved by probing
    // with head() first; bytes can simply be retried with create-only puts.
    if ("stream" in image) {
      const free = await this.firstFreeKey(key, allowSuffix);
      if (!free) return null;
      const body = image.stream.pipeThrough(new FixedLengthStream(image.byteLength));
      const stored = await this.createOnly(free, body, image.mimeType, metadata);
      if (!stored) throw new Error("object appeared between probe and write; not overwritten");
      return stored;
    }
    for (let n = 1; n <= (allowSuffix ? MAX_SUFFIX : 1); n++) {
      const candidate = n === 1 ? key : withSuffix(key, n);
      const stored = await this.createOnly(candidate, image.bytes, image.mimeType, metadata);
      if (stored) return stored;
    }
    if (allowSuffix) throw new Error(`no free key after ${MAX_SUFFIX} suffixes`);
    return null;
  }

  async putSidecar(key: string, sidecar: unknown, metadata: ImageMetadata): Promise<void> {
    await this.bucket.put(key, JSON.stringify(sidecar, null, 2), {
      httpMetadata: { contentType: "application/json; charset=utf-8" },
      customMetadata: { ...metadata },
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.bucket.delete([...keys]);
  }

  private async firstFreeKey(key: string, allowSuffix: boolean): Promise<string | null> {
    for (let n = 1; n <= (allowSuffix ? MAX_SUFFIX : 1); n++) {
      const candidate = n === 1 ? key : withSuffix(key, n);
      if (!(await this.exists(candidate))) return candidate;
    }
    return null;
  }

  private async createOnly(
    key: string,
    body: ReadableStream | Uint8Array,
    mimeType: ImageMimeType,
    metadata: ImageMetadata,
  ): Promise<StoredImage | null> {
    const object = await this.bucket.put(key, body, {
      // etag-does-not-match "*" = only if no object exists (R2 answers null otherwise).
      onlyIf: { etagDoesNotMatch: "*" },
      httpMetadata: { contentType: mimeType, cacheControl: "private, max-age=31536000, immutable" },
      customMetadata: { ...metadata },
    });
    return object ? { key, size: object.size, etag: object.httpEtag } : null;
  }
}
