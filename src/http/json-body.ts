/** Route middleware: a request body must be declared as JSON, else 415 before anything happens. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { problem } from "./problem";

export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw problem("unsupported-media-type", 415, "send the request body as JSON with 'Content-Type: application/json'");
    }
    await next();
  };
}
