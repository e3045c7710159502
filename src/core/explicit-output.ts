/**
 * An explicit `output` key is checked before anything is spent: it must be the caller's to claim,
 * and every key the request would write — each image and, when sidecars are on, each sidecar —
 * must be free. Checking the pair up front is what keeps a taken `<key>.json` from failing the
 * request only after the backend was paid.
 */
import type { ImagenConfig } from "../config/schema";
import { keyOwnershipProblem } from "../storage/key-ownership";
import type { ImageStore } from "../storage/image-store";
import { sidecarKey, withSuffix } from "../storage/naming";
import { InvalidRequestError, OutputConflictError } from "./errors";
import type { Caller, GenerationRequest } from "./request";

export async function ensureOutputClaimable(
  request: GenerationRequest & { readonly output: string },
  caller: Caller,
  deps: { readonly config: ImagenConfig; readonly store: Pick<ImageStore, "exists"> },
): Promise<void> {
  const refused = keyOwnershipProblem(request.output, caller);
  if (refused) throw new InvalidRequestError("output", `output key ${refused}`);
  const sidecars = request.sidecar ?? deps.config.output.sidecar;
  for (let i = 0; i < request.n; i++) {
    const key = i === 0 ? request.output : withSuffix(request.output, i + 1);
    for (const claimed of sidecars ? [key, sidecarKey(key)] : [key]) {
      // The conflict names the image key the caller asked for, whichever of the pair is taken.
      if (await deps.store.exists(claimed)) throw new OutputConflictError(key);
    }
  }
}
