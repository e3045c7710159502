/**
 * Async generation jobs over HTTP: `POST /v1/images` with `Prefer: respond-async` lands in
 * `acceptJob` (called by ./images.ts), `GET /v1/jobs/{id}` reads a job, `DELETE /v1/jobs/{id}`
 * cancels it. Owners and admins only; to anyone else a job does not exist (404). The job itself
 * lives in its Durable Object (src/jobs/generation-job.ts).
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { mayAccess } from "../auth/ownership";
import { prepareGeneration } from "../core/pipeline";
import { releaseOutput } from "../core/explicit-output";
import type { GenerationRequest } from "../core/request";
import type { Env } from "../env";
import { requestGuard, spenderOf } from "../guard/request-guard";
import { requestLimitViolation } from "../guard/request-limits";
import type { App, AppEnv } from "../http/context";
import { problem } from "../http/problem";
import { PUBLIC_BASE_URL_MISSING, publicOrigin } from "../http/public-origin";
import { CALLBACK_SECRET_ENV, callbackSecretProblem, callbackUrlProblem } from "../jobs/callbacks";
import type { JobView } from "../jobs/generation-job";
import { isActive } from "../jobs/job-record";
import { JobDocumentSchema, JobIdParam } from "./job-schemas";
import { problemResponses } from "./schemas";
import { ROUTES } from "../routes";

const getJob = createRoute({
  method: "get",
  path: ROUTES.jobs,
  operationId: "getJob",
  summary: "An async job: state, timestamps, progress, result or error (its owner or an admin)",
  security: [{ bearer: [] }],
  request: { params: JobIdParam },
  responses: {
    200: { description: "The job", content: { "application/json": { schema: JobDocumentSchema } } },
    ...problemResponses(400, 401, 404),
  },
});

const cancelJob = createRoute({
  method: "delete",
  path: ROUTES.jobs,
  operationId: "cancelJob",
  summary: "Cancel an async job that has not finished (its owner or an admin)",
  security: [{ bearer: [] }],
  request: { params: JobIdParam },
  responses: {
    200: { description: "Canceled", content: { "application/json": { schema: JobDocumentSchema } } },
    ...problemResponses(400, 401, 404, 409),
  },
});

export function registerJobRoutes(app: App): void {
  app.openapi(getJob, async (c) => {
    const { id } = c.req.valid("param");
    const view = await jobStub(c.env, id).view();
    if (!view || !mayAccess(c.get("caller"), view.caller.name)) throw notFound(id);
    return c.json(view.document, 200);
  });

  app.openapi(cancelJob, async (c) => {
    const { id } = c.req.valid("param");
    const stub = jobStub(c.env, id);
    const view = await stub.view();
    if (!view || !mayAccess(c.get("caller"), view.caller.name)) throw notFound(id);
    if (!isActive(view.document.status)) throw problem("conflict", 409, `job ${id} has already ${view.document.status}; nothing to cancel`);
    const canceled = await stub.cancel();
    if (!canceled) throw notFound(id);
    c.get("log").info("job cancel requested", { job_id: id, status: canceled.document.status });
    return c.json(canceled.document, 200);
  });
}

/**
 * `POST /v1/images` + `Prefer: respond-async`: check the request as the sync path would (400,
 * 409 answered here, before anything is spent), hand it to a new job, answer 202 with the job
 * document, `Location` (the status URL) and `Preference-Applied: respond-async`.
 */
export async function acceptJob(c: Context<AppEnv>, request: GenerationRequest, callbackUrl: string | undefined) {
  const deps = c.var.deps.pipeline(c.var.log);
  if (callbackUrl !== undefined) {
    const rules = { allowLoopback: deps.config.jobs.allow_loopback_callbacks };
    const refused = callbackUrlProblem(callbackUrl, rules) ?? callbackSecretProblem(c.env[CALLBACK_SECRET_ENV]);
    if (refused) throw problem("invalid-request", 400, refused, { extra: { errors: [{ field: "callback_url", message: refused }] } });
  }
  const prepared = await prepareGeneration(request, c.get("caller"), c.get("requestId"), deps);
  const spender = spenderOf(c);
  let view: JobView;
  try {
    // Per-request limits are answered now (400), not after the 202 as a failed job.
    const violation = requestLimitViolation(prepared.plan.spec, requestGuard(c).limits);
    if (violation) throw violation;
    const origin = publicOrigin(deps.config.jobs.public_base_url, c.req.url);
    if (origin === null) throw problem("misconfigured", 503, PUBLIC_BASE_URL_MISSING);
    const id = deps.ids.newId();
    view = await jobStub(c.env, id).submit({
      id,
      prepared,
      config: c.env.IMAGEN_CONFIG,
      origin,
      ...(callbackUrl !== undefined && { callbackUrl }),
      ...(spender.keyLimits && { keyLimits: spender.keyLimits }),
    });
  } catch (error) {
    // No job holds the output key claimed while preparing: let it go.
    await releaseOutput(request, deps.store);
    throw error;
  }
  c.get("log").info("job accepted", { job_id: view.document.id, backend: prepared.plan.chain[0] ?? null });
  c.header("Location", view.document.status_url);
  c.header("Preference-Applied", "respond-async");
  return c.json(view.document, 202);
}

export function jobStub(env: Env, id: string) {
  if (!env.JOBS) throw new Error("async jobs need the JOBS Durable Object binding (wrangler.toml)");
  return env.JOBS.get(env.JOBS.idFromName(id));
}

function notFound(id: string) {
  return problem("not-found", 404, `no job ${id} for this caller`);
}
