/**
 * The input images of an edit as our API takes them (`reference_images` and `mask` on
 * `POST /v1/images`, each `{key}` or `{b64_json}`), handed to the core's check
 * (src/core/references.ts) with this API's field names in every 400 and 404.
 */
import type { Context } from "hono";
import { InvalidRequestError } from "../core/errors";
import type { PipelineDeps } from "../core/pipeline";
import { acceptReferences, type ReferenceSource } from "../core/references";
import type { GenerationRequest } from "../core/request";
import type { AppEnv } from "../http/context";
import { fromBase64 } from "../lib/base64";
import type { InputImage } from "./schemas";

/** The request with its inputs checked and stored; unchanged when it carries none. */
export async function withInputImages(
  c: Context<AppEnv>,
  request: GenerationRequest,
  inputs: { readonly reference_images?: readonly InputImage[] | undefined; readonly mask?: InputImage | undefined },
  deps: PipelineDeps,
): Promise<GenerationRequest> {
  const { reference_images: images, mask } = inputs;
  if (images === undefined) {
    if (mask !== undefined) throw new InvalidRequestError("mask", "a mask needs reference_images to apply to");
    return request;
  }
  const field = (index: number | "mask") => (index === "mask" ? "mask" : `reference_images.${index}`);
  return acceptReferences(
    request,
    {
      images: images.map((image, index) => sourceOf(image, field(index))),
      ...(mask !== undefined && { mask: sourceOf(mask, "mask") }),
      field,
    },
    c.get("caller"),
    deps,
  );
}

function sourceOf(image: InputImage, field: string): ReferenceSource {
  if ("key" in image) return { key: image.key };
  const bytes = fromBase64(image.b64_json);
  if (!bytes) throw new InvalidRequestError(`${field}.b64_json`, "not valid base64");
  return { upload: bytes };
}
