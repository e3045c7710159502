/**
 * `POST /v1/webhooks/{type}?job=<id>&backend=<instance>`: provider webhooks for async jobs
 * (Replicate: `/v1/webhooks/replicate`). No API key — the signature is the authentication, so
 * this route is registered before the `/v1/*` key check (src/app.ts).
 *
 * The raw body is verified by the instance's backend (Standard Webhooks for Replicate: HMAC over
 * id.timestamp.body with the `whsec_` secret its config names, constant-time compare, 5-minute
 * tolerance). A bad or stale signature → 401, and the job is never touched; an instance without
 * its webhook secret takes no webhooks (404). A verified delivery
 * is handed to the job's Durable Object, which dedupes it by its `webhook-id` and applies it in
 * its own time; we answer 200 at once (Replicate wants a 2xx within seconds).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { BackendError } from "../backends/errors";
import { INSTANCE_NAME_PATTERN } from "../config/schema";
import { ownEntry } from "../lib/lookup";
import type { App } from "../http/context";
import { problem } from "../http/problem";
import { bufferedBody } from "../http/request-body";
import { jsonDepthWithin } from "../lib/json-depth";
import { jobStub } from "./jobs";
import { jobId } from "./job-schemas";
import { problemResponses } from "./schemas";
import { ROUTES } from "../routes";

/** Prediction objects are small; this leaves room for data: URI outputs without inviting abuse. */
const MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;
/** A prediction nests a handful of levels; far deeper would only be there to exhaust the stack. */
const MAX_WEBHOOK_DEPTH = 64;

const route = createRoute({
  method: "post",
  path: ROUTES.webhooks,
  operationId: "receiveProviderWebhook",
  summary: "Provider webhook for an async job (signed; no API key)",
  // Authenticated by the provider's signature, not an API key.
  security: [],
  middleware: [bufferedBody(MAX_WEBHOOK_BYTES, "webhook bodies")] as const,
  request: {
    params: z.object({
      type: z
        .string()
        .regex(/^[a-z0-9-]{1,32}$/)
        .openapi({ param: { name: "type", in: "path" }, example: "replicate" }),
    }),
    query: z.object({
      job: jobId().openapi({ param: { name: "job", in: "query" }, description: "The job the webhook is about (we put it in the URL we gave the provider)." }),
      backend: z
        .string()
        .regex(INSTANCE_NAME_PATTERN, "an instance name")
        .openapi({ param: { name: "backend", in: "query" }, description: "The instance whose secret signs it." }),
      attempt: z
        .string()
        .regex(/^[0-9a-z]{10,40}$/, "an attempt id")
        .optional()
        .openapi({ param: { name: "attempt", in: "query" }, description: "The attempt the webhook is about (absent on URLs handed out before it existed)." }),
    }),
  },
  responses: {
    200: {
      description: "Taken (also for duplicates and late deliveries, which change nothing)",
      content: { "application/json": { schema: z.object({ received: z.literal(true), outcome: z.enum(["accepted", "duplicate", "ignored"]) }) } },
    },
    ...problemResponses(400, 401, 404, 413),
  },
});

export function registerWebhookRoutes(app: App): void {
  app.openapi(route, async (c) => {
    const { type } = c.req.valid("param");
    const { job, backend: name, attempt } = c.req.valid("query");
    const { config, backend: resolve } = c.var.deps;
    const backend = ownEntry<(typeof config.backends)[string]>(config.backends, name)?.type === type ? resolve(name) : undefined;
    const protocol = backend?.protocol;
    const verify = protocol?.kind === "job" ? protocol.verifyCallback?.bind(protocol) : undefined;
    if (!backend || !verify) throw problem("not-found", 404, `no ${type} backend "${name}" takes webhooks`);

    const rawBody = await c.req.text();
    if (!jsonDepthWithin(rawBody, MAX_WEBHOOK_DEPTH)) {
      throw problem("invalid-request", 400, `webhook bodies nested deeper than ${MAX_WEBHOOK_DEPTH} levels are refused`);
    }
    const log = c.get("log").child({ job_id: job, backend: name });
    let verdict: ReturnType<typeof verify>;
    try {
      verdict = verify({ headers: c.req.raw.headers, rawBody });
    } catch (error) {
      // Not the sender's fault, and nothing it could fix: a 4xx, so no one retries against it. The
      // operator reads the variable's name in the log; the job still ends by polling.
      if (error instanceof BackendError && error.kind === "not_configured") {
        log.warn("webhook refused: this instance cannot verify it", { reason: error.detail });
        throw problem("not-found", 404, `this instance takes no ${type} webhooks for "${name}" (no webhook secret is configured)`);
      }
      throw error;
    }
    if (!verdict.ok) {
      log.warn("webhook refused", { reason: verdict.reason });
      throw problem("unauthorized", 401, `webhook refused: ${verdict.detail}`);
    }
    const outcome = await jobStub(c.env, job).deliver({
      deliveryId: verdict.deliveryId,
      backend: name,
      payload: verdict.payload,
      ...(attempt && { attemptId: attempt }),
    });
    log.info("webhook received", { delivery_id: verdict.deliveryId, outcome });
    if (outcome === "unknown_job") throw problem("not-found", 404, `no job ${job}`);
    return c.json({ received: true as const, outcome }, 200);
  });
}
