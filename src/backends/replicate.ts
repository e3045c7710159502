/**
 * The Replicate backend: hosted FLUX (schnell, dev, 1.1-pro, pro) through Replicate's HTTP API,
 * as a job protocol the runner (src/core/runner.ts) drives:
 *   submit — POST the prediction with `Cancel-After` = the instance timeout (Replicate stops it
 *            there even if we vanish). A caller that waits (`hold`) also sends `Prefer: wait=N`,
 *            which usually answers once the images exist: the fast path. A job instead sends our
 *            webhook and `webhook_events_filter: ["start", "completed"]` when the instance has a
 *            signing secret.
 *   poll / fromCallback — GET /v1/predictions/{id} or a verified webhook body, both read by
 *            `outcomeOf`; a succeeded prediction's outputs are downloaded at once (Replicate
 *            deletes them after an hour).
 *   cancel — POST /v1/predictions/{id}/cancel.
 * The HTTP calls live in ./replicate/api.ts, the FLUX input mapping in ./replicate/flux-inputs.ts,
 * the downloads in ./replicate/outputs.ts.
 *
 * FLUX.1 Kontext instances edit: the input image goes to Replicate as a short-lived signed link
 * on our public origin (./replicate/input-image.ts), or as a data URI when the deployment has no
 * public origin and the image is small.
 */
import { z } from "zod";
import { isLoopbackHost } from "../net/address-rules";
import { verifyReplicateWebhook } from "../webhooks/replicate-signature";
import {
  defineBackendType,
  isEdit,
  readSecret,
  type AsyncOutcome,
  type AsyncSubmission,
  type AttemptContext,
  type Backend,
  type BackendRuntime,
  type GenerationSpec,
  type JobProtocol,
} from "./backend";
import { callDeadline } from "./call-deadline";
import { BackendError } from "./errors";
import { baseInstanceFields, envVarName } from "./instance-base";
import { createPredictionOnce, findCreated, sameInput, sameModel } from "./replicate/adopt";
import {
  cancelPrediction,
  type CreatePredictionRequest,
  getPrediction,
  MODEL_REF,
  parseModelRef,
  predictionSchema,
  type Prediction,
  type ReplicateApi,
  type WebhookEvent,
} from "./replicate/api";
import {
  ASPECT_RATIO_SIZES,
  aspectRatios,
  fluxFamilies,
  expectedSize,
  fluxInput,
  inferFamily,
  isKontext,
  MAX_STEPS,
  REQUEST_DERIVED_INPUTS,
  type FluxFamily,
} from "./replicate/flux-inputs";
import { inputImageFor, PENDING_INPUT_IMAGE } from "./replicate/input-image";
import { collectOutputs, DEFAULT_DELIVERY_HOSTS, outputsExpireAt } from "./replicate/outputs";

/** A succeeded prediction's downloads are tried at least this long, even past the attempt's deadline. */
const MIN_DOWNLOAD_RETRY_MS = 60_000;
import { replicateStatus } from "./replicate/status";

export {
  cancelPrediction,
  createPrediction,
  getDefaultWebhookSecret,
  getPrediction,
  listPredictions,
  parseModelRef,
  type Prediction,
  type ReplicateApi,
} from "./replicate/api";
export { collectOutputs } from "./replicate/outputs";

const hostPattern = z.string().regex(/^(\*\.)?[a-z0-9.-]+$/i, "a hostname, optionally starting with *. (e.g. *.replicate.delivery)");

export const replicateConfigSchema = z
  .strictObject({
    type: z.literal("replicate"),
    ...baseInstanceFields,
    /** `owner/name` (official model endpoint) or `owner/name:<64-hex version>`. */
    model: z.string().regex(MODEL_REF, "model must be owner/name or owner/name:<64-hex version>"),
    /** Which FLUX input schema the model speaks; inferred from the model name when it says. */
    family: z.enum(fluxFamilies).optional(),
    api_token_env: envVarName.default("REPLICATE_API_TOKEN"),
    /**
     * The env var holding this account's webhook signing secret (`whsec_…`, from
     * GET /v1/webhooks/default/secret). Unset: async jobs poll instead of asking for webhooks.
     */
    webhook_secret_env: envVarName.default("REPLICATE_WEBHOOK_SECRET"),
    /** The ratio of the size this instance offers when a request names none (see defaultSize). */
    default_aspect_ratio: z.enum(aspectRatios).optional(),
    /** Whole-attempt budget; default 60 s for schnell, 120 s for the rest. */
    timeout_s: z.number().min(1).max(1800).optional(),
    poll_interval_ms: z.int().min(10).max(60_000).default(500),
    /** `Prefer: wait=N`: how long the create call may hold for the result. */
    wait_s: z.int().min(1).max(60).default(60),
    output_format: z.enum(["png", "jpg", "webp"]).default("png"),
    /** Fixed model inputs (guidance, safety_tolerance, go_fast, …); request-derived ones are not allowed. */
    extra_input: z.record(z.string(), z.json()).default({}),
    base_url: z.url({ protocol: /^https?$/ }).default("https://api.replicate.com/v1"),
    delivery_hosts: z
      .array(hostPattern)
      .min(1)
      .default([...DEFAULT_DELIVERY_HOSTS]),
  })
  .superRefine((config, ctx) => {
    const ref = MODEL_REF.exec(config.model);
    const family = config.family ?? (ref ? inferFamily(ref[2]!) : null);
    if (ref && !family) {
      ctx.addIssue({
        code: "custom",
        path: ["family"],
        message: `cannot tell the FLUX family from "${config.model}"; set family to one of ${fluxFamilies.join(", ")}`,
      });
    }
    const maxSteps = family ? MAX_STEPS[family] : undefined;
    if (config.default_steps !== undefined && maxSteps !== undefined && config.default_steps > maxSteps) {
      ctx.addIssue({
        code: "custom",
        path: ["default_steps"],
        message: `${config.model} takes at most ${maxSteps} steps`,
      });
    }
    if (family && isKontext(family)) {
      if (family === "kontext" && config.output_format === "webp") {
        ctx.addIssue({ code: "custom", path: ["output_format"], message: `${config.model} makes png or jpg, not webp` });
      }
      const tolerance = config.extra_input.safety_tolerance;
      if (tolerance !== undefined && (typeof tolerance !== "number" || tolerance > 2)) {
        ctx.addIssue({
          code: "custom",
          path: ["extra_input", "safety_tolerance"],
          message: "FLUX.1 Kontext takes a safety_tolerance of at most 2 with an input image",
        });
      }
    }
    for (const key of Object.keys(config.extra_input)) {
      if ((REQUEST_DERIVED_INPUTS as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["extra_input", key],
          message: `${key} comes from each request; remove it from extra_input`,
        });
      }
    }
  });

type ReplicateConfig = z.infer<typeof replicateConfigSchema>;

/** A Replicate backend also says which size it makes when a request names none. */
export type ReplicateBackend = Backend;

export const replicateBackendType = defineBackendType({
  type: "replicate",
  configSchema: replicateConfigSchema,
  create(name, config, runtime): ReplicateBackend {
    const family = familyOf(config);
    const timeoutMs = (config.timeout_s ?? (family === "schnell" ? 60 : 120)) * 1000;
    return {
      name,
      type: "replicate",
      model: config.model,
      provider: "replicate",
      ...(config.default_aspect_ratio ? { defaultSize: ASPECT_RATIO_SIZES[config.default_aspect_ratio] } : {}),
      // FLUX.1 Kontext edits one input image (no mask).
      ...(isKontext(family) && { edits: { maxImages: 1, mask: false } }),
      async status() {
        const token = readSecret(runtime.env, config.api_token_env);
        if (!token) return { state: "not_configured", missingEnv: [config.api_token_env] };
        return replicateStatus(config.base_url, token, config.api_token_env, runtime);
      },
      checkSpec: (spec) => void predictionInput(spec, config, pendingInput(spec)),
      protocol: replicateProtocol(name, config, runtime, timeoutMs),
    };
  },
});

/** Replicate's events we ask for: `start` (running) and `completed` (the only one it retries). */
const ASYNC_WEBHOOK_EVENTS: readonly WebhookEvent[] = ["start", "completed"];

function replicateProtocol(name: string, config: ReplicateConfig, runtime: BackendRuntime, timeoutMs: number): JobProtocol {
  const model = parseModelRef(config.model);
  const apiOrFail = () => {
    const api = replicateApi(config, runtime);
    if (!api) throw new BackendError("not_configured", `Replicate API token missing; set ${config.api_token_env}`);
    return api;
  };
  const predictionIdOf = (submission: AsyncSubmission) => String(submission.state.predictionId ?? submission.externalId);
  const collect = (prediction: Prediction, ctx: AttemptContext, submission: AsyncSubmission) => {
    const now = ctx.clock.now();
    // Paid outputs are fetched until their URLs expire, but a waiting caller is not held much
    // past its attempt's deadline for them (at least a minute of tries, though).
    const retryUntil = Math.min(outputsExpireAt(prediction, now), Math.max(submission.deadline, now + MIN_DOWNLOAD_RETRY_MS));
    return collectOutputs(prediction, {
      fetch: runtime.fetch,
      clock: ctx.clock,
      signal: ctx.signal,
      deliveryHosts: config.delivery_hosts,
      model: `${model.owner}/${model.name}`,
      retryUntil,
    });
  };
  return {
    kind: "job",
    async submit(spec, ctx, options) {
      const api = apiOrFail();
      const inputImage = isEdit(spec) ? await inputImageFor(spec.references[0]!, ctx, config.base_url) : undefined;
      const input = predictionInput(spec, config, inputImage);
      const deadline = ctx.clock.now() + timeoutMs;
      // Webhooks need a secret to verify them and a URL Replicate can reach (not `wrangler dev`
      // on 127.0.0.1 without a tunnel); otherwise poll.
      const webhook =
        options.webhookUrl !== undefined && readSecret(runtime.env, config.webhook_secret_env) && !isLoopbackHost(new URL(options.webhookUrl).hostname)
          ? options.webhookUrl
          : undefined;
      const request: CreatePredictionRequest = {
        model,
        input,
        cancelAfterSeconds: timeoutMs / 1000,
        ...(options.hold && { waitSeconds: Math.min(config.wait_s, Math.max(1, Math.floor(timeoutMs / 1000))) }),
        ...(webhook !== undefined && { webhook, webhookEventsFilter: ASYNC_WEBHOOK_EVENTS }),
      };
      const sentAt = ctx.clock.now();
      const call = callDeadline(ctx.signal, ctx.clock, deadline);
      let created: Awaited<ReturnType<typeof createPredictionOnce>>;
      try {
        created = await createPredictionOnce(api, request, { signal: call.signal, deadline });
      } catch (error) {
        if (!call.expired()) throw error;
        // Sent, never answered: Replicate may have made (and will bill) the prediction, so it is
        // neither sent again nor another backend tried. It is canceled when it can be found;
        // otherwise its Cancel-After stops it.
        const orphan = await cancelUnanswered(api, request, sentAt, ctx);
        const what = orphan ? `it made prediction ${orphan}, which was found and canceled` : "it may have made a prediction, which its Cancel-After stops";
        throw new BackendError(
          "unavailable",
          `Replicate did not answer the prediction create within ${call.budgetMs} ms (timeout ${timeoutMs / 1000} s); ${what}; not sent again`,
          { ambiguous: true, ...(orphan !== null && { externalId: orphan }), cause: error },
        );
      } finally {
        call.end();
      }
      const id = created.prediction.id;
      ctx.log.info(created.adopted ? "replicate prediction adopted after its create answer was lost" : "replicate prediction created", {
        backend: name,
        prediction_id: id,
        status: created.prediction.status,
        webhook: webhook !== undefined,
        resent_after_proven_absent: created.resent,
      });
      const submission: AsyncSubmission = {
        externalId: id,
        deadline,
        pollAfterMs: config.poll_interval_ms,
        callbacks: webhook !== undefined,
        state: { predictionId: id },
      };
      // Under `Prefer: wait` a 201 with outputs means they exist, even while the status still says processing.
      const prediction = created.outputsReady ? { ...created.prediction, status: "succeeded" as const } : created.prediction;
      const outcome = await outcomeOf(prediction, submission, ctx, collect);
      return outcome.state === "pending" ? { submission } : { submission, outcome };
    },
    async poll(submission, ctx) {
      const id = predictionIdOf(submission);
      const call = callDeadline(ctx.signal, ctx.clock, ctx.deadline);
      let prediction: Prediction;
      try {
        prediction = await getPrediction(apiOrFail(), id, { signal: call.signal, ...(ctx.deadline !== undefined && { deadline: ctx.deadline }) });
      } catch (error) {
        if (!call.expired()) throw error;
        throw new BackendError("timeout", `Replicate did not answer GET /predictions/${id} within ${call.budgetMs} ms`, { externalId: id, cause: error });
      } finally {
        call.end();
      }
      // Downloads of paid outputs run on the attempt's own signal: they may outlast the deadline.
      return outcomeOf(prediction, submission, ctx, collect);
    },
    async cancel(submission, ctx) {
      await cancelPrediction(apiOrFail(), predictionIdOf(submission), { signal: ctx.signal });
    },
    verifyCallback(delivery) {
      const secret = readSecret(runtime.env, config.webhook_secret_env);
      if (!secret) throw new BackendError("not_configured", `Replicate webhook secret missing; set ${config.webhook_secret_env}`);
      let verdict: ReturnType<typeof verifyReplicateWebhook>;
      try {
        verdict = verifyReplicateWebhook({ secret, headers: delivery.headers, rawBody: delivery.rawBody });
      } catch (error) {
        throw new BackendError("not_configured", `${config.webhook_secret_env} is not a whsec_<base64> key (GET /v1/webhooks/default/secret)`, {
          cause: error,
        });
      }
      return verdict.ok ? { ok: true, deliveryId: verdict.webhookId, payload: verdict.payload } : verdict;
    },
    async findSent(spec, sentAt, deadline, ctx) {
      const found = await findCreated(apiOrFail(), { model, input: predictionInput(spec, config, pendingInput(spec)) }, sentAt, { signal: ctx.signal });
      if (!found) return null;
      return { externalId: found.id, deadline, pollAfterMs: config.poll_interval_ms, callbacks: false, state: { predictionId: found.id } };
    },
    adoptFromCallback(payload, spec, deadline) {
      // Delivered to the URL of the attempt whose create answer was lost; its input must be that attempt's too.
      const parsed = predictionSchema.safeParse(payload);
      if (!parsed.success || !sameModel(parsed.data, model) || !sameInput(parsed.data.input, predictionInput(spec, config, pendingInput(spec)))) return null;
      const id = parsed.data.id;
      return { externalId: id, deadline, pollAfterMs: config.poll_interval_ms, callbacks: true, state: { predictionId: id } };
    },
    async fromCallback(payload, submission, ctx) {
      const parsed = predictionSchema.safeParse(payload);
      if (!parsed.success || parsed.data.id !== predictionIdOf(submission)) return null;
      return outcomeOf(parsed.data, submission, ctx, collect);
    },
  };
}

/** How long looking for (and canceling) the prediction of an unanswered create may take. */
const ORPHAN_SEARCH_MS = 10_000;

/** Best effort, bounded: the prediction an unanswered create made, canceled; its id, or null when not found. */
async function cancelUnanswered(api: ReplicateApi, request: CreatePredictionRequest, sentAt: number, ctx: AttemptContext): Promise<string | null> {
  const bound = callDeadline(ctx.signal, ctx.clock, ctx.clock.now(), ORPHAN_SEARCH_MS);
  try {
    const found = await findCreated(api, request, sentAt, { signal: bound.signal });
    if (!found) return null;
    await cancelPrediction(api, found.id, { signal: bound.signal });
    return found.id;
  } catch (error) {
    ctx.log.warn("the prediction of an unanswered create could not be canceled", { error: error instanceof Error ? error.message : String(error) });
    return null;
  } finally {
    bound.end();
  }
}

/** Where a prediction stands; a succeeded one has its outputs copied at once. */
async function outcomeOf(
  prediction: Prediction,
  submission: AsyncSubmission,
  ctx: AttemptContext,
  collect: (prediction: Prediction, ctx: AttemptContext, submission: AsyncSubmission) => ReturnType<typeof collectOutputs>,
): Promise<AsyncOutcome> {
  const id = prediction.id;
  switch (prediction.status) {
    case "starting":
      return { state: "pending", progress: { state: "queued" } };
    case "processing":
      return { state: "pending", progress: { state: "running" } };
    case "succeeded":
      try {
        return { state: "succeeded", result: await collect(prediction, ctx, submission) };
      } catch (error) {
        if (error instanceof BackendError) return { state: "failed", error: paidOutputLost(prediction, error) };
        throw error;
      }
    default:
      // Replicate aborts only at Cancel-After, and our Cancel-After is the attempt's deadline:
      // a prediction stopped there timed out, whoever noticed the deadline first.
      if (prediction.status === "aborted" || (prediction.status === "canceled" && ctx.clock.now() >= submission.deadline)) {
        return {
          state: "failed",
          error: new BackendError("timeout", `${endedWithout(prediction)}: it did not finish before its deadline`, { externalId: id }),
        };
      }
      return { state: "failed", error: new BackendError("failed", endedWithout(prediction), { externalId: id }) };
  }
}

/**
 * A succeeded prediction whose outputs could not be taken: Replicate bills it all the same, so
 * the attempt says what was charged (the images it made, at the size it was asked for).
 */
function paidOutputLost(prediction: Prediction, cause: BackendError): BackendError {
  const outputs = Array.isArray(prediction.output) ? prediction.output.length : prediction.output ? 1 : 0;
  const images = prediction.metrics?.image_count ?? Math.max(outputs, 1);
  const size = expectedSize(prediction.input) ?? { width: 0, height: 0 };
  return new BackendError(
    "paid_output_lost",
    `Replicate made and billed ${images} image(s) for prediction ${prediction.id}, but they could not be stored: ${cause.detail}`,
    { ...cause.extra, externalId: prediction.id, charged: { images, width: size.width, height: size.height } },
  );
}

/** The API handle for an instance, or null when its token is not set. */
function replicateApi(config: ReplicateConfig, runtime: BackendRuntime): ReplicateApi | null {
  const token = readSecret(runtime.env, config.api_token_env);
  if (!token) return null;
  return {
    baseUrl: config.base_url.replace(/\/+$/, ""),
    token,
    tokenEnv: config.api_token_env,
    fetch: runtime.fetch,
    clock: runtime.clock,
  };
}

/** The model input for a spec on this instance (throws BackendError invalid_request). */
function predictionInput(spec: GenerationSpec, config: ReplicateConfig, inputImage?: { uri: string; width: number; height: number }): Record<string, unknown> {
  return fluxInput(spec, {
    family: familyOf(config),
    modelName: parseModelRef(config.model).name,
    steps: spec.steps ?? config.default_steps,
    outputFormat: config.output_format,
    extraInput: config.extra_input,
    ...(inputImage && { inputImage }),
  });
}

/**
 * An edit's input image where its link is not needed (checks, and matching a prediction whose
 * input compares `input_image` by presence only): a placeholder of the reference's size.
 */
function pendingInput(spec: GenerationSpec): { uri: string; width: number; height: number } | undefined {
  const reference = isEdit(spec) ? spec.references[0]! : undefined;
  return reference && { uri: PENDING_INPUT_IMAGE, width: reference.width, height: reference.height };
}

function familyOf(config: ReplicateConfig): FluxFamily {
  const family = config.family ?? inferFamily(parseModelRef(config.model).name);
  // The schema refuses configs without one; this guards hand-built configs.
  if (!family) throw new Error(`set family for Replicate model ${config.model}`);
  return family;
}

function endedWithout(prediction: Prediction): string {
  const said = typeof prediction.error === "string" ? prediction.error : prediction.error ? JSON.stringify(prediction.error) : "";
  const because = said ? `: ${said}` : "";
  switch (prediction.status) {
    case "aborted":
      return `Replicate prediction ${prediction.id} was aborted before it started (Cancel-After deadline)${because}`;
    case "canceled":
      return `Replicate prediction ${prediction.id} was canceled${because}`;
    default:
      return `Replicate prediction ${prediction.id} failed${because}`;
  }
}
