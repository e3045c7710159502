/** POST /v1/images (generate, or start an async job) and GET /v1/images/{key} (serve to its owner). */
import { createRoute, z } from "@hono/zod-openapi";
import { generate } from "../core/generate";
import { outcomeBody } from "../core/outcome-body";
import { parseSize } from "../config/size";
import type { App } from "../http/context";
import { requireJsonBody } from "../http/json-body";
import { prefers } from "../http/prefer";
import { problem } from "../http/problem";
import { pipelineDeps } from "../services";
import { serveOwnedObject } from "../storage/serve-object";
import { JobDocumentSchema } from "./job-schemas";
import { acceptJob } from "./jobs";
import { GenerateImagesRequest, GenerateImagesResponse, ImageKeyParam, problemResponses } from "./schemas";

const generateRoute = createRoute({
  method: "post",
  path: "/v1/images",
  summary: "Generate images (with `Prefer: respond-async`: start an async job, 202)",
  security: [{ bearer: [] }],
  middleware: [requireJsonBody()] as const,
  request: {
    headers: z.object({
      prefer: z.string().optional().openapi({ description: "`respond-async`: answer 202 with a job at once (docs/jobs.md); the status URL is in `Location`." }),
    }),
    body: { required: true, content: { "application/json": { schema: GenerateImagesRequest } } },
  },
  responses: {
    201: { description: "Images generated and stored", content: { "application/json": { schema: GenerateImagesResponse } } },
    202: { description: "Accepted as an async job (`Prefer: respond-async`)", content: { "application/json": { schema: JobDocumentSchema } } },
    ...problemResponses(400, 401, 402, 409, 413, 415, 500, 502, 503, 504),
  },
});

const serveRoute = createRoute({
  method: "get",
  path: "/v1/images/{key}",
  summary: "Fetch a stored image or sidecar (its owner or an admin)",
  security: [{ bearer: [] }],
  request: { params: ImageKeyParam },
  responses: {
    200: { description: "The object's bytes", content: { "image/png": { schema: { type: "string", format: "binary" } } } },
    206: { description: "A byte range" },
    304: { description: "Not modified" },
    ...problemResponses(401, 404, 416),
  },
});

export function registerImageRoutes(app: App): void {
  app.openapi(generateRoute, async (c) => {
    const { callback_url: callbackUrl, ...body } = c.req.valid("json");
    const correlation = c.get("correlationId");
    const request = {
      ...body,
      size: body.size === undefined ? undefined : parseSize(body.size)!,
      ...(correlation !== null && { clientRequestId: correlation }),
    };
    if (prefers(c.req.header("prefer"), "respond-async")) return acceptJob(c, request, callbackUrl);
    if (callbackUrl !== undefined) {
      const message = "callback_url is only for async requests; send it with 'Prefer: respond-async'";
      throw problem("invalid-request", 400, message, { extra: { errors: [{ field: "callback_url", message }] } });
    }
    const deps = pipelineDeps(c.env, c.get("log"), (work) => c.executionCtx.waitUntil(work));
    const outcome = await generate(request, c.get("caller"), c.get("requestId"), deps);
    return c.json(outcomeBody(outcome, c.req.url), 201);
  });

  app.openapi(serveRoute, async (c) => {
    const { key } = c.req.valid("param");
    const served = await serveOwnedObject(c.env.IMAGES, key, c.get("caller"), c.req.raw.headers);
    switch (served.kind) {
      case "response":
        return served.response;
      case "not_found":
        throw problem("not-found", 404, `no image "${key}" for this caller`);
      case "unsatisfiable":
        throw problem("invalid-request", 416, "requested range not satisfiable", {
          headers: { "content-range": `bytes */${served.size}` },
        });
    }
  });
}
