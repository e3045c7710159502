import { describe, expect, it } from "vitest";
import { imageSeed, mockBackendType, mockPixel } from "../../src/backends/mock";
import { BackendError } from "../../src/backends/errors";
import { silentLogger } from "../../src/lib/log";
import { readPngSize } from "../../src/backends/image-size";
import { runAttempt } from "../helpers/attempt";
import { manualClock } from "../helpers/pipeline";
import { decodePng } from "../helpers/png-decode";
import { encodeCellPng } from "../../src/backends/mock/png";
import { storedReference } from "../helpers/reference-images";

function mock(config: Record<string, unknown> = {}) {
  const clock = manualClock();
  const parsed = mockBackendType.configSchema.parse({ type: "mock", ...config });
  const backend = mockBackendType.create("m", parsed, { env: {}, fetch, clock });
  const ctx = { signal: new AbortController().signal, clock, requestId: "r", log: silentLogger };
  return { backend, clock, ctx };
}

const spec = { prompt: "a", width: 64, height: 48, seed: 1, n: 1 };

describe("mock backend", () => {
  it("returns valid PNGs of the requested size", async () => {
    const { backend, ctx } = mock();
    const result = await runAttempt(backend, { ...spec, n: 2 }, ctx);
    expect(result.images).toHaveLength(2);
    for (const image of result.images) {
      expect("bytes" in image && readPngSize(image.bytes)).toEqual({ width: 64, height: 48 });
    }
  });

  it.each([
    [64, 48],
    [1024, 1024],
    [1536, 768],
    [72, 200],
  ])("encodes %ix%i so a real inflate decodes every cell to its colour", async (width, height) => {
    const { backend, ctx } = mock();
    const image = (await runAttempt(backend, { ...spec, width, height, seed: 99 }, ctx)).images[0]!;
    const decoded = await decodePng("bytes" in image ? image.bytes : new Uint8Array());
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    const seed = imageSeed(spec.prompt, 99, 0);
    const probes = [
      [0, 0],
      [width - 1, height - 1],
      [31, 31],
      [32, 32],
      [width - 1, 0],
      [0, height - 1],
      [Math.floor(width / 2), Math.floor(height / 3)],
    ];
    for (const [x, y] of probes) expect(decoded.pixel(x!, y!)).toEqual(mockPixel(width, seed, x!, y!));
  });

  it("depends on prompt and seed only", async () => {
    const { backend, ctx } = mock();
    const bytes = async (s: typeof spec) => {
      const image = (await runAttempt(backend, s, ctx)).images[0]!;
      return "bytes" in image ? image.bytes : new Uint8Array();
    };
    expect(await bytes(spec)).toEqual(await bytes(spec));
    expect(await bytes(spec)).not.toEqual(await bytes({ ...spec, prompt: "b" }));
    expect(await bytes(spec)).not.toEqual(await bytes({ ...spec, seed: 2 }));
  });

  it("waits the configured latency on the injected clock", async () => {
    const { backend, clock, ctx } = mock({ latency_ms: 1500 });
    const before = clock.now();
    const result = await runAttempt(backend, spec, ctx);
    expect(clock.now() - before).toBe(1500);
    expect(result.predictTimeSeconds).toBe(1.5);
  });

  it("injects failures at the configured rate, repeatably per prompt and seed", async () => {
    const { backend, ctx } = mock({ failure_rate: 0.5, failure_kind: "rate_limited" });
    const outcomes: boolean[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      outcomes.push(
        await runAttempt(backend, { ...spec, seed }, ctx).then(
          () => true,
          (e) => {
            expect(e).toBeInstanceOf(BackendError);
            expect((e as BackendError).kind).toBe("rate_limited");
            return false;
          },
        ),
      );
    }
    const failures = outcomes.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(60);
    expect(failures).toBeLessThan(140);
    const again = await runAttempt(backend, { ...spec, seed: outcomes.indexOf(false) + 1 }, ctx).then(
      () => true,
      () => false,
    );
    expect(again).toBe(false);
  });

  it("rejects nonsense config with the field named", () => {
    const result = mockBackendType.configSchema.safeParse({ type: "mock", failure_rate: 2 });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(["failure_rate"]);
  });
});

describe("mock backend: edits", () => {
  /** The header of a JPEG (SOI, then a baseline frame of 64×48): enough to be sniffed, not decoded. */
  const jpegHeader = (salt: number) =>
    Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 48, 0x00, 64, 0x03, salt, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd9);

  it("inverts a PNG reference, scaled to the spec's size", async () => {
    const { backend, ctx } = mock();
    const source = encodeCellPng(32, 24, 8, (cx, cy) => [cx * 60, cy * 60, 200]);
    const reference = await storedReference(source, "mock-editor");
    const image = (await runAttempt(backend, { ...spec, references: [reference] }, ctx)).images[0]!;
    const decoded = await decodePng("bytes" in image ? image.bytes : new Uint8Array());
    expect([decoded.width, decoded.height]).toEqual([64, 48]);
    // (40, 30) at 64×48 is (20, 15) at 32×24: cell (2, 1).
    expect(decoded.pixel(40, 30)).toEqual([255 - 120, 255 - 60, 255 - 200]);
  });

  it("makes the pattern seeded by a JPEG reference's hash (which it cannot decode): the same input, the same image", async () => {
    const { backend, ctx } = mock();
    const bytesOf = async (salt: number) => {
      const reference = await storedReference(jpegHeader(salt), "mock-editor");
      const image = (await runAttempt(backend, { ...spec, references: [reference] }, ctx)).images[0]!;
      return "bytes" in image ? image.bytes : new Uint8Array();
    };
    expect(await bytesOf(1)).toEqual(await bytesOf(1));
    expect(await bytesOf(1)).not.toEqual(await bytesOf(2));
  });

  it("says it edits unless configured not to", () => {
    expect(mock().backend.edits).toEqual({ maxImages: 16, mask: true });
    expect(mock({ edits: false }).backend.edits).toBeUndefined();
  });
});
