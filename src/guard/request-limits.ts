/** The caller's per-request limits: images per request and megapixels per image. */
import type { Limits } from "../config/guard";
import { RequestLimitError } from "../core/spend-errors";
import type { RequestShape } from "../spend/worst-case";

export type { RequestShape };

function megapixels(width: number, height: number): number {
  return (width * height) / 1e6;
}

/** The first limit the request breaks, or null. */
export function requestLimitViolation(shape: RequestShape, limits: Limits): RequestLimitError | null {
  const max = limits.max_images_per_request;
  if (max !== undefined && shape.n > max) {
    return new RequestLimitError("n", max, shape.n, `this API key may ask for at most ${max} image(s) per request, not ${shape.n}`);
  }
  const maxMp = limits.max_megapixels_per_image;
  const mp = megapixels(shape.width, shape.height);
  if (maxMp !== undefined && mp > maxMp) {
    return new RequestLimitError(
      "size",
      maxMp,
      mp,
      `${shape.width}x${shape.height} is ${mp.toFixed(2)} megapixels; this API key allows at most ${maxMp} per image`,
    );
  }
  return null;
}
