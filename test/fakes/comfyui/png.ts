/**
 * PNGs the way ComfyUI's SaveImage writes them: 8-bit RGB, with the prompt (and the UI workflow,
 * when the client sent one in extra_pnginfo) as text chunks — tEXt when Latin-1, else iTXt, as
 * Pillow's PngInfo.add_text does.
 */
import { deflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

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
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u00ff]*$/.test(text)) {
    return chunk("tEXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0]), Buffer.from(text, "latin1")]));
  }
  // iTXt: keyword, NUL, compression flag, method, language tag NUL, translated keyword NUL, UTF-8 text.
  return chunk("iTXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, "utf8")]));
}

/** A flat image in a seed-derived colour with a darker band per batch index, so images differ. */
export function renderPng(width: number, height: number, seed: number, index: number, text: Readonly<Record<string, string>>): Buffer {
  const r = (seed * 37 + 80) % 256, g = (seed * 101 + index * 53 + 40) % 256, b = (seed * 13 + 160) % 256;
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  const row = Buffer.alloc(stride);
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  const band = Buffer.from(row);
  for (let x = 0; x < width; x++) band.set([r >> 1, g >> 1, b >> 1], 1 + x * 3);
  for (let y = 0; y < height; y++) (Math.floor((y * 8) / height) === index % 8 ? band : row).copy(raw, y * stride);
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
