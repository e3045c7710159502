/**
 * Real, decodable images for the fake's delivery URLs, built without image libraries:
 *  - PNG: RGB (../png.ts), a colour band per image so outputs differ;
 *  - WebP: lossless (VP8L) of one colour — every prefix code has a single symbol, so pixels cost 0 bits;
 *  - JPEG: baseline greyscale of one grey — every 8x8 block is "DC diff 0, end of block".
 */
import { encodePng, type Rgb } from "../png";

export type Format = "png" | "webp" | "jpg";

export const CONTENT_TYPES: Record<Format, string> = { png: "image/png", webp: "image/webp", jpg: "image/jpeg" };

export function encodeImage(format: Format, width: number, height: number, colour: readonly [number, number, number]): Buffer {
  switch (format) {
    case "png":
      return png(width, height, colour);
    case "webp":
      return webp(width, height, colour);
    case "jpg":
      return jpeg(width, height);
  }
}

function png(width: number, height: number, [r, g, b]: Rgb): Buffer {
  // Darker band across the middle third: the image is not one flat colour.
  const shaded: Rgb = [Math.floor(r * 0.6), Math.floor(g * 0.6), Math.floor(b * 0.6)];
  return encodePng(width, height, (y) => (y > height / 3 && y < (2 * height) / 3 ? shaded : [r, g, b]));
}

/** LSB-first bit packing, as VP8L reads it. */
class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;
  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      this.current |= ((value >>> i) & 1) << this.used;
      if (++this.used === 8) {
        this.bytes.push(this.current);
        this.current = 0;
        this.used = 0;
      }
    }
  }
  finish(): Buffer {
    if (this.used > 0) this.bytes.push(this.current);
    return Buffer.from(this.bytes);
  }
}

function webp(width: number, height: number, [r, g, b]: readonly [number, number, number]): Buffer {
  const bits = new BitWriter();
  bits.write(0x2f, 8); // VP8L signature
  bits.write(width - 1, 14);
  bits.write(height - 1, 14);
  bits.write(0, 1); // alpha unused
  bits.write(0, 3); // version
  bits.write(0, 1); // no transform
  bits.write(0, 1); // no colour cache
  bits.write(0, 1); // no meta prefix codes
  // Five prefix codes (green, red, blue, alpha, distance), each "simple" with one 8-bit symbol.
  for (const symbol of [g, r, b, 255, 0]) {
    bits.write(1, 1); // simple code
    bits.write(0, 1); // one symbol
    bits.write(1, 1); // 8-bit symbol
    bits.write(symbol, 8);
  }
  const data = bits.finish();
  const padded = data.length % 2 === 1 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
  const header = Buffer.alloc(20);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(4 + 8 + padded.length, 4);
  header.write("WEBP", 8, "ascii");
  header.write("VP8L", 12, "ascii");
  header.writeUInt32LE(data.length, 16);
  return Buffer.concat([header, padded]);
}

function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

function jpeg(width: number, height: number): Buffer {
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  // Each block: DC category 0 (code "0") then end-of-block (code "0"): two zero bits.
  const scanBits = blocks * 2;
  const scan = Buffer.alloc(Math.ceil(scanBits / 8));
  if (scanBits % 8 !== 0) scan[scan.length - 1] = (1 << (8 - (scanBits % 8))) - 1; // pad with 1s
  const bytes = [
    0xff,
    0xd8, // SOI
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]), // DQT: table 0, all ones
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]), // SOF0, 1 component
    ...segment(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0x00]), // DHT DC 0: one 1-bit code → category 0
    ...segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]), // DHT AC 0: one 1-bit code → EOB
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
  ];
  return Buffer.concat([Buffer.from(bytes), scan, Buffer.from([0xff, 0xd9])]);
}
