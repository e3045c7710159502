/** The Hono environment shared by the app, middleware and handlers. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiKeyRecord } from "../auth/api-keys";
import type { Caller } from "../lib/caller";
import type { AppDeps } from "../deps";
import type { Env } from "../env";
import type { Logger } from "../lib/log";
import type { Admission } from "../guard/admission";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The client's own X-Request-Id (caller-scoped, not unique), or null. */
    correlationId: string | null;
    log: Logger;
    caller: Caller;
    deps: AppDeps;
    /** The API key that authenticated the request (its id and per-key limits). */
    apiKey: ApiKeyRecord;
    /** What the request asks of its caller's Durable Object before its first provider call (./request-guard.ts). */
    admission: Admission | undefined;
  };
}

export type App = OpenAPIHono<AppEnv>;
