/**
 * After a successful attempt: the produced images go to the image store under the naming template
 * (or the request's explicit key), each with its JSON sidecar. All or nothing: if one image
 * cannot be stored, what this request wrote is removed again.
 */
import { EXTENSION_BY_MIME, type GeneratedImage, type ReferenceImage } from "../backends/backend";
import { usd } from "../lib/money";
import { renderNamingTemplate, withSuffix } from "../storage/naming";
import { OutputConflictError } from "./errors";
import type { GeneratedImageRecord, PipelineDeps, PreparedGeneration, SuccessfulAttempt } from "./pipeline";
import type { GenerationPlan } from "./plan";

/** How a store runs: `resume` = it may repeat an earlier run that died (ImageStore's PutImageOptions.resume). */
export interface StoreOptions {
  readonly resume?: boolean;
}

/** The images under the naming template (and their sidecars); all or nothing. */
export async function storeImages(
  data: PreparedGeneration,
  attempt: SuccessfulAttempt,
  deps: Pick<PipelineDeps, "config" | "store" | "clock" | "ids" | "log">,
  options: StoreOptions = {},
): Promise<GeneratedImageRecord[]> {
  const { plan } = data;
  const now = new Date(deps.clock.now());
  const records: GeneratedImageRecord[] = [];
  try {
    // One after another, so image i of a batch gets the i-th free key deterministically.
    for (const [index, image] of attempt.result.images.entries()) {
      records.push(await storeOne(image, index, now, plan, attempt, data, deps, options));
    }
    return records;
  } catch (error) {
    // Half a result is worse than none: remove what this request wrote, then report.
    const written = records.flatMap((r) => (r.sidecar_key ? [r.key, r.sidecar_key] : [r.key]));
    await deps.store
      .delete(written)
      .catch((cleanup: unknown) => deps.log.error("cleanup after failed store left objects behind", { error: errorMessage(cleanup) }));
    throw error;
  }
}

async function storeOne(
  image: GeneratedImage,
  index: number,
  now: Date,
  plan: GenerationPlan,
  attempt: SuccessfulAttempt,
  data: PreparedGeneration,
  deps: Pick<PipelineDeps, "config" | "store" | "ids">,
  options: StoreOptions,
): Promise<GeneratedImageRecord> {
  const id = deps.ids.newId();
  const explicit = data.request.output;
  const key =
    explicit === undefined
      ? renderNamingTemplate(deps.config.output.naming, {
          now,
          prompt: data.request.prompt,
          seed: attempt.result.seed,
          backend: attempt.backend.name,
          ext: EXTENSION_BY_MIME[image.mimeType],
          caller: data.caller.name,
          id,
        })
      : index === 0
        ? explicit
        : withSuffix(explicit, index + 1);
  const wantSidecar = data.request.sidecar ?? deps.config.output.sidecar;
  const saved = await deps.store.putImage(key, image, {
    metadata: {
      caller: data.caller.name,
      backend: attempt.backend.name,
      model: attempt.result.model,
      seed: String(attempt.result.seed),
      image_id: id,
      request_id: data.requestId,
      width: String(image.width),
      height: String(image.height),
      cost_usd_estimate: attempt.cost ? String(usd(attempt.cost.usd / attempt.result.images.length)) : "",
    },
    allowSuffix: explicit === undefined,
    ...(options.resume && { resume: true }),
    sidecar: wantSidecar ? (finalKey, size) => sidecarBody({ id, key: finalKey, size }, image, index, plan, attempt, data, now) : null,
  });
  if (!saved) throw new OutputConflictError(key);
  return {
    id,
    key: saved.key,
    sidecar_key: saved.sidecarKey,
    width: image.width,
    height: image.height,
    mime_type: image.mimeType,
    bytes: saved.size,
  };
}

function sidecarBody(
  saved: { readonly id: string; readonly key: string; readonly size: number },
  image: GeneratedImage,
  index: number,
  plan: GenerationPlan,
  attempt: SuccessfulAttempt,
  data: PreparedGeneration,
  now: Date,
) {
  // The sidecar is the owner's private record next to the image, so unlike usage rows and object
  // metadata it keeps the prompt: it is what makes an image reproducible.
  return {
    id: saved.id,
    key: saved.key,
    created_at: now.toISOString(),
    request_id: data.requestId,
    caller: data.caller.name,
    source: data.request.source ?? null,
    request: {
      prompt: data.request.prompt,
      style: plan.style,
      styled_prompt: plan.spec.prompt,
      negative: plan.spec.negative ?? null,
      size: `${plan.spec.width}x${plan.spec.height}`,
      seed: data.request.seed ?? null,
      steps: plan.spec.steps ?? null,
      n: plan.spec.n,
      // An edit's inputs by key and hash (never their bytes): what it started from, checkable later.
      ...(plan.spec.references && { reference_images: plan.spec.references.map(inputRecord) }),
      ...(plan.spec.mask && { mask: inputRecord(plan.spec.mask) }),
      ...(plan.spec.inputFidelity && { input_fidelity: plan.spec.inputFidelity }),
    },
    image: { index, width: image.width, height: image.height, mime_type: image.mimeType, bytes: saved.size },
    backend: {
      instance: attempt.backend.name,
      type: attempt.backend.type,
      model: attempt.result.model,
      model_version: attempt.result.modelVersion ?? null,
      seed: attempt.result.seed,
      external_id: attempt.result.externalId ?? null,
      predict_time_s: attempt.result.predictTimeSeconds ?? null,
    },
    cost: {
      usd_estimate: attempt.cost?.usd ?? null,
      price_id: attempt.cost?.priceId ?? null,
    },
    timings: { backend_ms: attempt.latencyMs },
  };
}

function inputRecord(input: ReferenceImage) {
  return { key: input.key, sha256: input.sha256, mime_type: input.mimeType, width: input.width, height: input.height, bytes: input.bytes };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
