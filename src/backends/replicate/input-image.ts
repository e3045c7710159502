/**
 * How an edit's input image reaches Replicate, which fetches file inputs itself: a short-lived
 * signed link to the stored image on our public origin (never the API key), or — when the
 * deployment cannot hand out such links (no public_base_url or no URL signing secret) — the bytes
 * as a data URI, which Replicate recommends only below 1 MB.
 * https://replicate.com/docs/topics/predictions/input-files
 */
import { referenceInputs, type AttemptContext, type ReferenceImage } from "../backend";
import { BackendError } from "../errors";
import { toBase64 } from "../../lib/base64";

/** Replicate's advice: data URIs for files under 1 MB. */
const MAX_DATA_URI_BYTES = 1_000_000;

/** Stands for the link in inputs that are checked or compared, never sent. */
export const PENDING_INPUT_IMAGE = "(input image)";

export interface InputImage {
  readonly uri: string;
  readonly width: number;
  readonly height: number;
}

/** The `input_image` for one reference: a signed link for `recipient`, else a data URI of a small image. */
export async function inputImageFor(reference: ReferenceImage, ctx: AttemptContext, recipient: string): Promise<InputImage> {
  const inputs = referenceInputs(ctx);
  const sized = (uri: string) => ({ uri, width: reference.width, height: reference.height });
  try {
    return sized(await inputs.signedUrl(reference, recipient));
  } catch (error) {
    if (!(error instanceof BackendError) || error.kind !== "not_configured") throw error;
    if (reference.bytes > MAX_DATA_URI_BYTES) {
      throw new BackendError(
        "not_configured",
        `${error.detail} (without a link, the image could go as a data URI only up to ${MAX_DATA_URI_BYTES} bytes; it has ${reference.bytes})`,
        { cause: error },
      );
    }
    const bytes = await inputs.bytes(reference);
    return sized(`data:${reference.mimeType};base64,${toBase64(bytes)}`);
  }
}
