/**
 * Request ids. The server's id (`c.var.requestId`, the `X-Request-Id` answer header, the ledger's
 * `request_id`) is always made here, so it is unique: a client's `X-Request-Id` is only its own
 * correlation value — two callers may well send the same one. That value is kept apart
 * (`c.var.correlationId`), logged beside ours and echoed as `X-Client-Request-Id`.
 */
import type { MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./context";

/** What a client's id may look like: short, and safe in a header, a log line and a CSV cell. */
export const CORRELATION_ID = /^[\w.:=-]{1,128}$/;

/** Our id for every request (never taken from the client). */
export const serverRequestId = (): MiddlewareHandler<AppEnv> => requestId({ headerName: "" });

/** The client's `X-Request-Id`, when it is well formed, as `c.var.correlationId` (else null). */
export function clientCorrelationId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const sent = c.req.header("x-request-id")?.trim();
    const id = sent !== undefined && CORRELATION_ID.test(sent) ? sent : null;
    c.set("correlationId", id);
    await next();
    if (id === null) return;
    // Raw responses (image bytes) may carry immutable headers: answer with a copy.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set("x-client-request-id", id);
  };
}
