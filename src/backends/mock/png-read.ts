/**
 * Reading PNG pixels back, for the mock's edits (it inverts its input, so a test can tell the
 * input was used): 8-bit grey, grey+alpha, RGB and RGBA, not interlaced — what the mock itself and
 * common tools write. Inflates with the runtime's own DecompressionStream. Spec: https://www.w3.org/TR/png-3/
 */

export interface PngPixels {
  readonly width: number;
  readonly height: number;
  /** RGBA of the pixel at (x, y); alpha 255 when the image has none. */
  rgba(x: number, y: number): readonly [number, number, number, number];
}

/** Channels per pixel by colour type (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA). */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** The pixels, or null for a PNG this reader does not handle (16-bit, palette, interlaced). */
export async function readPngPixels(bytes: Uint8Array): Promise<PngPixels | null> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header: { width: number; height: number; channels: number } | null = null;
  const idat: Uint8Array[] = [];
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      const channels = CHANNELS[data[9]!];
      if (data[8] !== 8 || channels === undefined || data[12] !== 0) return null;
      header = { width: view.getUint32(offset + 8), height: view.getUint32(offset + 12), channels };
    }
    if (type === "IDAT") idat.push(data);
    if (type === "IEND") break;
    offset += 12 + length;
  }
  if (!header || idat.length === 0) return null;
  const { width, height, channels } = header;
  const inflated = new Uint8Array(await new Response(new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer());
  const stride = width * channels;
  if (inflated.length < (stride + 1) * height) return null;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = inflated[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? raw[y * stride + i - channels]! : 0;
      const up = y > 0 ? raw[(y - 1) * stride + i]! : 0;
      const upLeft = y > 0 && i >= channels ? raw[(y - 1) * stride + i - channels]! : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter];
      if (predictor === undefined) return null;
      raw[y * stride + i] = (inflated[y * (stride + 1) + 1 + i]! + predictor) & 0xff;
    }
  }
  return {
    width,
    height,
    rgba(x, y) {
      const at = y * stride + x * channels;
      const grey = channels < 3;
      const r = raw[at]!;
      const g = grey ? r : raw[at + 1]!;
      const b = grey ? r : raw[at + 2]!;
      const a = channels === 2 ? raw[at + 1]! : channels === 4 ? raw[at + 3]! : 255;
      return [r, g, b, a];
    },
  };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
