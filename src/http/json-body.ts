/** Route middleware: a request body must be declared as JSON (or multipart, for uploads), else 415 before anything happens. */
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

/** Route middleware for uploads in OpenAI's shape: a body must be multipart/form-data, else 415 before anything happens. */
export function requireMultipartBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header("content-type") ?? "";
    if (!/^multipart\/form-data\s*;/i.test(type)) {
      throw problem("unsupported-media-type", 415, "send the edit as multipart/form-data (the image as a file part), as the OpenAI SDKs do");
    }
    await next();
  };
}
