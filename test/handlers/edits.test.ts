/**
 * Edits through our own API (`POST /v1/images` with `reference_images` / `mask`), through the real
 * app, R2, ledger and job Durable Object, with the mock backend — which inverts its first input
 * (inside the mask), so every test can check, pixel by pixel, that the input reached the backend.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encodeCellPng, type Rgb } from "../../src/backends/mock/png";
import { leftHalfMask } from "../helpers/input-images";
import { sha256HexOfBytes } from "../../src/lib/hash";
import type { JobDocument } from "../../src/jobs/job-document";
import { toBase64 } from "../../src/lib/base64";
import { eventually } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { decodePng } from "../helpers/png-decode";
import { allKeys, appWithConfig, bearer, postJson, seedKey } from "../helpers/world";

/** A PNG of `width`×`height` in 8×8 cells whose colour depends on the cell: easy to check after inversion. */
function sourcePng(width: number, height: number, salt = 0): Uint8Array {
  return encodeCellPng(width, height, 8, (cx, cy) => cellColour(cx, cy, salt));
}

function cellColour(cx: number, cy: number, salt = 0): Rgb {
  return [(cx * 40 + salt) & 0xff, (cy * 60 + salt) & 0xff, (cx * cy * 7 + 90) & 0xff];
}

const inverted = ([r, g, b]: Rgb): Rgb => [255 - r, 255 - g, 255 - b];

const editConfig = (overrides: Record<string, unknown> = {}) =>
  testConfig({
    backends: {
      ...testConfig().backends,
      "text-only": { type: "mock", model: "text-only", edits: false },
      "editor-down": { type: "mock", model: "editor-down", failure_rate: 1, failure_kind: "unavailable", cooldown_s: 0 },
    },
    chains: { "text-then-editors": { backends: ["text-only", "editor-down", "mock"] } },
    ...overrides,
  });

function world(config: unknown = editConfig()) {
  const app = appWithConfig(config);
  return {
    app,
    post: (key: string, body: unknown, headers: Record<string, string> = {}) => app.call("/v1/images", postJson("/v1/images", key, body, headers)),
    bytesOf: async (key: string) => new Uint8Array(await (await env.IMAGES.get(key))!.arrayBuffer()),
  };
}

async function ledgerCount(requestId: string): Promise<number> {
  const { results } = await env.LEDGER.prepare("SELECT * FROM imagen_usage WHERE request_id = ?").bind(requestId).all();
  return results.length;
}

describe("POST /v1/images with reference_images", () => {
  it("edits an uploaded image: the upload is stored under the caller's folder, the result is its inversion, the sidecar records key and hash", async () => {
    const key = await seedKey("editor");
    const w = world();
    const source = sourcePng(80, 64);
    const response = await w.post(key, { prompt: "invert it", size: "80x64", reference_images: [{ b64_json: toBase64(source) }], input_fidelity: "low" });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    const sha256 = await sha256HexOfBytes(source);
    const uploadKey = `editor/inputs/${sha256}.png`;
    // The upload: stored once, owned by the caller (its owner can fetch it like any image of theirs).
    expect(new Uint8Array(await (await env.IMAGES.get(uploadKey))!.arrayBuffer())).toEqual(source);
    expect((await w.app.call(`/v1/images/${encodeURIComponent(uploadKey)}`, { headers: bearer(key) })).status).toBe(200);
    // The result: every pixel the inverse of the source's.
    const png = await decodePng(await w.bytesOf(body.images[0].key));
    expect([png.width, png.height]).toEqual([80, 64]);
    for (const [x, y] of [
      [0, 0],
      [17, 9],
      [79, 63],
      [40, 30],
    ] as const) {
      expect(png.pixel(x, y)).toEqual(inverted(cellColour(Math.floor(x / 8), Math.floor(y / 8))));
    }
    // The sidecar names the input by key and hash, never its bytes.
    const sidecar = await (await env.IMAGES.get(body.images[0].sidecar_key ?? `${body.images[0].key}.json`))!.json<any>();
    expect(sidecar.request.reference_images).toEqual([{ key: uploadKey, sha256, mime_type: "image/png", width: 80, height: 64, bytes: source.length }]);
    expect(sidecar.request.input_fidelity).toBe("low");
    expect(JSON.stringify(sidecar)).not.toContain(toBase64(source).slice(0, 40));
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ caller: "editor", backend: "mock", success: 1, images_produced: 1, cost_usd_estimate: 0 });
  });

  it("edits an image the caller made earlier, by its key, and applies a mask only where it is transparent", async () => {
    const key = await seedKey("masker");
    const w = world();
    const first = await (await w.post(key, { prompt: "a source", size: "64x64", seed: 5 })).json<any>();
    const sourceKey = first.images[0].key;
    const source = await decodePng(await w.bytesOf(sourceKey));
    const response = await w.post(key, {
      prompt: "invert the left half",
      size: "64x64",
      reference_images: [{ key: sourceKey }],
      mask: { b64_json: toBase64(leftHalfMask(64, 64)) },
    });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    const png = await decodePng(await w.bytesOf(body.images[0].key));
    expect(png.pixel(5, 5)).toEqual(inverted(source.pixel(5, 5)));
    expect(png.pixel(60, 5)).toEqual(source.pixel(60, 5));
    const sidecar = await (await env.IMAGES.get(`${body.images[0].key}.json`))!.json<any>();
    expect(sidecar.request.reference_images[0]).toMatchObject({ key: sourceKey, sha256: await sha256HexOfBytes(await w.bytesOf(sourceKey)) });
    expect(sidecar.request.mask).toMatchObject({ key: expect.stringMatching(/^masker\/inputs\/[0-9a-f]{64}\.png$/), width: 64, height: 64 });
  });

  it("an edit that names no size is made at its input's size (768x512 stays 768x512, not the 1024x1024 default)", async () => {
    const key = await seedKey("sizer");
    const w = world();
    const source = sourcePng(768, 512, 3);
    const response = await w.post(key, { prompt: "same shape", reference_images: [{ b64_json: toBase64(source) }] });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    expect(body.images[0]).toMatchObject({ width: 768, height: 512 });
    const png = await decodePng(await w.bytesOf(body.images[0].key));
    expect([png.width, png.height]).toEqual([768, 512]);
    expect(png.pixel(700, 500)).toEqual(inverted(cellColour(Math.floor(700 / 8), Math.floor(500 / 8), 3)));
    // A size named in the request still wins; a text prompt still gets the default.
    const sized = await (await w.post(key, { prompt: "square", size: "64x64", reference_images: [{ b64_json: toBase64(source) }] })).json<any>();
    expect(sized.images[0]).toMatchObject({ width: 64, height: 64 });
    const text = await (await w.post(key, { prompt: "no input" })).json<any>();
    expect(text.images[0]).toMatchObject({ width: 1024, height: 1024 });
  });

  it("an input larger than the size bounds gives the nearest size within them, keeping its ratio", async () => {
    const key = await seedKey("sizer-big");
    const w = world();
    const source = sourcePng(3000, 1003);
    const body = await (await w.post(key, { prompt: "fit it", reference_images: [{ b64_json: toBase64(source) }] })).json<any>();
    // 2048 / 3000 of 1003 is 684.7, rounded to the multiple of 8.
    expect(body.images[0]).toMatchObject({ width: 2048, height: 688 });
  });

  it("answers 404 for another caller's image or a key that does not exist; nothing stored, nothing ledgered", async () => {
    const owner = await seedKey("owner-a");
    const other = await seedKey("other-b");
    const w = world();
    const made = await (await w.post(owner, { prompt: "mine", size: "64x64" })).json<any>();
    const before = await allKeys();
    for (const reference of [made.images[0].key, "other-b/nothing-here.png"]) {
      const response = await w.post(other, { prompt: "steal", size: "64x64", reference_images: [{ key: reference }] });
      expect(response.status).toBe(404);
      const problem = await response.json<any>();
      expect(problem.errors).toEqual([{ field: "reference_images.0", message: `no image "${reference}" for this caller` }]);
      expect(await ledgerCount(problem.request_id)).toBe(0);
    }
    expect(await allKeys()).toEqual(before);
  });

  it("lets an admin edit any caller's image, as an admin may read it", async () => {
    const owner = await seedKey("owner-c");
    const admin = await seedKey("admin-d", "admin");
    const w = world();
    const made = await (await w.post(owner, { prompt: "theirs", size: "64x64" })).json<any>();
    const response = await w.post(admin, { prompt: "edit", size: "64x64", reference_images: [{ key: made.images[0].key }] });
    expect(response.status).toBe(201);
  });

  it("refuses bad inputs with a 400 naming the field, before anything is stored or charged", async () => {
    const key = await seedKey("bounds");
    const w = world(editConfig({ edits: { max_input_pixels: 100 * 100, max_input_bytes: 200_000, max_images: 2 } }));
    const png = toBase64(sourcePng(64, 64));
    const cases: [unknown, string, RegExp][] = [
      [{ reference_images: [{ b64_json: btoa("GIF89a not an image we take") }] }, "reference_images.0", /not a PNG, JPEG or WebP/],
      [{ reference_images: [{ b64_json: "!!not base64!!" }] }, "reference_images.0.b64_json", /base64/],
      [{ reference_images: [{ b64_json: png }, { b64_json: toBase64(sourcePng(128, 128)) }] }, "reference_images.1", /at most 10000 pixels/],
      [{ reference_images: [{ b64_json: png }, { b64_json: png }, { b64_json: png }] }, "reference_images.2", /at most 2 reference images/],
      [{ reference_images: [{ b64_json: png }], mask: { b64_json: toBase64(leftHalfMask(32, 32)) } }, "mask", /size of the first image, 64x64/],
      [{ reference_images: [{ b64_json: png }], mask: { b64_json: png } }, "mask", /alpha channel/],
      [{ mask: { b64_json: toBase64(leftHalfMask(64, 64)) } }, "mask", /needs reference_images/],
    ];
    const before = await allKeys();
    for (const [inputs, field, message] of cases) {
      const response = await w.post(key, { prompt: "p", size: "64x64", ...(inputs as object) });
      expect(response.status, field).toBe(400);
      const problem = await response.json<any>();
      expect(problem.errors[0].field).toBe(field);
      expect(problem.errors[0].message).toMatch(message);
      expect(await ledgerCount(problem.request_id)).toBe(0);
    }
    expect(await allKeys()).toEqual(before);
  });

  it("refuses an input over the byte bound, and a stored one too large to read, naming the field", async () => {
    const key = await seedKey("big-input");
    const w = world(editConfig({ edits: { max_input_bytes: 2048 } }));
    const noisy = encodeCellPng(64, 64, 1, (x, y) => [(x * 97 + y * 31) & 0xff, (x * y) & 0xff, (x ^ y) & 0xff]);
    expect(noisy.length).toBeGreaterThan(2048);
    const response = await w.post(key, { prompt: "p", size: "64x64", reference_images: [{ b64_json: toBase64(noisy) }] });
    expect(response.status).toBe(400);
    expect((await response.json<any>()).errors[0]).toMatchObject({ field: "reference_images.0", message: expect.stringMatching(/at most 2048 are taken/) });
    // Stored while the bound was larger: referenced by key, it is refused without its bytes being read.
    const stored = await (await world().post(key, { prompt: "p", size: "64x64", reference_images: [{ b64_json: toBase64(noisy) }] })).json<any>();
    const sourceKey = `big-input/inputs/${await sha256HexOfBytes(noisy)}.png`;
    expect(stored.images).toHaveLength(1);
    const byKey = await w.post(key, { prompt: "p", size: "64x64", reference_images: [{ b64_json: toBase64(sourcePng(64, 64)) }, { key: sourceKey }] });
    expect(byKey.status).toBe(400);
    expect((await byKey.json<any>()).errors[0]).toMatchObject({ field: "reference_images.1", message: expect.stringMatching(/has \d+ bytes; at most 2048/) });
  });

  it("a backend that cannot edit is a 400 that names the ones that can; nothing stored", async () => {
    const key = await seedKey("no-editor");
    const w = world();
    const before = await allKeys();
    const response = await w.post(key, { prompt: "p", size: "64x64", backend: "text-only", reference_images: [{ b64_json: toBase64(sourcePng(64, 64)) }] });
    expect(response.status).toBe(400);
    const problem = await response.json<any>();
    expect(problem.errors[0].field).toBe("backend");
    expect(problem.detail).toMatch(
      /"text-only" cannot edit images with 1 reference image; backends that can: mock, mock-down, .*editor-down, text-then-editors/,
    );
    expect(problem.detail).not.toMatch(/can: .*text-only,/);
    expect(await allKeys()).toEqual(before);
  });

  it("a chain runs an edit only on its members that edit, falling back between them", async () => {
    const key = await seedKey("chain-editor");
    const w = world();
    const response = await w.post(key, {
      prompt: "p",
      backend: "text-then-editors",
      // No size: the chain's first editing member makes it at the input's size.
      reference_images: [{ b64_json: toBase64(sourcePng(80, 64, 3)) }],
    });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    expect(body.backend).toBe("mock");
    expect(body.failed_attempts.map((a: any) => a.backend)).toEqual(["editor-down"]);
    const rows = await ledgerRows(body.request_id, 2);
    expect(rows.map((r) => [r.backend, r.success])).toEqual([
      ["editor-down", 0],
      ["mock", 1],
    ]);
    const png = await decodePng(await w.bytesOf(body.images[0].key));
    expect([png.width, png.height]).toEqual([80, 64]);
    expect(png.pixel(9, 9)).toEqual(inverted(cellColour(1, 1, 3)));
  });

  it("runs an edit as an async job, which reads the stored input", async () => {
    const key = await seedKey("async-editor");
    const w = world();
    const accepted = await w.post(
      key,
      { prompt: "p", size: "64x64", reference_images: [{ b64_json: toBase64(sourcePng(64, 64, 11)) }] },
      { prefer: "respond-async" },
    );
    expect(accepted.status).toBe(202);
    const job = await accepted.json<JobDocument>();
    const done = await eventually(async () => {
      const document = await (await w.app.call(`/v1/jobs/${job.id}`, { headers: bearer(key) })).json<JobDocument>();
      return document.status === "succeeded" ? document : undefined;
    });
    const png = await decodePng(await w.bytesOf(done.result!.images[0]!.key));
    expect(png.pixel(20, 20)).toEqual(inverted(cellColour(2, 2, 11)));
    const [row] = await ledgerRows(job.request_id, 1);
    expect(row).toMatchObject({ backend: "mock", success: 1 });
  });

  it("takes a body over 64 KiB only when it uploads an image", async () => {
    const key = await seedKey("large-upload");
    const w = world();
    const noisy = encodeCellPng(160, 160, 1, (x, y) => [(x * 97 + y * 31) & 0xff, (x * y * 13) & 0xff, (x ^ (y * 7)) & 0xff]);
    expect(noisy.length).toBeGreaterThan(64 * 1024);
    const response = await w.post(key, { prompt: "p", size: "64x64", reference_images: [{ b64_json: toBase64(noisy) }] });
    expect(response.status).toBe(201);
    const padded = await w.post(key, {
      prompt: "p",
      size: "64x64",
      negative: "x".repeat(2000),
      source: "s",
      ref: "r".repeat(10),
      output: `${"a".repeat(70 * 1024)}`,
    });
    expect(padded.status).toBe(413);
  });
});
