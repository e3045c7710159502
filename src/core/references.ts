/**
 * The input images of an edit, from what the caller sent to what a spec carries: each one a stored
 * object the caller may read (by its key) or an upload, checked before anything is stored or
 * spent — type sniffed from the bytes (PNG, JPEG, WebP), bytes and pixels within `[edits]`, a mask
 * a PNG with transparency the size of the first image — then the backend named must be able to
 * edit with them (./plan.ts), and only then are uploads written under the caller's folder.
 */
import type { ImageMimeType, ReferenceImage } from "../backends/backend";
import { pngHasAlpha, sniffImage } from "../backends/image-size";
import { mayAccess } from "../auth/ownership";
import type { Caller } from "../lib/caller";
import { sha256HexOfBytes } from "../lib/hash";
import { uploadKey } from "../storage/reference-store";
import { InputNotFoundError, InvalidRequestError } from "./errors";
import type { PipelineDeps } from "./pipeline";
import { planGeneration } from "./plan";
import type { GenerationRequest } from "./request";

/** One input image as the caller sent it: a stored object by key, or the bytes themselves. */
export type ReferenceSource = { readonly key: string } | { readonly upload: Uint8Array };

/** What a request sent, and its own names for the fields (`reference_images[1]`, OpenAI's `image`), for 400s and 404s. */
export interface ReferenceSources {
  readonly images: readonly ReferenceSource[];
  readonly mask?: ReferenceSource;
  /** The field of image `index` (0-based) and of the mask, as the request spells them. */
  readonly field: (index: number | "mask") => string;
}

interface CheckedInput {
  readonly reference: ReferenceImage;
  /** Bytes still to store (an upload), or null for an object that is already stored. */
  readonly upload: Uint8Array | null;
  /** Whether it can be transparent (what a mask needs). */
  readonly alpha: boolean;
}

/**
 * The request with its inputs checked and stored: `references` and `mask` set. Throws
 * InvalidRequestError (400 naming the field), InputNotFoundError (404) or the plan's refusal of a
 * backend that cannot edit — each before anything is written.
 */
export async function acceptReferences(
  request: GenerationRequest,
  sources: ReferenceSources,
  caller: Caller,
  deps: Pick<PipelineDeps, "config" | "references" | "ids" | "backend">,
): Promise<GenerationRequest> {
  const { edits } = deps.config;
  if (sources.images.length === 0) throw new InvalidRequestError(sources.field(0), "an edit needs at least one image");
  if (sources.images.length > edits.max_images) {
    throw new InvalidRequestError(sources.field(edits.max_images), `at most ${edits.max_images} reference images per request`);
  }
  const images: CheckedInput[] = [];
  for (const [index, source] of sources.images.entries()) images.push(await checkInput(source, sources.field(index), caller, deps));
  const mask = sources.mask === undefined ? undefined : await checkInput(sources.mask, sources.field("mask"), caller, deps);
  if (mask) checkMask(mask, images[0]!.reference, sources.field("mask"));
  const accepted: GenerationRequest = {
    ...request,
    references: images.map((input) => input.reference),
    ...(mask && { mask: mask.reference }),
  };
  // A backend that cannot edit is refused now, while nothing is stored yet.
  planGeneration(accepted, deps.config, deps.ids, deps.backend);
  for (const input of [...images, ...(mask ? [mask] : [])]) {
    if (input.upload) await deps.references.putInput(input.reference.key, input.upload, input.reference.mimeType, caller.name);
  }
  return accepted;
}

async function checkInput(source: ReferenceSource, field: string, caller: Caller, deps: Pick<PipelineDeps, "config" | "references">): Promise<CheckedInput> {
  const { max_input_bytes: maxBytes } = deps.config.edits;
  let bytes: Uint8Array;
  let key: string | null = null;
  if ("key" in source) {
    const stored = await deps.references.read(source.key, maxBytes);
    if (!stored || !mayAccess(caller, stored.owner)) throw new InputNotFoundError(field, source.key);
    if (!stored.bytes) throw new InvalidRequestError(field, `image "${source.key}" has ${stored.size} bytes; at most ${maxBytes} are taken`);
    bytes = stored.bytes;
    key = source.key;
  } else {
    bytes = source.upload;
    if (bytes.byteLength === 0) throw new InvalidRequestError(field, "the image is empty");
    if (bytes.byteLength > maxBytes) throw new InvalidRequestError(field, `the image has ${bytes.byteLength} bytes; at most ${maxBytes} are taken`);
  }
  const sniffed = sniffImage(bytes);
  if (!sniffed) throw new InvalidRequestError(field, "not a PNG, JPEG or WebP image (judged by its bytes, not its name or declared type)");
  const pixels = sniffed.width * sniffed.height;
  if (pixels > deps.config.edits.max_input_pixels) {
    throw new InvalidRequestError(
      field,
      `the image is ${sniffed.width}x${sniffed.height} (${pixels} pixels); at most ${deps.config.edits.max_input_pixels} pixels are taken`,
    );
  }
  const sha256 = await sha256HexOfBytes(bytes);
  const reference: ReferenceImage = {
    key: key ?? uploadKey(caller.name, sha256, sniffed.mimeType),
    sha256,
    mimeType: sniffed.mimeType,
    width: sniffed.width,
    height: sniffed.height,
    bytes: bytes.byteLength,
  };
  return { reference, upload: key === null ? bytes : null, alpha: sniffed.mimeType === "image/png" && pngHasAlpha(bytes) };
}

/** A mask is a PNG with transparency (its transparent pixels mark where to edit), the size of the first image. */
function checkMask(mask: CheckedInput, first: ReferenceImage, field: string): void {
  const { reference } = mask;
  if (reference.mimeType !== ("image/png" satisfies ImageMimeType)) throw new InvalidRequestError(field, `a mask must be a PNG, not ${reference.mimeType}`);
  if (!mask.alpha) throw new InvalidRequestError(field, "a mask must be a PNG with an alpha channel: its transparent pixels mark the area to edit");
  if (reference.width !== first.width || reference.height !== first.height) {
    throw new InvalidRequestError(
      field,
      `the mask is ${reference.width}x${reference.height}; it must be the size of the first image, ${first.width}x${first.height}`,
    );
  }
}
