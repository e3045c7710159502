/**
 * The PNG writer the fakes share: 8-bit RGB rows, one IDAT (node:zlib), optional text chunks —
 * tEXt when Latin-1, else iTXt, as Pillow's PngInfo.add_text does (ComfyUI's SaveImage).
 */
import { deflateSync } from "node:zlib";

export type Rgb = readonly [number, number, number];

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const out = Buffer.alloc(8 + typed.length + 4);
  out.writeUInt32BE(data.length, 0);
  typed.copy(out, 4);
  out.writeUInt32BE(crc32(typed), 8 + data.length);
  return out;
}

function textChunk(keyword: string, text: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is Latin-1 (tEXt's charset), control characters included.
  if (/^[\u0000-\u00ff]*$/.test(text)) {
    return chunk("tEXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0]), Buffer.from(text, "latin1")]));
  }
  // iTXt: keyword, NUL, compression flag, method, language tag NUL, translated keyword NUL, UTF-8 text.
  return chunk("iTXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, "utf8")]));
}

/** A PNG whose row `y` is painted by `colourOf(y)` (one colour per row keeps the fakes fast). */
export function encodePng(width: number, height: number, colourOf: (y: number) => Rgb, text: Readonly<Record<string, string>> = {}): Buffer {
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const [r, g, b] = colourOf(y);
    for (let x = 0; x < width; x++) raw.set([r, g, b], y * stride + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    ...Object.entries(text).map(([keyword, value]) => textChunk(keyword, value)),
    chunk("IDAT", deflateSync(raw, { level: 1 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
