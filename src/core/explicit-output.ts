/**
 * An explicit `output` key is claimed before anything is spent: it must be the caller's to claim,
 * every key the request would write — each image and, when sidecars are on, each sidecar — must
 * be free, and the image keys are reserved for this request atomically (ImageStore.claim), so of
 * concurrent requests for one key exactly one generates and the others get 409 without paying.
 * The claim covers the image and its sidecar together; it is dropped when the request ends
 * (`releaseOutput`), by which time the written objects hold the keys themselves.
 */
import type { ImagenConfig } from "../config/schema";
import { keyOwnershipProblem } from "../storage/key-ownership";
import type { ImageStore } from "../storage/image-store";
import { sidecarKey, withSuffix } from "../storage/naming";
import { InvalidRequestError, OutputConflictError } from "./errors";
import type { Caller, GenerationRequest } from "./request";

type ExplicitRequest = GenerationRequest & { readonly output: string };

/** The image keys an explicit output names: `key`, then `key-2`, `key-3`… for a batch. */
function explicitImageKeys(request: ExplicitRequest): string[] {
  return Array.from({ length: request.n }, (_, i) => (i === 0 ? request.output : withSuffix(request.output, i + 1)));
}

export async function claimOutput(
  request: ExplicitRequest,
  caller: Caller,
  requestId: string,
  deps: { readonly config: ImagenConfig; readonly store: Pick<ImageStore, "exists" | "claim" | "unclaim"> },
): Promise<void> {
  const refused = keyOwnershipProblem(request.output, caller);
  if (refused) throw new InvalidRequestError("output", `output key ${refused}`);
  const sidecars = request.sidecar ?? deps.config.output.sidecar;
  const claimed: string[] = [];
  try {
    for (const key of explicitImageKeys(request)) {
      if (!(await deps.store.claim(key, requestId))) throw new OutputConflictError(key);
      claimed.push(key);
      for (const taken of sidecars ? [key, sidecarKey(key)] : [key]) {
        // The conflict names the image key the caller asked for, whichever of the pair is taken.
        if (await deps.store.exists(taken)) throw new OutputConflictError(key);
      }
    }
  } catch (error) {
    await deps.store.unclaim(claimed);
    throw error;
  }
}

/** The request ended (images stored, or not): its claims go. */
export async function releaseOutput(request: GenerationRequest, store: Pick<ImageStore, "unclaim">): Promise<void> {
  if (request.output !== undefined) await store.unclaim(explicitImageKeys({ ...request, output: request.output }));
}
