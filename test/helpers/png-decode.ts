/**
 * An independent PNG decoder for tests (8-bit RGB, any filter), built on the runtime's own
 * zlib inflate, so tests check real pixels rather than trusting the encoder.
 */
export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  pixel(x: number, y: number): [number, number, number];
}

export async function decodePng(bytes: Uint8Array): Promise<DecodedPng> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = new TextDecoder().decode(bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      if (data[8] !== 8 || data[9] !== 2) throw new Error("test decoder handles 8-bit RGB only");
    }
    if (type === "IDAT") idat.push(data);
    offset += 12 + length;
  }
  const inflated = new Uint8Array(await new Response(new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer());
  const stride = width * 3;
  if (inflated.length !== (stride + 1) * height) throw new Error(`inflated ${inflated.length} bytes, expected ${(stride + 1) * height}`);
  const rgb = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = inflated[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const raw = inflated[y * (stride + 1) + 1 + i]!;
      const left = i >= 3 ? rgb[y * stride + i - 3]! : 0;
      const up = y > 0 ? rgb[(y - 1) * stride + i]! : 0;
      const upLeft = y > 0 && i >= 3 ? rgb[(y - 1) * stride + i - 3]! : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter];
      if (predictor === undefined) throw new Error(`bad filter ${filter}`);
      rgb[y * stride + i] = (raw + predictor) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => [rgb[y * stride + x * 3]!, rgb[y * stride + x * 3 + 1]!, rgb[y * stride + x * 3 + 2]!],
  };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
