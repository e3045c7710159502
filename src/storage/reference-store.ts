/**
 * The input images of edits in R2: reading a referenced object back (with its owner, so the
 * caller's right to it can be judged), storing an upload under the caller's own folder, and the
 * `ReferenceInputs` an attempt hands its backend — the bytes, checked against the hash taken when
 * the request was accepted, or a short-lived signed URL for a provider that fetches by URL.
 */
import { EXTENSION_BY_MIME, type ImageMimeType, type ReferenceImage, type ReferenceInputs } from "../backends/backend";
import { BackendError } from "../backends/errors";
import { sha256HexOfBytes } from "../lib/hash";
import { IMAGE_CACHE_CONTROL, isStorableKey } from "./image-store";
import { callerSegment } from "./naming";
import { imageUrlFor, type UrlSigner } from "./signed-urls";

/** A stored object as an edit's input: its owner (R2 metadata `caller`) and bytes. */
export interface StoredInput {
  readonly owner: string | undefined;
  readonly size: number;
  /** Null when the object is larger than the reader asked for: its bytes were not read. */
  readonly bytes: Uint8Array | null;
}

export interface ReferenceStore {
  /** The object at `key`, its bytes only when it has at most `maxBytes`; null when there is none. */
  read(key: string, maxBytes: number): Promise<StoredInput | null>;
  /** Store an upload (create-only: the same bytes are already there when the key exists, since it names their hash). */
  putInput(key: string, bytes: Uint8Array, mimeType: ImageMimeType, caller: string): Promise<void>;
}

/** Uploads live under the caller's folder, named by their hash: the same upload twice is one object. */
export function uploadKey(caller: string, sha256: string, mimeType: ImageMimeType): string {
  return `${callerSegment(caller)}/inputs/${sha256}.${EXTENSION_BY_MIME[mimeType]}`;
}

export class R2ReferenceStore implements ReferenceStore {
  constructor(private readonly bucket: R2Bucket) {}

  async read(key: string, maxBytes: number): Promise<StoredInput | null> {
    if (!isStorableKey(key)) return null;
    const head = await this.bucket.head(key);
    if (!head) return null;
    const owner = head.customMetadata?.caller;
    if (head.size > maxBytes) return { owner, size: head.size, bytes: null };
    const object = await this.bucket.get(key);
    if (!object) return null;
    return { owner, size: object.size, bytes: new Uint8Array(await object.arrayBuffer()) };
  }

  async putInput(key: string, bytes: Uint8Array, mimeType: ImageMimeType, caller: string): Promise<void> {
    await this.bucket.put(key, bytes, {
      onlyIf: { etagDoesNotMatch: "*" },
      httpMetadata: { contentType: mimeType, cacheControl: IMAGE_CACHE_CONTROL },
      customMetadata: { caller, input: "upload" },
    });
  }
}

export interface InputUrlPolicy {
  /** The deployment's `public_base_url`: the only origin a provider is sent to (never a request's Host). */
  readonly origin: string | undefined;
  /** Hosts the config names (backends' `base_url`, `[edits] input_url_hosts`): the only recipients of a link. */
  readonly allowedHosts: ReadonlySet<string>;
  readonly ttlSeconds: number;
  /** The deployment's URL signer, or why there is none. */
  readonly signer: () => Promise<{ readonly signer: UrlSigner } | { readonly problem: string }>;
}

export function r2ReferenceInputs(bucket: R2Bucket, policy: InputUrlPolicy): ReferenceInputs {
  return {
    async bytes(image: ReferenceImage): Promise<Uint8Array> {
      const object = await bucket.get(image.key);
      if (!object) throw new BackendError("failed", `input image ${image.key} is no longer stored`);
      const bytes = new Uint8Array(await object.arrayBuffer());
      if ((await sha256HexOfBytes(bytes)) !== image.sha256) {
        throw new BackendError("failed", `input image ${image.key} changed after the request was accepted (its sha256 differs)`);
      }
      return bytes;
    },
    async signedUrl(image: ReferenceImage, recipient: string): Promise<string> {
      const host = hostOf(recipient);
      if (host === null || !policy.allowedHosts.has(host)) {
        throw new BackendError(
          "not_configured",
          `input image links go only to hosts this deployment names; add "${host ?? recipient}" to [edits] input_url_hosts if it should fetch them`,
        );
      }
      if (policy.origin === undefined) {
        throw new BackendError(
          "not_configured",
          "this provider fetches input images by URL; set public_base_url so it has a public address to fetch them from",
        );
      }
      const signing = await policy.signer();
      if ("problem" in signing) throw new BackendError("not_configured", `this provider fetches input images by URL, which must be signed: ${signing.problem}`);
      return imageUrlFor(policy.origin, { ...signing.signer, ttlSeconds: policy.ttlSeconds })(image.key);
    },
  };
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}
