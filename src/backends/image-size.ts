/**
 * Reads an image's type and pixel size from the first bytes of the file, so a backend can report
 * the size a provider actually produced without decoding the image. PNG, JPEG and WebP only:
 * the formats image providers return.
 * Specs: PNG https://www.w3.org/TR/png-3/ · JPEG ITU T.81 (B.2) · WebP RFC 9649.
 */
import type { ImageMimeType } from "./backend";

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface SniffedImage {
  readonly mimeType: ImageMimeType;
  readonly width: number;
  readonly height: number;
}

/**
 * The type and size, or null when the bytes are not (yet) enough to tell. A JPEG's frame header
 * may sit after EXIF data, so callers streaming a download should offer more bytes on null.
 */
export function sniffImage(bytes: Uint8Array): SniffedImage | null {
  const png = readPngSize(bytes);
  if (png) return { mimeType: "image/png", ...png };
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return sniffJpeg(bytes);
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return sniffWebp(bytes);
  return null;
}

/** The MIME type from the magic bytes alone (enough bytes: 12). */
export function sniffMimeType(bytes: Uint8Array): ImageMimeType | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(bytes, 1, 3) === "PNG") return "image/png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "image/webp";
  return null;
}

function sniffJpeg(bytes: Uint8Array): SniffedImage | null {
  // Walk the marker segments after SOI until a start-of-frame (SOFn) segment.
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    // Markers without a length field.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2;
      continue;
    }
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (offset + 9 > bytes.length) return null;
      const height = (bytes[offset + 5]! << 8) | bytes[offset + 6]!;
      const width = (bytes[offset + 7]! << 8) | bytes[offset + 8]!;
      return width > 0 && height > 0 ? { mimeType: "image/jpeg", width, height } : null;
    }
    offset += 2 + length;
  }
  return null;
}

function sniffWebp(bytes: Uint8Array): SniffedImage | null {
  if (bytes.length < 30) return null;
  const chunk = ascii(bytes, 12, 4);
  const at = (i: number) => bytes[i]!;
  if (chunk === "VP8 ") {
    // Lossy: frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (at(23) !== 0x9d || at(24) !== 0x01 || at(25) !== 0x2a) return null;
    const width = (at(26) | (at(27) << 8)) & 0x3fff;
    const height = (at(28) | (at(29) << 8)) & 0x3fff;
    return { mimeType: "image/webp", width, height };
  }
  if (chunk === "VP8L") {
    // Lossless: signature 0x2f, then width-1 and height-1 as 14-bit little-endian fields.
    if (at(20) !== 0x2f) return null;
    const bits = at(21) | (at(22) << 8) | (at(23) << 16) | (at(24) << 24);
    return { mimeType: "image/webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    // Extended: canvas width-1 and height-1 as 24-bit little-endian fields.
    const width = (at(24) | (at(25) << 8) | (at(26) << 16)) + 1;
    const height = (at(27) | (at(28) << 8) | (at(29) << 16)) + 1;
    return { mimeType: "image/webp", width, height };
  }
  return null;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (bytes.length < offset + length) return "";
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

/** Width and height from a PNG's IHDR, or null when the bytes are not a PNG. */
export function readPngSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 24 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Whether a PNG can be transparent: colour type 4 or 6 (with alpha), or a tRNS chunk before its image data. */
export function pngHasAlpha(bytes: Uint8Array): boolean {
  const colorType = bytes[25];
  if (colorType === 4 || colorType === 6) return true;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (type === "tRNS") return true;
    if (type === "IDAT" || type === "IEND") return false;
    offset += 12 + length;
  }
  return false;
}
