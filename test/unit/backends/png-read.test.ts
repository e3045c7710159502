/** The mock's PNG reader (src/backends/mock/png-read.ts): the pixels of what it reads back are the ones written. */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodeCellPng } from "../../../src/backends/mock/png";
import { readPngPixels } from "../../../src/backends/mock/png-read";

/** A PNG of raw scanlines (filter byte included) with the given colour type, compressed by node:zlib, not by our encoder. */
function png(width: number, height: number, colourType: number, scanlines: number[], bitDepth = 8): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc(typed), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = bitDepth;
  header[9] = colourType;
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", header),
      chunk("IDAT", deflateSync(Buffer.from(scanlines))),
      chunk("IEND", Buffer.alloc(0)),
    ]),
  );
}

function crc(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("readPngPixels", () => {
  it("reads the mock's own cells back", async () => {
    const bytes = encodeCellPng(40, 24, 8, (cx, cy) => [cx * 50, cy * 80, 7]);
    const pixels = (await readPngPixels(bytes))!;
    expect([pixels.width, pixels.height]).toEqual([40, 24]);
    expect(pixels.rgba(0, 0)).toEqual([0, 0, 7, 255]);
    expect(pixels.rgba(39, 23)).toEqual([200, 160, 7, 255]);
  });

  it("reads grey, grey+alpha and RGBA, with Sub, Up, Average and Paeth filters", async () => {
    // Two pixels per row; row 1 uses filter n on a 2×2 image, so each filter is decoded once.
    const grey = await readPngPixels(png(2, 2, 0, [0, 10, 20, 1, 30, 5]));
    expect([grey!.rgba(0, 1), grey!.rgba(1, 1)]).toEqual([
      [30, 30, 30, 255],
      [35, 35, 35, 255],
    ]);
    const greyAlpha = await readPngPixels(png(1, 2, 4, [0, 100, 0, 2, 1, 255]));
    expect(greyAlpha!.rgba(0, 0)).toEqual([100, 100, 100, 0]);
    expect(greyAlpha!.rgba(0, 1)).toEqual([101, 101, 101, 255]);
    const rgba = await readPngPixels(png(1, 2, 6, [0, 10, 20, 30, 40, 3, 10, 10, 10, 10]));
    // Average of the pixel above (no pixel to the left): floor(above / 2) + raw.
    expect(rgba!.rgba(0, 1)).toEqual([15, 20, 25, 30]);
    const paeth = await readPngPixels(png(1, 2, 2, [0, 9, 8, 7, 4, 1, 1, 1]));
    // Paeth with only the pixel above known picks it.
    expect(paeth!.rgba(0, 1)).toEqual([10, 9, 8, 255]);
  });

  it("declines what it does not read: 16-bit, palette, not a PNG", async () => {
    expect(await readPngPixels(png(1, 1, 2, [0, 0, 0, 0, 0, 0, 0], 16))).toBeNull();
    expect(await readPngPixels(png(1, 1, 3, [0, 0]))).toBeNull();
    expect(await readPngPixels(new TextEncoder().encode("not a png at all, not even close"))).toBeNull();
  });
});
