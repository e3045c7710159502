/**
 * One caller's page of GET /v1/images reads about a page of objects through the caller's index,
 * however many other callers' images the bucket holds, and still finds images outside the
 * caller's folder (an explicit output, an older folder) and images stored before the index existed.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listImages } from "../../src/storage/image-listing";
import { type ImageMetadata, R2ImageStore } from "../../src/storage/image-store";

const PNG = { mimeType: "image/png" as const, width: 8, height: 8, bytes: new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]) };

function metadata(caller: string, n: number): ImageMetadata {
  return {
    caller,
    backend: "mock",
    model: "mock-png",
    seed: String(n),
    image_id: `img-${caller}-${n}`,
    request_id: `req-${n}`,
    width: "8",
    height: "8",
    cost_usd_estimate: "0",
  };
}

/** The bucket, counting what a listing reads from it. */
function counted(bucket: R2Bucket) {
  const reads = { lists: 0, listedObjects: 0, heads: 0, gets: 0 };
  const wrapped = new Proxy(bucket, {
    get(target, name) {
      if (name === "list") {
        return async (options?: R2ListOptions) => {
          const listed = await target.list(options);
          reads.lists++;
          reads.listedObjects += listed.objects.length;
          return listed;
        };
      }
      if (name === "head") {
        return (key: string) => {
          reads.heads++;
          return target.head(key);
        };
      }
      if (name === "get") {
        return (key: string, options?: R2GetOptions) => {
          reads.gets++;
          return target.get(key, options);
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { bucket: wrapped, reads };
}

/** Lists until the images from before the index are all indexed (one step per listing). */
async function backfilled(caller: string): Promise<void> {
  for (let steps = 0; steps < 10; steps++) {
    if ((await env.IMAGES.head("_images/.backfill"))?.customMetadata?.done === "yes") return;
    await listImages(env.IMAGES, { caller, limit: 1 });
  }
  throw new Error("the index was not backfilled after 10 listings");
}

describe("a caller's image listing through the index", () => {
  it("reads about a page of objects among many other callers', and lists explicit outputs, older folders and pre-index images", async () => {
    const store = new R2ImageStore(env.IMAGES);
    const crowd = 80;
    await Promise.all(
      Array.from({ length: crowd }, (_, n) =>
        store.putImage(`crowd${n % 7}/2026-12-07/${n}.png`, PNG, { metadata: metadata(`crowd${n % 7}`, n), allowSuffix: false, sidecar: null }),
      ),
    );

    const caller = "otto/head";
    const own = ["ottoZ002Fhead/2026-12-07/a.png", "otto/head/2026-11-01/old-folder.png", "somewhere/explicit.png", "ottoZ002Fhead/2026-12-07/b.png"];
    for (const [n, key] of own.entries()) {
      expect(await store.putImage(key, PNG, { metadata: metadata(caller, n), allowSuffix: false, sidecar: null })).not.toBeNull();
    }
    // Stored the way images were before the index existed: the object alone, no marker; and the index not yet backfilled.
    await env.IMAGES.put("otto/head/2026-10-01/before-index.png", PNG.bytes, {
      httpMetadata: { contentType: "image/png" },
      customMetadata: { ...metadata(caller, 99) },
    });
    await env.IMAGES.delete("_images/.backfill");

    await backfilled(caller);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { bucket, reads } = counted(env.IMAGES);
      const page = await listImages(bucket, { caller, limit: 2, ...(cursor !== undefined && { cursor }) });
      seen.push(...page.images.map((image) => image.key));
      expect(page.images.every((image) => image.caller === caller)).toBe(true);
      // A page reads only its own few objects, not the other callers' 80 images.
      expect(reads.listedObjects).toBeLessThanOrEqual(6);
      expect(reads.heads).toBeLessThanOrEqual(7);
      expect(reads.gets).toBe(0);
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor !== undefined);

    expect(seen.sort()).toEqual([...own, "otto/head/2026-10-01/before-index.png"].sort());
    expect(pages).toBe(3);
  });

  it("orders a caller's page newest first, the same as the full scan, and drops an image that is gone", async () => {
    const store = new R2ImageStore(env.IMAGES);
    const caller = "lena";
    for (let n = 0; n < 5; n++) await store.putImage(`lena/2026-12-07/${n}.png`, PNG, { metadata: metadata(caller, n), allowSuffix: false, sidecar: null });
    await env.IMAGES.delete("lena/2026-12-07/2.png");

    const indexed = await listImages(env.IMAGES, { caller, limit: 50 });
    const scanned = await listImages(env.IMAGES, { caller: null, limit: 1000 });
    const expected = scanned.images.filter((image) => image.caller === caller);
    expect(indexed.images).toEqual(expected);
    expect(indexed.images.map((image) => image.key)).not.toContain("lena/2026-12-07/2.png");
    expect(indexed.images).toHaveLength(4);
  });

  it("answers from the full scan while older images are still being indexed, then from the index, with the same page", async () => {
    // More images from before the index than one backfill step indexes.
    await Promise.all(
      Array.from({ length: 450 }, (_, n) =>
        env.IMAGES.put(`past${n % 3}/2026-09-01/${String(n).padStart(3, "0")}.png`, PNG.bytes, {
          httpMetadata: { contentType: "image/png" },
          customMetadata: { ...metadata(`past${n % 3}`, n) },
        }),
      ),
    );
    await env.IMAGES.delete("_images/.backfill");

    const first = counted(env.IMAGES);
    const during = await listImages(first.bucket, { caller: "past1", limit: 200 });
    expect((await env.IMAGES.head("_images/.backfill"))?.customMetadata).not.toEqual({ done: "yes" });
    // The scan read the whole bucket: the index could not answer yet.
    expect(first.reads.listedObjects).toBeGreaterThan(450);

    await backfilled("past1");
    const indexed = counted(env.IMAGES);
    const after = await listImages(indexed.bucket, { caller: "past1", limit: 200 });
    expect(indexed.reads.listedObjects).toBeLessThanOrEqual(201 + 200);
    expect(during.images).toHaveLength(150);
    expect(after.images).toEqual(during.images);
    expect(after.next_cursor).toBeNull();
  });
});
