/**
 * `imagen generate --ref … [--mask …]`: edits through the real binary and the local service. The
 * mock backend inverts its first input's colours (inside the mask), so each test checks the saved
 * file against the input pixel by pixel. Local files are checked before the service is asked.
 */
import { mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeCellPng, type Rgb } from "../../../src/backends/mock/png";
import { leftHalfMask } from "../../helpers/input-images";
import { decodePng } from "../../helpers/png-decode";
import { runCli, runJson, scratchDir } from "./run-cli";

const TIMEOUT = 120_000;
/** Nothing listens there: a local check that let the request through would exit 1, not 2. */
const OFFLINE = { IMAGEN_URL: "http://127.0.0.1:1" };

interface EditJson {
  backend: string;
  images: { path: string; sidecar_path: string | null; key: string; width: number; height: number }[];
}

function cellColour(cx: number, cy: number): Rgb {
  return [(cx * 40 + 11) & 0xff, (cy * 60 + 7) & 0xff, (cx * cy * 7 + 90) & 0xff];
}

const inverted = ([r, g, b]: Rgb): Rgb => [255 - r, 255 - g, 255 - b];

async function sourceFile(dir: string, width: number, height: number, name = "source.png"): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, encodeCellPng(width, height, 8, cellColour));
  return path;
}

describe("imagen generate --ref", () => {
  it("uploads a local file, saves its inversion at the input's size (no --size), and records the input in the sidecar", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const source = await sourceFile(dir, 96, 64);
    const result = await runJson<EditJson>(["generate", "make it night", "--ref", source, "--backend", "mock"], { cwd: dir });
    const image = result.images[0]!;
    expect(image).toMatchObject({ width: 96, height: 64 });
    const png = await decodePng(await readFile(join(dir, image.path)));
    expect([png.width, png.height]).toEqual([96, 64]);
    for (const [x, y] of [
      [0, 0],
      [33, 17],
      [95, 63],
    ] as const) {
      expect(png.pixel(x, y)).toEqual(inverted(cellColour(Math.floor(x / 8), Math.floor(y / 8))));
    }
    const sidecar = JSON.parse(await readFile(join(dir, image.sidecar_path!), "utf8"));
    expect(sidecar.request).toMatchObject({ prompt: "make it night", size: null, reference_images: [{ file: source }], mask: null });
  });

  it("takes a stored image's key as printed by imagen, and a --mask: only the transparent half is edited", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const first = await runJson<EditJson>(["generate", "a source", "--backend", "mock", "--seed", "9", "--size", "64x64"], { cwd: dir });
    const sourceKey = first.images[0]!.key;
    const source = await decodePng(await readFile(join(dir, first.images[0]!.path)));
    const mask = join(dir, "mask.png");
    await writeFile(mask, leftHalfMask(64, 64));

    const text = await runCli(["generate", "invert the left half", "--ref", sourceKey, "--mask", mask, "--output", join(dir, "edited.png")], { cwd: dir });
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^.*edited\.png\nbackend mock \(mock-png\) {2}seed \d+ {2}latency \d+ ms {2}cost \$0\.0000\n$/);
    const png = await decodePng(await readFile(join(dir, "edited.png")));
    expect(png.pixel(5, 5)).toEqual(inverted(source.pixel(5, 5)));
    expect(png.pixel(60, 40)).toEqual(source.pixel(60, 40));
    const sidecar = JSON.parse(await readFile(join(dir, "edited.png.json"), "utf8"));
    expect(sidecar.request).toMatchObject({ reference_images: [{ key: sourceKey }], mask: { file: mask } });
  });

  it("a backend that cannot edit: the service's 400 once, naming the backends that can (exit 1)", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const source = await sourceFile(dir, 64, 64);
    const run = await runCli(["generate", "make it night", "--ref", source, "--backend", "text-only"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^imagen: Invalid request \(HTTP 400\): backend: "text-only" cannot edit images with 1 reference image; backends that can: [^\n]*\bmock\b[^\n]*\bedit-chain\b[^\n]*\n {2}request id: [0-9a-f-]{36}\n$/,
    );
    expect(run.stderr).not.toMatch(/backends that can: [^\n]*text-only/);
  });

  it("a chain runs the edit on its member that edits", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const source = await sourceFile(dir, 80, 64);
    const result = await runJson<EditJson>(["generate", "make it night", "--ref", source, "--backend", "edit-chain"], { cwd: dir });
    expect(result.backend).toBe("mock");
    expect(result.images[0]).toMatchObject({ width: 80, height: 64 });
  });
});

describe("imagen generate --ref: local checks before the service is asked (exit 2, one line)", () => {
  it("a missing file, a folder, and a file that is no image", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const missing = await runCli(["generate", "x", "--ref", "nope.png"], { cwd: dir, env: OFFLINE });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("imagen: --ref nope.png: no such file (nor an image key)\n");

    await mkdir(join(dir, "folder"));
    const folder = await runCli(["generate", "x", "--ref", "folder"], { cwd: dir, env: OFFLINE });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe("imagen: --ref folder: not a file\n");

    await writeFile(join(dir, "notes.png"), "just text, named like a picture");
    const text = await runCli(["generate", "x", "--ref", "notes.png"], { cwd: dir, env: OFFLINE });
    expect(text.code).toBe(2);
    expect(text.stderr).toBe("imagen: --ref notes.png: not a PNG, JPEG or WebP image\n");
  });

  it("a file over the service's byte bound, and one over its pixel bound", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const big = await sourceFile(dir, 64, 64, "big.png");
    await truncate(big, 11 * 1024 * 1024);
    const bytes = await runCli(["generate", "x", "--ref", big], { cwd: dir, env: OFFLINE });
    expect(bytes.code).toBe(2);
    expect(bytes.stderr).toBe(`imagen: --ref ${big}: 11.0 MiB; the service takes images up to 10 MiB\n`);

    // A PNG header claiming 5000x4000: the CLI reads the size from the bytes, as the service does.
    const huge = await sourceFile(dir, 64, 64, "huge.png");
    const header = new Uint8Array(await readFile(huge));
    new DataView(header.buffer).setUint32(16, 5000);
    new DataView(header.buffer).setUint32(20, 4000);
    await writeFile(huge, header);
    const pixels = await runCli(["generate", "x", "--ref", huge], { cwd: dir, env: OFFLINE });
    expect(pixels.code).toBe(2);
    expect(pixels.stderr).toBe(`imagen: --ref ${huge}: 5000x4000 is 20000000 pixels; the service takes up to 16777216\n`);
  });

  it("a mask without --ref, without an alpha channel, or not the first image's size", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const source = await sourceFile(dir, 64, 64);
    const mask = join(dir, "mask.png");
    await writeFile(mask, leftHalfMask(64, 64));
    const alone = await runCli(["generate", "x", "--mask", mask], { cwd: dir, env: OFFLINE });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toBe("imagen: --mask needs at least one --ref: the mask marks where to edit the first one\n");

    const opaque = await sourceFile(dir, 64, 64, "opaque.png");
    const noAlpha = await runCli(["generate", "x", "--ref", source, "--mask", opaque], { cwd: dir, env: OFFLINE });
    expect(noAlpha.code).toBe(2);
    expect(noAlpha.stderr).toBe(`imagen: --mask ${opaque}: a mask must be a PNG with an alpha channel (its transparent pixels mark where to edit)\n`);

    const wide = await sourceFile(dir, 96, 64, "wide.png");
    const mismatch = await runCli(["generate", "x", "--ref", wide, "--mask", mask], { cwd: dir, env: OFFLINE });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toBe(`imagen: --mask ${mask}: it is 64x64; it must be the size of the first --ref, 96x64\n`);
  });
});
