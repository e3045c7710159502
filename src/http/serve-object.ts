/**
 * Reading a stored image or sidecar back for its owner, or for anyone holding a valid signed URL
 * (src/storage/signed-urls.ts): conditional requests (If-None-Match → 304; If-Match,
 * If-Unmodified-Since → 412 when they fail), single byte ranges (206 / 416) and
 * the caching headers. Another caller's object is reported exactly like a missing one, so
 * existence is never revealed.
 */
import { mayAccess } from "../auth/ownership";
import type { Caller } from "../lib/caller";
import { type ByteRange, contentRange, isSatisfiable, parseRangeHeader } from "./range";
import { IMAGE_CACHE_CONTROL, isStorableKey } from "../storage/image-store";

export type ServedObject =
  | { readonly kind: "response"; readonly response: Response }
  | { readonly kind: "not_found" }
  | { readonly kind: "precondition_failed"; readonly etag: string }
  | { readonly kind: "unsatisfiable"; readonly size: number };

/** Who reads: a caller (owner or admin) or the bearer of a verified signed URL for this key. */
export type Reader = Caller | "signed-url";

export async function serveOwnedObject(bucket: R2Bucket, key: string, reader: Reader, request: Headers): Promise<ServedObject> {
  // R2 throws on names it cannot hold; such an object cannot exist, so it is simply not found.
  if (!isStorableKey(key)) return { kind: "not_found" };
  const range = parseRangeHeader(request.get("range") ?? undefined);
  let object: R2Object | R2ObjectBody | null;
  try {
    object = await bucket.get(key, { ...(range && { range }), onlyIf: request });
  } catch {
    // R2 refuses ranges past the end of the object.
    const head = await bucket.head(key);
    return head && ownedBy(head, reader) ? { kind: "unsatisfiable", size: head.size } : { kind: "not_found" };
  }
  if (!object || !ownedBy(object, reader)) return { kind: "not_found" };
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("etag", object.httpEtag);
  headers.set("accept-ranges", "bytes");
  headers.set("cache-control", IMAGE_CACHE_CONTROL);
  if (!("body" in object)) {
    // R2 only says some condition failed; RFC 9110 §13.2.2 decides which answer that is.
    if (mustMatchFailed(request, object)) return { kind: "precondition_failed", etag: object.httpEtag };
    return { kind: "response", response: new Response(null, { status: 304, headers }) };
  }
  if (range) return rangeResponse(object, range, headers);
  headers.set("content-length", String(object.size));
  return { kind: "response", response: new Response(object.body, { status: 200, headers }) };
}

async function rangeResponse(object: R2ObjectBody, range: ByteRange, headers: Headers): Promise<ServedObject> {
  if (!isSatisfiable(range, object.size)) {
    // Local R2 ignores such ranges instead of refusing them.
    await object.body.cancel();
    return { kind: "unsatisfiable", size: object.size };
  }
  const served = object.range as { offset: number; length: number };
  headers.set("content-range", contentRange(served.offset, served.length, object.size));
  headers.set("content-length", String(served.length));
  return { kind: "response", response: new Response(object.body, { status: 206, headers }) };
}

/** If-Match (strong comparison, or `*`), else If-Unmodified-Since, fails for this object: 412, not 304. */
function mustMatchFailed(request: Headers, object: R2Object): boolean {
  const ifMatch = request.get("if-match");
  if (ifMatch !== null) {
    const tags = ifMatch.split(",").map((tag) => tag.trim());
    return !tags.some((tag) => tag === "*" || (!tag.startsWith("W/") && tag === object.httpEtag));
  }
  const ifUnmodifiedSince = request.get("if-unmodified-since");
  if (ifUnmodifiedSince === null) return false;
  const since = Date.parse(ifUnmodifiedSince);
  return !Number.isNaN(since) && Math.floor(object.uploaded.getTime() / 1000) > Math.floor(since / 1000);
}

function ownedBy(object: R2Object, reader: Reader): boolean {
  return reader === "signed-url" || mayAccess(reader, object.customMetadata?.caller);
}
