/**
 * POST /v1/images (generate, or start an async job) and GET /v1/images/{key} (serve to its owner,
 * or to anyone with a valid signed URL).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { parseSize } from "../lib/size";
import { generate } from "../core/generate";
import { outcomeBody } from "../core/outcome-body";
import { idempotencyKey } from "../http/idempotency";
import { rateLimit } from "../http/rate-limit";
import { admissionOf, requestReuse, spenderOf } from "../http/request-guard";
import { AdmissionStopped, admitted } from "../guard/admission";
import type { GenerationOutcome, PipelineDeps } from "../core/pipeline";
import type { GenerationRequest } from "../core/request";
import { REUSED_FROM_HEADER, reusedOutcome, reuseUsageEvent } from "../reuse/reuse";
import { sha256Hex } from "../lib/hash";
import type { App, AppEnv } from "../http/context";
import { requireJsonBody } from "../http/json-body";
import { prefers } from "../http/prefer";
import { answerOrigin } from "../http/public-origin";
import { problem } from "../http/problem";
import { markUnsafeRetries } from "../http/should-retry";
import { type Reader, serveOwnedObject } from "../http/serve-object";
import { systemClock } from "../lib/clock";
import { ROUTES } from "../routes";
import { type ImageUrlFor, imageUrlsFromEnv, urlSignerFromEnv, verifyImageSignature } from "../storage/signed-urls";
import { MAX_BODY_BYTES, largeOnlyWithUploads } from "../http/request-body";
import { withInputImages } from "./edit-inputs";
import { registerImageListRoute } from "./image-list";
import { JobDocumentSchema } from "./job-schemas";
import { acceptJob } from "./jobs";
import { GenerateImagesRequest, GenerateImagesResponse, ImageKeyParam, problemResponses, SignedUrlQuery } from "./schemas";

const generateRoute = createRoute({
  method: "post",
  path: ROUTES.images,
  operationId: "generateImages",
  summary: "Generate images (with `Prefer: respond-async`: start an async job, 202)",
  security: [{ bearer: [] }],
  // markUnsafeRetries inside idempotencyKey: a replayed answer keeps its x-should-retry.
  middleware: [rateLimit(), requireJsonBody(), largeOnlyWithUploads(MAX_BODY_BYTES, uploadsImages), idempotencyKey(), markUnsafeRetries()] as const,
  request: {
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({
        description:
          "Repeat the request safely: the same key with the same body replays the first answer (`Idempotent-Replayed: true`) for 24 h; with another body: 422.",
      }),
      prefer: z.string().optional().openapi({ description: "`respond-async`: answer 202 with a job at once (docs/jobs.md); the status URL is in `Location`." }),
      "cache-control": z
        .string()
        .optional()
        .openapi({ description: "`no-cache`: generate anew even when an identical seeded request was answered within the reuse window." }),
    }),
    body: { required: true, content: { "application/json": { schema: GenerateImagesRequest } } },
  },
  responses: {
    201: { description: "Images generated and stored", content: { "application/json": { schema: GenerateImagesResponse } } },
    202: { description: "Accepted as an async job (`Prefer: respond-async`)", content: { "application/json": { schema: JobDocumentSchema } } },
    ...problemResponses(400, 401, 402, 409, 413, 415, 422, 429, 500, 502, 503, 504),
  },
});

const serveRoute = createRoute({
  method: "get",
  path: ROUTES.image,
  operationId: "getImage",
  summary: "Fetch a stored image or sidecar (its owner or an admin; or anyone, without a key, by the signed URL an answer gave)",
  security: [{ bearer: [] }],
  request: { params: ImageKeyParam, query: SignedUrlQuery },
  responses: {
    200: { description: "The object's bytes", content: { "image/png": { schema: { type: "string", format: "binary" } } } },
    206: { description: "A byte range" },
    304: { description: "Not modified" },
    ...problemResponses(401, 403, 404, 412, 416),
  },
});

export function registerImageRoutes(app: App): void {
  registerImageListRoute(app);
  app.openapi(generateRoute, async (c) => {
    const { callback_url: callbackUrl, reference_images: referenceImages, mask, input_fidelity: inputFidelity, ...body } = c.req.valid("json");
    const correlation = c.get("correlationId");
    const admission = admissionOf(c);
    const async = prefers(c.req.header("prefer"), "respond-async");
    if (callbackUrl !== undefined && !async) {
      const message = "callback_url is only for async requests; send it with 'Prefer: respond-async'";
      throw problem("invalid-request", 400, message, { extra: { errors: [{ field: "callback_url", message }] } });
    }
    const deps = c.var.deps.pipeline(c.var.log, { waitUntil: (work) => c.executionCtx.waitUntil(work), spender: spenderOf(c), admission });
    // Inputs are checked (and uploads stored) before anything is counted or reserved: bad input is a 400 that changes nothing.
    const request = await withInputImages(
      c,
      {
        ...body,
        size: body.size === undefined ? undefined : parseSize(body.size)!,
        ...(inputFidelity !== undefined && { inputFidelity }),
        ...(correlation !== null && { clientRequestId: correlation }),
      },
      { reference_images: referenceImages, mask },
      deps,
    );
    if (async) {
      // The job reserves in its own time; the request's admission (rate limit, key) goes first.
      await admission.admit();
      return acceptJob(c, request, callbackUrl);
    }
    const reuse = await requestReuse(c, request);
    // An explicit output key is claimed before the first attempt: a replayed key must not meet its own stored image first.
    if (request.output !== undefined) await admission.admit();
    const urlFor = () => imageUrlsFromEnv(c.env, deps.config.image_urls, answerOrigin(deps.config.public_base_url, c.req.url), deps.clock);
    // Sent now, finished after the answer: an identical request waiting in the caller's object is woken by it.
    const afterAnswer = (work: Promise<void>) =>
      c.executionCtx.waitUntil(work.catch((error: unknown) => c.var.log.warn("reuse index not updated", { error: String(error) })));
    const run = () => generate(request, c.get("caller"), c.get("requestId"), deps, { signal: c.req.raw.signal });
    let outcome: GenerationOutcome;
    try {
      // A client that hangs up cancels the provider's work: its signal reaches the backend.
      outcome = await admitted(admission, run);
    } catch (error) {
      if (!(error instanceof AdmissionStopped && error.by === "reuse" && reuse)) {
        if (reuse && admission.holdsReuse) afterAnswer(reuse.abandon());
        throw error;
      }
      const found = await reuse.confirm(admission.reused!);
      if (found) return answerReused(c, request, found, deps, await urlFor());
      // The stored answer's images are gone and no other is left: this request generates after all.
      try {
        outcome = await run();
      } catch (again) {
        afterAnswer(reuse.abandon());
        throw again;
      }
    }
    if (reuse) afterAnswer(reuse.remember(outcome));
    return c.json(await outcomeBody(outcome, await urlFor()), 201);
  });

  app.openapi(serveRoute, async (c) => {
    const { key } = c.req.valid("param");
    return serve(c, key, c.get("caller"));
  });
}

/** An identical seeded request's stored images, under this request's id: a cost-0 usage row naming the request that paid. */
async function answerReused(c: Context<AppEnv>, request: GenerationRequest, found: GenerationOutcome, deps: PipelineDeps, urlFor: ImageUrlFor) {
  const requestId = c.get("requestId");
  const input = {
    eventId: deps.ids.newId(),
    requestId,
    caller: c.get("caller").name,
    source: request.source ?? null,
    ref: request.ref ?? null,
    clientRequestId: request.clientRequestId ?? null,
    promptHash: await sha256Hex(request.prompt),
    now: deps.clock.now(),
  };
  await deps.usage.record(reuseUsageEvent(found, request.n, input));
  c.header(REUSED_FROM_HEADER, found.request_id);
  return c.json(await outcomeBody(reusedOutcome(found, requestId), urlFor), 201);
}

/**
 * Mounted before the API-key check: a GET that carries `exp`/`sig` and no Authorization header is
 * judged by its signature alone (403 when expired or forged). With a bearer key, the key decides,
 * as for any other request.
 */
export function registerSignedImageAccess(app: App): void {
  app.use("/v1/images/:key", async (c, next) => {
    const { exp, sig } = c.req.query();
    const signed = exp !== undefined || sig !== undefined;
    if (!["GET", "HEAD"].includes(c.req.method) || !signed || c.req.header("authorization") !== undefined) return next();
    const key = c.req.param("key");
    const signing = await urlSignerFromEnv(c.env, c.var.deps.config.image_urls, systemClock);
    const check = "signer" in signing ? await verifyImageSignature(signing.signer.key, key, { exp, sig }, systemClock) : "forged";
    if (check === "expired") throw problem("forbidden", 403, "this image URL has expired; ask for a fresh one, or fetch it with your API key");
    if (check === "forged") throw problem("forbidden", 403, "this image URL's signature does not match; use the URL exactly as it was handed out");
    return serve(c, key, "signed-url");
  });
}

async function serve(c: Context<AppEnv>, key: string, reader: Reader): Promise<Response> {
  const served = await serveOwnedObject(c.env.IMAGES, key, reader, c.req.raw.headers);
  switch (served.kind) {
    case "response":
      return served.response;
    case "not_found":
      throw problem("not-found", 404, `no image "${key}" for this caller`);
    case "precondition_failed":
      throw problem("precondition-failed", 412, "If-Match or If-Unmodified-Since does not hold for this object", { headers: { etag: served.etag } });
    case "unsatisfiable":
      throw problem("invalid-request", 416, "requested range not satisfiable", {
        headers: { "content-range": `bytes */${served.size}` },
      });
  }
}

/** Whether a POST /v1/images body uploads an input image (`b64_json` in `reference_images` or `mask`). */
function uploadsImages(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const { reference_images: images, mask } = body as { reference_images?: unknown; mask?: unknown };
  const uploaded = (input: unknown) => typeof input === "object" && input !== null && "b64_json" in input;
  return (Array.isArray(images) && images.some(uploaded)) || uploaded(mask);
}
