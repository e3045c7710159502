/**
 * Input images of edits for backend tests: an object stored in the real local R2 as the API would
 * store an upload, its `ReferenceImage`, and the `ReferenceInputs` an attempt reads it through
 * (signed links on the test origin, handed only to loopback providers).
 */
import { env } from "cloudflare:workers";
import type { ReferenceImage, ReferenceInputs } from "../../src/backends/backend";
import { sniffImage } from "../../src/backends/image-size";
import { systemClock } from "../../src/lib/clock";
import { sha256HexOfBytes } from "../../src/lib/hash";
import { R2ReferenceStore, r2ReferenceInputs, uploadKey } from "../../src/storage/reference-store";
import { urlSignerFromEnv } from "../../src/storage/signed-urls";
import { BASE } from "./world";

/** Store `bytes` (PNG, JPEG or WebP) as `caller`'s upload; the spec's reference to it. */
export async function storedReference(bytes: Uint8Array, caller = "backend-test"): Promise<ReferenceImage> {
  const sniffed = sniffImage(bytes);
  if (!sniffed) throw new Error("storedReference takes PNG, JPEG or WebP bytes");
  const sha256 = await sha256HexOfBytes(bytes);
  const key = uploadKey(caller, sha256, sniffed.mimeType);
  await new R2ReferenceStore(env.IMAGES).putInput(key, bytes, sniffed.mimeType, caller);
  return { key, sha256, mimeType: sniffed.mimeType, width: sniffed.width, height: sniffed.height, bytes: bytes.byteLength };
}

/**
 * What the runner hands backends: R2 bytes, and signed links on `origin` (default BASE) for
 * `allowedHosts` (default loopback) — a fake that fetches inputs needs an origin it can reach.
 */
export function testReferenceInputs(options: { readonly origin?: string; readonly allowedHosts?: readonly string[] } = {}): ReferenceInputs {
  return r2ReferenceInputs(env.IMAGES, {
    origin: options.origin ?? BASE,
    allowedHosts: new Set(options.allowedHosts ?? ["127.0.0.1", "localhost"]),
    ttlSeconds: 300,
    signer: () => urlSignerFromEnv(env, { secret_env: "IMAGEN_URL_SECRET", ttl_s: 3600 }, systemClock),
  });
}
