/**
 * PNG for the mock backend: images made of flat-colour cells, encoded directly.
 *
 * With PNG's Sub filter on the first row of each band of cells and Up on the rows below it, every
 * filtered byte is zero except three per cell boundary. The deflate stream (RFC 1951, one block
 * with the fixed Huffman code) is then literals plus distance-1 runs, written straight out — no
 * multi-megabyte scanline buffer and no general-purpose compressor, so a 1024×1024 image costs well
 * under a millisecond. Spec: https://www.w3.org/TR/png-3/
 */
const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(parts: readonly Uint8Array[]): number {
  let crc = 0xffffffff;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) crc = CRC_TABLE[(crc ^ part[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const typeBytes = new TextEncoder().encode(type);
  out.set(typeBytes, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32([typeBytes, data]));
  return out;
}

// Deflate length codes 257..285: base length and extra bits (RFC 1951 §3.2.5).
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const MAX_MATCH = 258;
const ADLER_MOD = 65521;

/** Length 3..258 → its length code (0..28, i.e. symbol 257 + code), looked up instead of searched. */
const LENGTH_CODE = (() => {
  const table = new Uint8Array(MAX_MATCH + 1);
  let code = 0;
  for (let length = 3; length <= MAX_MATCH; length++) {
    while (code + 1 < LENGTH_BASE.length && LENGTH_BASE[code + 1]! <= length) code++;
    table[length] = code;
  }
  return table;
})();

/**
 * The fixed Huffman code (RFC 1951 §3.2.6) of every literal/length symbol, bit-reversed once
 * here because deflate packs Huffman codes most-significant bit first into an LSB-first stream.
 */
const FIXED_CODE = new Uint16Array(288);
const FIXED_LENGTH = new Uint8Array(288);
for (let value = 0; value < 288; value++) {
  const [code, length] = value < 144 ? [0x30 + value, 8] : value < 256 ? [0x190 + value - 144, 9] : value < 280 ? [value - 256, 7] : [0xc0 + value - 280, 8];
  let reversed = 0;
  for (let i = 0; i < length; i++) reversed |= ((code >>> i) & 1) << (length - 1 - i);
  FIXED_CODE[value] = reversed;
  FIXED_LENGTH[value] = length;
}
/** Distance code 0 (distance 1, no extra bits) is five zero bits. */
const DISTANCE_ONE_LENGTH = 5;

/** A zlib stream (header, one fixed-Huffman deflate block, Adler-32) built from literals and zero runs. */
class ZlibZeroRunWriter {
  private out = new Uint8Array(4096);
  private length = 0;
  private bitBuffer = 0;
  private bitCount = 0;
  private adlerA = 1;
  private adlerB = 0;
  private lastByte = -1;

  constructor() {
    this.byte(0x78); // CMF: deflate, 32K window
    this.byte(0x01); // FLG: no dictionary, check bits
    this.bits(1, 1); // BFINAL
    this.bits(1, 2); // BTYPE = fixed Huffman
  }

  literal(value: number): void {
    this.symbol(value);
    this.adlerA = (this.adlerA + value) % ADLER_MOD;
    this.adlerB = (this.adlerB + this.adlerA) % ADLER_MOD;
    this.lastByte = value;
  }

  /** `count` zero bytes: one literal zero (if needed) then back-references at distance 1. */
  zeros(count: number): void {
    if (count <= 0) return;
    // Zeros leave the Adler sum `a` unchanged and add `a` to `b` once per byte.
    this.adlerB = (this.adlerB + (count % ADLER_MOD) * this.adlerA) % ADLER_MOD;
    let left = count;
    if (this.lastByte !== 0) {
      this.symbol(0);
      this.lastByte = 0;
      left--;
    }
    while (left >= 3) {
      const run = Math.min(left, MAX_MATCH);
      // Never leave a remainder of 1 or 2 when a shorter run would avoid it.
      const length = left - run > 0 && left - run < 3 ? run - 3 : run;
      this.match(length);
      left -= length;
    }
    for (; left > 0; left--) this.symbol(0);
  }

  finish(): Uint8Array {
    this.symbol(256); // end of block
    if (this.bitCount > 0) this.byte(this.bitBuffer & 0xff);
    this.bitBuffer = 0;
    this.bitCount = 0;
    const adler = ((this.adlerB << 16) | this.adlerA) >>> 0;
    for (const shift of [24, 16, 8, 0]) this.byte((adler >>> shift) & 0xff);
    return this.out.subarray(0, this.length);
  }

  private match(length: number): void {
    const code = LENGTH_CODE[length]!;
    this.symbol(257 + code);
    if (LENGTH_EXTRA[code]! > 0) this.bits(length - LENGTH_BASE[code]!, LENGTH_EXTRA[code]!);
    this.bits(0, DISTANCE_ONE_LENGTH);
  }

  private symbol(value: number): void {
    this.bits(FIXED_CODE[value]!, FIXED_LENGTH[value]!);
  }

  private bits(value: number, count: number): void {
    this.bitBuffer |= value << this.bitCount;
    this.bitCount += count;
    while (this.bitCount >= 8) {
      this.byte(this.bitBuffer & 0xff);
      this.bitBuffer >>>= 8;
      this.bitCount -= 8;
    }
  }

  private byte(value: number): void {
    if (this.length === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.length++] = value;
  }
}

export type Rgb = readonly [number, number, number];

/**
 * An 8-bit RGB PNG of `width`×`height` made of `cell`×`cell` squares; `colorAt(cx, cy)` gives
 * each square's colour.
 */
export function encodeCellPng(width: number, height: number, cell: number, colorAt: (cx: number, cy: number) => Rgb): Uint8Array {
  const zlib = new ZlibZeroRunWriter();
  const cellsX = Math.ceil(width / cell);
  for (let y = 0; y < height; y++) {
    if (y % cell !== 0) {
      zlib.literal(2); // Up: identical to the row above → all zeros
      zlib.zeros(width * 3);
      continue;
    }
    zlib.literal(1); // Sub: each byte minus the same channel one pixel to the left
    let previous: Rgb = [0, 0, 0];
    for (let cx = 0; cx < cellsX; cx++) {
      const color = colorAt(cx, y / cell);
      for (let channel = 0; channel < 3; channel++) zlib.literal((color[channel]! - previous[channel]!) & 0xff);
      zlib.zeros((Math.min(cell, width - cx * cell) - 1) * 3);
      previous = color;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  const parts = [SIGNATURE, chunk("IHDR", header), chunk("IDAT", zlib.finish()), chunk("IEND", new Uint8Array())];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    png.set(part, offset);
    offset += part.length;
  }
  return png;
}
