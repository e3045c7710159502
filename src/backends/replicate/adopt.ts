/**
 * Creating a prediction without ever paying for two. Replicate has no idempotency key, so a
 * create whose answer was lost (a 5xx, a dropped connection after the request left) may or may
 * not have made a paid prediction. Instead of sending it again we look for it: every create
 * carries a concrete seed, so its input is as good as unique, and GET /v1/predictions lists the
 * account's predictions newest first. A prediction of the same model with exactly our input,
 * created since just before we sent, is ours and is adopted. An edit's `input_image` is compared
 * by presence only: it is a signed link that differs each time it is signed (or a data URI of
 * the same reference), and the seed keeps the rest of the input unique.
 *
 * A list that was read and holds no such prediction is taken as proof that the create never
 * took: it is sent once more (the same attempt, under the same reservation). A second lost answer
 * that the list cannot explain either fails the attempt as `unavailable` marked ambiguous (its
 * worst case held until reconciled), and a list that cannot be read at all proves nothing: the
 * create is then never sent again. `Cancel-After` bounds what an unseen orphan can cost.
 */
import { BackendError } from "../errors";
import {
  type CallOptions,
  type CreatedPrediction,
  type CreatePredictionRequest,
  createPrediction,
  describe,
  listPredictions,
  type ModelRef,
  type Prediction,
  type ReplicateApi,
} from "./api";

/** How far before our send a matching prediction may say it was created (clocks disagree). */
const CLOCK_SKEW_MS = 2 * 60_000;
/** Pages of the list read before giving up (100 predictions each). */
const MAX_LOOKUP_PAGES = 5;

/** createPrediction, but a lost answer is looked up instead of paid for again. */
export async function createPredictionOnce(
  api: ReplicateApi,
  request: CreatePredictionRequest,
  options: CallOptions = {},
  provenAbsentBefore?: BackendError,
): Promise<CreatedPrediction & { readonly adopted: boolean; readonly resent: boolean }> {
  const sentAt = api.clock.now();
  try {
    return { ...(await createPrediction(api, request, options)), adopted: false, resent: provenAbsentBefore !== undefined };
  } catch (error) {
    if (!(error instanceof BackendError) || !error.extra.ambiguous || options.signal?.aborted) throw error;
    const found = await lookUp(api, request, sentAt, options, error);
    if (found) return { prediction: found, outputsReady: false, adopted: true, resent: provenAbsentBefore !== undefined };
    // Proven absent: the create never took, so sending it once more cannot pay twice.
    if (!provenAbsentBefore) return createPredictionOnce(api, request, options, error);
    throw new BackendError(
      "unavailable",
      `${error.detail}; no prediction with this input turned up in GET /v1/predictions after the create was sent a second time ` +
        `(the first, "${provenAbsentBefore.detail}", was proven absent), but this one may still exist, so it was not sent again (Cancel-After stops it)`,
      { ...error.extra, ambiguous: true },
    );
  }
}

async function lookUp(
  api: ReplicateApi,
  request: CreatePredictionRequest,
  sentAt: number,
  options: CallOptions,
  lost: BackendError,
): Promise<Prediction | null> {
  try {
    return await findCreated(api, request, sentAt, options);
  } catch (error) {
    throw new BackendError(
      "unavailable",
      `${lost.detail}; looking the prediction up failed too (${describe(error)}), so the create was not sent again (Cancel-After stops it)`,
      { ...lost.extra, ambiguous: true, cause: error },
    );
  }
}

/**
 * The prediction a create sent at `sentAt` made, from GET /v1/predictions; null when none of the
 * account's predictions since then has this model and input. Throws when the list cannot be read.
 * Also how a job reconciles a create whose answer it never got (src/core/runner.ts).
 */
export async function findCreated(
  api: ReplicateApi,
  request: Pick<CreatePredictionRequest, "model" | "input">,
  sentAt: number,
  options: CallOptions = {},
): Promise<Prediction | null> {
  const since = sentAt - CLOCK_SKEW_MS;
  const isOurs = (prediction: Prediction) =>
    createdAt(prediction) >= since && sameModel(prediction, request.model) && sameInput(prediction.input, request.input);
  let next: string | null = null;
  for (let page = 0; page < MAX_LOOKUP_PAGES; page++) {
    const listed = await listPredictions(api, next, { ...(options.signal && { signal: options.signal }) });
    for (const prediction of listed.results) {
      if (isOurs(prediction)) return prediction;
    }
    // Newest first: once a page reaches back past our window, nothing older can be ours.
    const oldest = listed.results.at(-1);
    if (!listed.next || (oldest && createdAt(oldest) < since)) return null;
    next = listed.next;
  }
  return null;
}

export function sameModel(prediction: Prediction, model: ModelRef): boolean {
  return model.version ? prediction.version === model.version : prediction.model === `${model.owner}/${model.name}`;
}

/** Unknown creation time counts as recent: better to adopt than to pay twice. */
function createdAt(prediction: Prediction): number {
  const parsed = prediction.created_at ? Date.parse(prediction.created_at) : Number.NaN;
  return Number.isNaN(parsed) ? Number.POSITIVE_INFINITY : parsed;
}

/** The input a create sent, as a prediction echoes it: equal JSON, an edit's input image by presence only. */
export function sameInput(echoed: Readonly<Record<string, unknown>>, sent: Readonly<Record<string, unknown>>): boolean {
  const { input_image: echoedImage, ...echoedRest } = echoed;
  const { input_image: sentImage, ...sentRest } = sent;
  return (echoedImage === undefined) === (sentImage === undefined) && sameJson(echoedRest, sentRest);
}

/** Deep equality of JSON values, key order aside. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bKeys = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return aKeys.length === bKeys.length && aKeys.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
