/**
 * A caller's stored images, newest first, each with its object's custom metadata (docs/images.md
 * explains why not the ledger). One caller's page walks that caller's index (src/storage/image-index.ts)
 * from the cursor and reads each image it names: about a page of objects, whatever else the bucket
 * holds. Everyone's images (admins) have no index to walk, nor has anyone while images stored before
 * the index are still being indexed: that page scans the whole listing, keeps the images, orders them
 * by upload time and cuts the page after the cursor.
 */
import { z } from "zod";
import { decodeOpaqueCursor, encodeOpaqueCursor } from "../lib/opaque-cursor";
import { callerIndexPrefix, ensureIndexed, forgetMarker, invertedTime, uploadedMsOf } from "./image-index";

/** One listed image, before its URL is attached (that belongs to the HTTP layer). */
export interface ListedImage {
  readonly key: string;
  readonly caller: string;
  readonly width: number | null;
  readonly height: number | null;
  readonly bytes: number;
  readonly mime_type: string;
  readonly backend: string;
  readonly model: string | null;
  readonly seed: number | null;
  readonly cost_usd_estimate: number | null;
  readonly created_at: string;
}

export interface ImageListQuery {
  /** Whose images: one caller's, or everyone's (null; admins only — the handler decides). */
  readonly caller: string | null;
  readonly limit: number;
  readonly cursor?: string | undefined;
  readonly prefix?: string | undefined;
  /** Inclusive UTC date (YYYY-MM-DD). */
  readonly since?: string | undefined;
}

export interface ImagePage {
  readonly images: ListedImage[];
  readonly next_cursor: string | null;
}

/** Where the listing resumes: the last image of the previous page (upload time, then key). */
interface Position {
  readonly created_at: string;
  readonly key: string;
}

const R2_PAGE = 1000;

export async function listImages(bucket: R2Bucket, query: ImageListQuery): Promise<ImagePage> {
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  // Until the images stored before the index are all in it, the scan is the exact answer.
  if (query.caller !== null && (await ensureIndexed(bucket))) return listCallerImages(bucket, { ...query, caller: query.caller }, after);
  return scanAllImages(bucket, query, after);
}

/**
 * Walks the caller's markers newest first. Markers of one millisecond are in hash order, not key
 * order, so a millisecond is always read whole before the page is cut; then the page is sorted as
 * the scan sorts it, and the cursor (upload time, key) means the same on both paths.
 */
async function listCallerImages(bucket: R2Bucket, query: ImageListQuery & { caller: string }, after: Position | null): Promise<ImagePage> {
  const since = query.since === undefined ? null : `${query.since}T00:00:00.000Z`;
  const prefix = callerIndexPrefix(query.caller);
  const found: ListedImage[] = [];
  // From the cursor's own millisecond on (its later keys may still be due): `<inverted>` sorts just before its markers.
  let startAfter = after === null ? undefined : `${prefix}${invertedTime(Date.parse(after.created_at))}`;
  let lastMs: number | null = null;
  for (;;) {
    const listed = await bucket.list({
      prefix,
      limit: Math.min(R2_PAGE, query.limit + 1),
      include: ["customMetadata"],
      ...(startAfter !== undefined && { startAfter }),
    });
    let stop = !listed.truncated || listed.objects.length === 0;
    const markers: { marker: string; key: string; ms: number }[] = [];
    for (const object of listed.objects) {
      const ms = uploadedMsOf(object.key.slice(prefix.length, prefix.length + 13));
      const key = object.customMetadata?.key;
      // A full page is cut only between milliseconds.
      if (found.length > query.limit && lastMs !== null && ms !== lastMs) {
        stop = true;
        break;
      }
      if (since !== null && new Date(ms).toISOString() < since) {
        stop = true;
        break;
      }
      lastMs = ms;
      startAfter = object.key;
      if (key !== undefined && (query.prefix === undefined || key.startsWith(query.prefix))) markers.push({ marker: object.key, key, ms });
    }
    const read = await Promise.all(markers.map(async (entry) => ({ entry, object: await bucket.head(entry.key) })));
    for (const { entry, object } of read) {
      // Gone, or a newer object under the key (which has its own marker): this marker is stale.
      if (object === null || object.uploaded.getTime() !== entry.ms) {
        await forgetMarker(bucket, entry.marker);
        continue;
      }
      const image = asListedImage(object);
      // An image replaced under the same key by another caller's is not this caller's.
      if (!image || image.caller !== query.caller) continue;
      if (after !== null && !comesAfter(image, after)) continue;
      found.push(image);
    }
    if (stop) break;
  }
  return cutPage(found, query.limit);
}

async function scanAllImages(bucket: R2Bucket, query: ImageListQuery, after: Position | null): Promise<ImagePage> {
  const since = query.since === undefined ? null : `${query.since}T00:00:00.000Z`;
  const found: ListedImage[] = [];
  let r2Cursor: string | undefined;
  do {
    const listed = await bucket.list({
      limit: R2_PAGE,
      include: ["customMetadata", "httpMetadata"],
      ...(query.prefix !== undefined && { prefix: query.prefix }),
      ...(r2Cursor !== undefined && { cursor: r2Cursor }),
    });
    for (const object of listed.objects) {
      const image = asListedImage(object);
      if (!image) continue;
      if (query.caller !== null && image.caller !== query.caller) continue;
      if (since !== null && image.created_at < since) continue;
      if (after !== null && !comesAfter(image, after)) continue;
      found.push(image);
    }
    r2Cursor = listed.truncated ? listed.cursor : undefined;
  } while (r2Cursor !== undefined);
  return cutPage(found, query.limit);
}

function cutPage(found: ListedImage[], limit: number): ImagePage {
  found.sort(newestFirst);
  const images = found.slice(0, limit);
  const last = images.at(-1);
  return {
    images,
    next_cursor: found.length > limit && last ? encodeCursor({ created_at: last.created_at, key: last.key }) : null,
  };
}

/** Only generated images carry an image id; sidecars are JSON and dead letters have neither. */
function asListedImage(object: R2Object): ListedImage | null {
  const meta = object.customMetadata ?? {};
  const mime = object.httpMetadata?.contentType ?? "";
  if (!meta.image_id || !meta.caller || !mime.startsWith("image/")) return null;
  return {
    key: object.key,
    caller: meta.caller,
    // Images stored before the listing existed lack these fields: unknown, not zero.
    width: intOrNull(meta.width),
    height: intOrNull(meta.height),
    bytes: object.size,
    mime_type: mime,
    backend: meta.backend ?? "unknown",
    model: meta.model || null,
    seed: intOrNull(meta.seed),
    cost_usd_estimate: meta.cost_usd_estimate ? Number(meta.cost_usd_estimate) : null,
    created_at: object.uploaded.toISOString(),
  };
}

function intOrNull(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  return Number(value);
}

function newestFirst(a: Position, b: Position): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function comesAfter(image: Position, position: Position): boolean {
  return newestFirst(image, position) > 0;
}

function encodeCursor(position: Position): string {
  return encodeOpaqueCursor([position.created_at, position.key]);
}

const cursorShape = z.tuple([z.iso.datetime(), z.string().min(1)]);

/** Throws RangeError for a cursor this module did not make. */
function decodeCursor(cursor: string): Position {
  const parsed = cursorShape.safeParse(decodeOpaqueCursor(cursor));
  if (!parsed.success) throw new RangeError("not a cursor from a previous page");
  return { created_at: parsed.data[0], key: parsed.data[1] };
}
