/**
 * Builds the Hono app from its pieces: request id, structured access log, body limit, content
 * type, API-key auth, the route modules, OpenAPI, and problem+json for every failure.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import { registerBackendRoutes } from "./handlers/backends";
import { registerBudgetRoutes } from "./handlers/budget";
import { registerHealthRoutes } from "./handlers/health";
import { registerImageRoutes, registerSignedImageAccess } from "./handlers/images";
import { registerJobRoutes } from "./handlers/jobs";
import { isOpenAIPath, registerOpenAIRoutes, useOpenAIErrorShape } from "./handlers/openai";
import { registerKeyRoutes } from "./handlers/keys";
import { registerPricingRoutes } from "./handlers/pricing";
import { registerUsageRoutes } from "./handlers/usage";
import { registerWebhookRoutes } from "./handlers/webhooks";
import { apiKeyAuth } from "./http/auth";
import { deps } from "./http/deps";
import type { App, AppEnv } from "./http/context";
import { clientCorrelationId, serverRequestId } from "./http/correlation";
import { refuseUnanswerableEncodings } from "./http/accept-encoding";
import { errorToResponse } from "./http/errors";
import { MAX_UPLOAD_BODY_BYTES } from "./config/edits";
import { bufferedBody, MAX_BODY_BYTES } from "./http/request-body";
import { inOpenAIShape } from "./http/openai-errors";
import { problem, problemResponse } from "./http/problem";
import { answerOrigin } from "./http/public-origin";
import type { Env } from "./env";
import { consoleLogger, logLevelOf, type Logger } from "./lib/log";

export { MAX_BODY_BYTES } from "./http/request-body";

/**
 * How much of a request body is read: uploads of images on `POST /v1/images` and OpenAI's edits,
 * nothing for OpenAI's variations (answered "not supported" whatever the image), else 64 KiB.
 */
function bodyLimit(method: string, path: string): number | null {
  if (method !== "POST") return MAX_BODY_BYTES;
  if (path === "/v1/images" || path === "/v1/images/edits") return MAX_UPLOAD_BODY_BYTES;
  return path === "/v1/images/variations" ? null : MAX_BODY_BYTES;
}

/**
 * `rootLog` is for tests that capture lines; the deployed Worker logs to the console at the
 * `LOG_LEVEL` of the request's environment.
 */
export function createApp(rootLog?: Logger): App {
  const logFor = (env: Env): Logger => rootLog ?? consoleLogger({ service: "imagen-edge" }, logLevelOf(env.LOG_LEVEL));
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const errors = result.error.issues.map((issue) => ({
          // An unknown key is the caller's typo: name it rather than the object holding it.
          field: [...issue.path.map(String), ...(issue.code === "unrecognized_keys" ? [issue.keys.join(",")] : [])].join(".") || "(body)",
          message: issue.message,
        }));
        throw problem("invalid-request", 400, errors.map((e) => `${e.field}: ${e.message}`).join("; "), {
          extra: { errors },
        });
      }
    },
  });

  app.use(serverRequestId());
  app.use(clientCorrelationId());
  app.use(accessLog(logFor));
  app.use(
    methodNotAllowed({
      app,
      // Answered after every route middleware ran, so the OpenAI paths' shape is applied here too.
      onMethodNotAllowed: async (c, methods) => {
        const answer = withRequestId(
          problemResponse(
            {
              type: "method-not-allowed",
              status: 405,
              detail: `${c.req.method} is not allowed here; use ${methods.join(", ")}`,
              headers: { allow: methods.join(", ") },
            },
            c.get("requestId"),
          ),
          c.get("requestId"),
        );
        return isOpenAIPath(c.req.path) ? inOpenAIShape(answer) : answer;
      },
    }),
  );
  app.use(refuseUnanswerableEncodings());
  app.use(deps());
  // Signed provider webhooks authenticate by signature, not API key: registered before the key check.
  registerWebhookRoutes(app);
  registerSignedImageAccess(app);
  useOpenAIErrorShape(app);
  app.use("/v1/*", apiKeyAuth());
  app.use(
    "/v1/*",
    bufferedBody((c) => bodyLimit(c.req.method, c.req.path), "request bodies"),
  );

  registerHealthRoutes(app);
  registerBudgetRoutes(app);
  registerOpenAIRoutes(app);
  registerImageRoutes(app);
  registerBackendRoutes(app);
  registerKeyRoutes(app);
  registerJobRoutes(app);
  registerUsageRoutes(app);
  registerPricingRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key issued by the operator (`npm run keys -- add`) or an admin (`POST /v1/keys`).",
  });
  // Clients generated from the document call this deployment: its configured origin, never a Host header's.
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "ImaGen Edge",
      version: "0.1.0",
      description: "Image-generation gateway: FLUX and friends behind one API, images in R2, every attempt accounted for.",
    },
    servers: [{ url: answerOrigin(c.var.deps.config.public_base_url, c.req.url), description: "This deployment" }],
  }));

  app.notFound((c) =>
    withRequestId(
      problemResponse({ type: "not-found", status: 404, detail: `no route for ${c.req.method} ${c.req.path}` }, c.get("requestId")),
      c.get("requestId"),
    ),
  );
  app.onError((error, c) => withRequestId(errorToResponse(error, c.get("requestId"), c.get("log") ?? logFor(c.env)), c.get("requestId")));
  return app;
}

function withRequestId(response: Response, id: string | undefined): Response {
  if (id) response.headers.set("x-request-id", id);
  return response;
}

/** One line per request, with the route pattern (never the raw path: keys can carry prompt slugs). */
function accessLog(logFor: (env: Env) => Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    const correlation = c.get("correlationId");
    const log = logFor(c.env).child({ request_id: c.get("requestId"), ...(correlation && { correlation_id: correlation }) });
    c.set("log", log);
    await next();
    // Handlers that build a raw Response (image bytes) bypass c.header(); stamp it here.
    if (!c.res.headers.has("x-request-id")) {
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("x-request-id", c.get("requestId"));
    }
    const line = {
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      ms: Date.now() - started,
      caller: c.get("caller")?.name ?? null,
    };
    // Written after the response: a console line is not the answer's work (and under
    // `wrangler dev` each one is a DevTools message the next request would wait behind).
    afterResponse(c, () => log.info("request", line));
  };
}

/** `write` after the response when the runtime gave an execution context (it always does in the Worker), else now. */
function afterResponse(c: Context<AppEnv>, write: () => void): void {
  let waitUntil: ((work: Promise<unknown>) => void) | undefined;
  try {
    const ctx = c.executionCtx;
    waitUntil = (work) => ctx.waitUntil(work);
  } catch {
    // Hono throws when the app was called without one (app.request in a script).
  }
  if (waitUntil) waitUntil(Promise.resolve().then(write));
  else write();
}
