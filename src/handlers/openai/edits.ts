/**
 * `POST /v1/images/edits`: OpenAI's image edits in front of our pipeline. The multipart request is
 * translated once into ours — the image parts become uploaded reference images, checked and
 * stored like any upload (src/core/references.ts), `model` an instance or chain that edits — then
 * generated, stored, ledgered and answered exactly as `/v1/images/generations` answers.
 * `POST /v1/images/variations` (DALL·E 2 only at OpenAI) is answered with a 400 that says so.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { InvalidRequestError } from "../../core/errors";
import { acceptReferences, type ReferenceSource } from "../../core/references";
import type { GenerationRequest } from "../../core/request";
import type { App } from "../../http/context";
import { idempotencyKey } from "../../http/idempotency";
import { requireMultipartBody } from "../../http/json-body";
import { problem } from "../../http/problem";
import { rateLimit } from "../../http/rate-limit";
import { admissionOf, spenderOf } from "../../http/request-guard";
import { parseSize } from "../../lib/size";
import { generateInOpenAIShape, SOURCE_HEADER, sourceOf } from "./generations";
import { resolveModel } from "./models";
import { ImagesResponseSchema, OpenAIImageEditForm, openAIErrorResponses } from "./schemas";

const editRoute = createRoute({
  method: "post",
  path: "/v1/images/edits",
  operationId: "editImageOpenAI",
  summary: "Edit images, OpenAI Images API style (multipart; the official SDKs' images.edit)",
  security: [{ bearer: [] }],
  middleware: [rateLimit(), requireMultipartBody(), idempotencyKey({ sdkRetries: true, varyHeaders: [SOURCE_HEADER] })] as const,
  request: {
    headers: z.object({ [SOURCE_HEADER]: z.string().optional().openapi({ description: "Usage source label; wins over `user`." }) }),
    body: { required: true, content: { "multipart/form-data": { schema: OpenAIImageEditForm } } },
  },
  responses: {
    200: { description: "Edited images (stored in R2 and ledgered)", content: { "application/json": { schema: ImagesResponseSchema } } },
    ...openAIErrorResponses(400, 401, 402, 404, 413, 415, 422, 429, 500, 502, 503, 504),
  },
});

const variationRoute = createRoute({
  method: "post",
  path: "/v1/images/variations",
  operationId: "createImageVariationOpenAI",
  summary: "Not offered: answers a 400 in OpenAI's shape (variations are DALL·E 2 only; use /v1/images/edits)",
  security: [{ bearer: [] }],
  responses: { ...openAIErrorResponses(400, 401) },
});

export function registerEditRoutes(app: App): void {
  app.openapi(editRoute, async (c) => {
    const form = c.req.valid("form");
    const deps = c.var.deps.pipeline(c.var.log, { waitUntil: (work) => c.executionCtx.waitUntil(work), spender: spenderOf(c), admission: admissionOf(c) });
    const correlation = c.get("correlationId");
    const files = [...(form.image === undefined ? [] : Array.isArray(form.image) ? form.image : [form.image]), ...(form["image[]"] ?? [])];
    if (files.length === 0) throw new InvalidRequestError("image", "send the image to edit as an `image` file part (or several as `image[]`)");
    const source = sourceOf(c.req.header(SOURCE_HEADER), form);
    const request: GenerationRequest = {
      prompt: form.prompt,
      backend: resolveModel(deps.config, form.model ?? deps.config.default_backend),
      n: form.n ?? 1,
      ...(form.size && form.size !== "auto" && { size: parseSize(form.size)! }),
      ...(source !== undefined && { source }),
      ...(form.quality && { quality: form.quality }),
      ...(form.output_format && { outputFormat: form.output_format }),
      ...(form.input_fidelity && { inputFidelity: form.input_fidelity }),
      ...(correlation !== null && { clientRequestId: correlation }),
    };
    const accepted = await acceptReferences(
      request,
      {
        images: await Promise.all(files.map(uploadOf)),
        ...(form.mask && { mask: await uploadOf(form.mask) }),
        field: (index) => (index === "mask" ? "mask" : "image"),
      },
      c.get("caller"),
      deps,
    ).catch((error: unknown) => {
      // OpenAI's name for the backend is `model`.
      throw error instanceof InvalidRequestError && error.field === "backend" ? new InvalidRequestError("model", error.detail) : error;
    });
    return c.json(await generateInOpenAIShape(c, accepted, deps, form.response_format ?? "b64_json"), 200);
  });

  app.openapi(variationRoute, () => {
    throw problem(
      "invalid-request",
      400,
      "image variations are not supported here (OpenAI offers them for dall-e-2 only); use images.edit with a prompt instead",
      {
        extra: { code: "unsupported_endpoint" },
      },
    );
  });
}

async function uploadOf(file: File): Promise<ReferenceSource> {
  return { upload: new Uint8Array(await file.arrayBuffer()) };
}
