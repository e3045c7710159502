/**
 * A per-caller index of stored images, kept in the bucket itself so a page of one caller's
 * listing reads about a page of objects instead of the whole bucket. One empty marker per image:
 *
 *   _images/<caller segment>/<13-digit inverted upload ms>/<sha-256 of the image key>
 *
 * R2 lists in key order, so a caller's markers come newest first; the image key travels in the
 * marker's custom metadata. The index is keyed by the caller written into the image's metadata,
 * not by the image's folder: an admin's explicit `output` elsewhere, or an image in a caller's
 * older folder, is indexed like any other. Callers cannot write under `_`.
 *
 * A marker only says where to look: the listing reads each image itself (its metadata, and
 * whether it still exists — a lifecycle rule may have expired it), so the answer stays exact.
 * Images stored before the index existed are indexed in steps, one per caller listing, which is
 * answered by the full scan until the last step is done (see ensureIndexed).
 */
import { callerSegment } from "./naming";

const INDEX_FOLDER = "_images/";
/** How far indexing the images stored before the index existed has come (`done` or the last key). */
const BACKFILL_FLAG = `${INDEX_FOLDER}.backfill`;
/** Objects looked at per backfill step: each image costs a write, and a request's subrequests are limited. */
const BACKFILL_STEP = 400;
/** Later than any upload time we will see (year 2286): inverted times stay 13 digits. */
const TIME_CEILING_MS = 9_999_999_999_999;

/** The folder holding one caller's markers. */
export function callerIndexPrefix(caller: string): string {
  return `${INDEX_FOLDER}${callerSegment(caller)}/`;
}

/** The part of a marker name that orders it: newer uploads sort first. */
export function invertedTime(uploadedMs: number): string {
  return String(TIME_CEILING_MS - uploadedMs).padStart(13, "0");
}

export function uploadedMsOf(inverted: string): number {
  return TIME_CEILING_MS - Number(inverted);
}

async function markerName(caller: string, uploadedMs: number, key: string): Promise<string> {
  // Hashed: a 1,024-byte image key would not fit in a marker name with a folder in front.
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  const hex = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${callerIndexPrefix(caller)}${invertedTime(uploadedMs)}/${hex}`;
}

/** Records a stored image in its caller's index; `uploaded` is the time R2 gave the image. */
export async function indexImage(bucket: R2Bucket, caller: string, key: string, uploaded: Date): Promise<void> {
  await bucket.put(await markerName(caller, uploaded.getTime(), key), new Uint8Array(0), { customMetadata: { key } });
}

/** Drops a marker whose image is gone (deleted, or expired by a lifecycle rule). */
export async function forgetMarker(bucket: R2Bucket, marker: string): Promise<void> {
  await bucket.delete(marker);
}

/**
 * Indexes the images stored before the index existed, one bounded step per call (a request may
 * make only so many subrequests): true once every one has its marker. Progress is the last key
 * done, kept in the flag object; images stored meanwhile index themselves, and a marker written
 * twice is the same marker, so a concurrent or repeated step is harmless.
 */
export async function ensureIndexed(bucket: R2Bucket): Promise<boolean> {
  const flag = await bucket.head(BACKFILL_FLAG);
  if (flag?.customMetadata?.done === "yes") return true;
  const doneUpTo = flag?.customMetadata?.after;
  const listed = await bucket.list({
    limit: BACKFILL_STEP,
    include: ["customMetadata", "httpMetadata"],
    ...(doneUpTo !== undefined && { startAfter: doneUpTo }),
  });
  await Promise.all(
    listed.objects.flatMap((object) => {
      const caller = object.customMetadata?.caller;
      if (!object.customMetadata?.image_id || !caller || !object.httpMetadata?.contentType?.startsWith("image/")) return [];
      return [indexImage(bucket, caller, object.key, object.uploaded)];
    }),
  );
  const last = listed.objects.at(-1)?.key;
  const done = !listed.truncated;
  await bucket.put(BACKFILL_FLAG, new Uint8Array(0), { customMetadata: done ? { done: "yes" } : { after: last ?? doneUpTo ?? "" } });
  return done;
}
