/**
 * Replicate's prediction API, one function per call, each showing the HTTP request it makes.
 * `request()` does auth, retries (the shared policy in ../http-retry) and maps every error
 * status to a BackendError, so the functions below stay declarative.
 * Docs: https://replicate.com/docs/reference/http
 */
import { z } from "zod";
import type { Clock } from "../../lib/clock";
import { upstreamTextSummary } from "../../lib/upstream-text";
import { BackendError } from "../errors";
import { fetchWithRetry, rateLimitText, retryAfterMs } from "../http-retry";

/** Where and as whom to call Replicate. */
export interface ReplicateApi {
  /** e.g. `https://api.replicate.com/v1` (no trailing slash). */
  readonly baseUrl: string;
  readonly token: string;
  /** The env var the token came from, named in the 401 message. */
  readonly tokenEnv: string;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Clock time after which no retry may start (see RetryOptions.deadline). */
  readonly deadline?: number;
}

const predictionStatuses = ["starting", "processing", "succeeded", "failed", "canceled", "aborted"] as const;

/** The prediction object, as far as we read it; unknown fields pass through untouched. */
export const predictionSchema = z.looseObject({
  id: z.string().min(1),
  model: z.string().optional(),
  /** "hidden" for official models called through the model endpoint. */
  version: z.string().optional(),
  status: z.enum(predictionStatuses),
  input: z.record(z.string(), z.unknown()).default({}),
  /** Array of URLs for flux-schnell/dev, a single URL for flux-1.1-pro/pro, null once deleted. */
  output: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  error: z.unknown().optional(),
  logs: z.string().nullish(),
  data_removed: z.boolean().optional(),
  created_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  metrics: z.looseObject({ predict_time: z.number().optional(), image_count: z.number().optional() }).nullish(),
  urls: z.looseObject({ get: z.string().optional(), cancel: z.string().optional() }).nullish(),
});
export type Prediction = z.infer<typeof predictionSchema>;

/** `owner/name` (official model endpoint) or `owner/name:<64-hex version>` (pinned version). */
export const MODEL_REF = /^([a-z0-9][a-z0-9._-]*)\/([a-z0-9][a-z0-9._-]*)(?::([0-9a-f]{64}))?$/;

export interface ModelRef {
  readonly owner: string;
  readonly name: string;
  readonly version?: string;
}

export function parseModelRef(model: string): ModelRef {
  const match = MODEL_REF.exec(model);
  if (!match) throw new Error(`"${model}" is not owner/name or owner/name:<64-hex version>`);
  return match[3] ? { owner: match[1]!, name: match[2]!, version: match[3] } : { owner: match[1]!, name: match[2]! };
}

export type WebhookEvent = "start" | "output" | "logs" | "completed";

export interface CreatePredictionRequest {
  readonly model: ModelRef;
  readonly input: Readonly<Record<string, unknown>>;
  /** HTTPS URL Replicate POSTs the prediction to; query parameters come back unchanged. */
  readonly webhook?: string;
  readonly webhookEventsFilter?: readonly WebhookEvent[];
  /** `Prefer: wait=N` (1..60): hold the request until the outputs exist or N seconds pass. */
  readonly waitSeconds?: number;
  /** `Cancel-After: Ns`: Replicate aborts or cancels the prediction after this long (min 5 s). */
  readonly cancelAfterSeconds?: number;
}

export interface CreatedPrediction {
  readonly prediction: Prediction;
  /** 201 under `Prefer: wait`: the outputs exist, even if status still says `processing`. */
  readonly outputsReady: boolean;
}

/**
 * POST /v1/models/{owner}/{name}/predictions  {input, webhook?, webhook_events_filter?}
 * POST /v1/predictions                        {version, input, webhook?, webhook_events_filter?}
 * Headers: `Prefer: wait=N`, `Cancel-After: Ns` when asked for.
 */
export async function createPrediction(api: ReplicateApi, request: CreatePredictionRequest, options: CallOptions = {}): Promise<CreatedPrediction> {
  const { model } = request;
  const path = model.version ? "/predictions" : `/models/${model.owner}/${model.name}/predictions`;
  const body = {
    ...(model.version ? { version: model.version } : {}),
    input: request.input,
    ...(request.webhook ? { webhook: request.webhook } : {}),
    ...(request.webhookEventsFilter ? { webhook_events_filter: request.webhookEventsFilter } : {}),
  };
  const headers: Record<string, string> = {};
  if (request.waitSeconds !== undefined) headers.Prefer = `wait=${clampInt(request.waitSeconds, 1, 60)}`;
  if (request.cancelAfterSeconds !== undefined) headers["Cancel-After"] = `${Math.max(5, Math.ceil(request.cancelAfterSeconds))}s`;

  // Replicate has no idempotency key: a create is sent once, and only a 429 (the work refused)
  // is tried again. Anything else that goes wrong after the request left may have made a paid
  // prediction, so the caller looks it up (./adopt.ts) instead of sending the create again.
  let response: Response;
  let prediction: Prediction;
  try {
    response = await send(api, "POST", path, { body, headers, ...options, repeatable: false });
    prediction = await readPrediction(response);
  } catch (error) {
    if (error instanceof BackendError && error.kind === "unavailable") {
      throw new BackendError(error.kind, error.detail, { ...error.extra, ambiguous: true });
    }
    throw error;
  }
  const outputsReady = request.waitSeconds !== undefined && response.status === 201 && hasOutput(prediction);
  return { prediction, outputsReady };
}

/** One page of GET /v1/predictions: newest first, `next` is the URL of the following page. */
export interface PredictionPage {
  readonly results: readonly Prediction[];
  readonly next: string | null;
}

const pageSchema = z.object({
  results: z.array(z.unknown()),
  next: z.string().nullish(),
});

/**
 * GET /v1/predictions (or the `next` URL of a page before): the account's predictions, newest
 * first, 100 per page. Entries that are not predictions are skipped, not fatal.
 */
export async function listPredictions(api: ReplicateApi, next: string | null, options: CallOptions = {}): Promise<PredictionPage> {
  const path = next === null ? "/predictions" : pathOfNext(api, next);
  const response = await send(api, "GET", path, options);
  const parsed = pageSchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new BackendError("unavailable", "Replicate answered the prediction list with something that is not a page");
  const results = parsed.data.results.flatMap((entry) => {
    const prediction = predictionSchema.safeParse(entry);
    return prediction.success ? [prediction.data] : [];
  });
  return { results, next: parsed.data.next ?? null };
}

/** A `next` URL is only followed on the API we talk to: the token never goes anywhere else. */
function pathOfNext(api: ReplicateApi, next: string): string {
  if (!next.startsWith(`${api.baseUrl}/predictions`)) {
    throw new BackendError("unavailable", "Replicate's prediction list pointed its next page outside the API; not followed");
  }
  return next.slice(api.baseUrl.length);
}

/** GET /v1/predictions/{id} */
export async function getPrediction(api: ReplicateApi, id: string, options: CallOptions = {}): Promise<Prediction> {
  return readPrediction(await send(api, "GET", `/predictions/${encodeURIComponent(id)}`, options));
}

/** POST /v1/predictions/{id}/cancel — a prediction already finished stays as it was. */
export async function cancelPrediction(api: ReplicateApi, id: string, options: CallOptions = {}): Promise<Prediction> {
  return readPrediction(await send(api, "POST", `/predictions/${encodeURIComponent(id)}/cancel`, options));
}

/** GET /v1/webhooks/default/secret → `whsec_…`, the key webhook signatures are made with. */
export async function getDefaultWebhookSecret(api: ReplicateApi, options: CallOptions = {}): Promise<string> {
  const response = await send(api, "GET", "/webhooks/default/secret", options);
  const parsed = z.object({ key: z.string().startsWith("whsec_") }).safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new BackendError("unavailable", "Replicate answered the webhook secret request with an unexpected body");
  return parsed.data.key;
}

function hasOutput(prediction: Prediction): boolean {
  const { output } = prediction;
  return typeof output === "string" ? output !== "" : Array.isArray(output) && output.length > 0;
}

/** One call: auth header, JSON body, the shared retry policy, and errors mapped in one place. */
async function send(
  api: ReplicateApi,
  method: "GET" | "POST",
  path: string,
  options: CallOptions & { body?: unknown; headers?: Record<string, string>; repeatable?: boolean },
): Promise<Response> {
  const url = `${api.baseUrl}${path}`;
  let response: Response;
  let rateLimitRetries = 0;
  try {
    response = await fetchWithRetry(
      () =>
        api.fetch(url, {
          method,
          headers: {
            Authorization: `Bearer ${api.token}`,
            ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
            ...options.headers,
          },
          body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
          signal: options.signal,
        }),
      {
        clock: api.clock,
        signal: options.signal,
        deadline: options.deadline,
        ...(options.repeatable === false && { repeatable: false }),
        onRetry: (retry) => {
          if (retry.reason === "rate_limited") rateLimitRetries++;
        },
      },
    );
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new BackendError("unavailable", `Replicate could not be reached (${method} ${path}): ${describe(error)}`, {
      cause: error,
    });
  }
  if (response.ok) return response;
  throw await errorFor(api, response, `${method} ${path}`, rateLimitRetries);
}

/** Replicate answers errors as problem+json: {title, detail, status, invalid_fields?}. */
const problemSchema = z.looseObject({
  title: z.string().optional(),
  detail: z.string().optional(),
  invalid_fields: z
    .array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])))
    .optional()
    .catch(undefined),
});

async function errorFor(api: ReplicateApi, response: Response, call: string, rateLimitRetries: number): Promise<BackendError> {
  const waitMs = response.status === 429 ? await retryAfterMs(response, api.clock.now()) : null;
  const text = await response.text().catch(() => "");
  const parsed = problemSchema.safeParse(safeJson(text));
  const problem = parsed.success ? parsed.data : {};
  const said = upstreamTextSummary(problem.detail ?? problem.title ?? text, response.headers.get("content-type"));
  switch (response.status) {
    case 401:
      return new BackendError("auth", `Replicate API token missing or invalid; set ${api.tokenEnv}`);
    case 402:
      return new BackendError("insufficient_credit", `Replicate account is out of credit; add credit at https://replicate.com/account/billing (${said})`);
    case 422:
      return new BackendError("invalid_request", `Replicate rejected the input: ${said}`, {
        invalidFields: problem.invalid_fields ?? [],
      });
    case 429:
      return new BackendError("rate_limited", `${rateLimitText("Replicate", rateLimitRetries, waitMs)}${said ? ` (${said})` : ""}`, {
        ...(waitMs !== null && { retryAfterMs: waitMs }),
      });
  }
  if (response.status >= 500) {
    return new BackendError("unavailable", `Replicate answered ${response.status} to ${call}${said ? `: ${said}` : ""}`, { httpStatus: response.status });
  }
  // 400, 403, 404 and the rest: the request itself is wrong (unknown model, bad version…).
  return new BackendError("invalid_request", `Replicate answered ${response.status} to ${call}${said ? `: ${said}` : ""}`);
}

async function readPrediction(response: Response): Promise<Prediction> {
  const parsed = predictionSchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new BackendError("unavailable", "Replicate answered with something that is not a prediction");
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function clampInt(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
