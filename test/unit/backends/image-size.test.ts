/**
 * sniffImage reads type and size from image headers (the bodies here are only headers).
 */
import { describe, expect, it } from "vitest";
import { sniffImage, sniffMimeType } from "../../../src/backends/image-size";
import { encodeCellPng } from "../../../src/backends/mock/png";

const riff = (chunk: string, payload: number[]) => {
  const bytes = new Uint8Array(12 + 8 + payload.length);
  bytes.set(new TextEncoder().encode(`RIFF\0\0\0\0WEBP${chunk}`), 0);
  bytes.set(payload, 20);
  return bytes;
};

describe("sniffImage", () => {
  it("reads a PNG's IHDR", () => {
    const png = encodeCellPng(48, 16, 16, () => [10, 20, 30]);
    expect(sniffImage(png)).toEqual({ mimeType: "image/png", width: 48, height: 16 });
  });

  it("finds a JPEG's frame header after an APP1 (EXIF) segment", () => {
    const app1 = [0xff, 0xe1, 0x00, 0x06, 1, 2, 3, 4];
    const sof2 = [0xff, 0xc2, 0x00, 0x0b, 8, 0x03, 0x00, 0x05, 0x00, 1, 0x11, 0];
    const jpeg = Uint8Array.from([0xff, 0xd8, ...app1, ...sof2]);
    expect(sniffImage(jpeg)).toEqual({ mimeType: "image/jpeg", width: 1280, height: 768 });
  });

  it("returns null for a JPEG cut before its frame header, while still knowing its type", () => {
    const cut = Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0x10, 0x00, 1, 2, 3, 4, 5, 6]);
    expect(sniffImage(cut)).toBeNull();
    expect(sniffMimeType(cut)).toBe("image/jpeg");
  });

  it("reads lossy (VP8) and extended (VP8X) WebP headers", () => {
    // VP8: 3-byte frame tag, start code 9d 01 2a, then 14-bit width/height (1344 x 768).
    const vp8 = riff("VP8 ", [0, 0, 0, 0x9d, 0x01, 0x2a, 1344 & 0xff, 1344 >> 8, 768 & 0xff, 768 >> 8]);
    expect(sniffImage(vp8)).toEqual({ mimeType: "image/webp", width: 1344, height: 768 });
    // VP8X: flags + reserved (4 bytes), then canvas width-1 and height-1 as 24-bit LE.
    const vp8x = riff("VP8X", [0, 0, 0, 0, 0xff, 0x03, 0x00, 0xff, 0x01, 0x00]);
    expect(sniffImage(vp8x)).toEqual({ mimeType: "image/webp", width: 1024, height: 512 });
  });

  it("returns null for bytes that are no known image", () => {
    expect(sniffImage(new TextEncoder().encode("<html>not found</html>"))).toBeNull();
    expect(sniffMimeType(new TextEncoder().encode("<html>"))).toBeNull();
  });
});
