/**
 * Request bodies are read whole, up to a limit, before any handler runs: a body over the limit is
 * 413 (declared or not), and a body that stops arriving — the client hung up mid-upload — is the
 * client's abort, answered 499 and logged as such, not an internal error.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { CLIENT_CLOSED_REQUEST } from "../core/problem";
import { problem } from "./problem";

/** JSON bodies are small: only the input images of an edit travel inward. */
export const MAX_BODY_BYTES = 64 * 1024;

/** `limit` may say null for a route that answers without reading its body: it is then left unread. */
export function bufferedBody(limit: number | ((c: Context<AppEnv>) => number | null), subject: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const maxBytes = typeof limit === "number" ? limit : limit(c);
    if (maxBytes === null) return next();
    const tooLarge = () => problem("payload-too-large", 413, `${subject} are limited to ${maxBytes} bytes`);
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        c.get("log").info("client went away mid-upload", { bytes_received: size, reason: error instanceof Error ? error.message : String(error) });
        throw problem("canceled", CLIENT_CLOSED_REQUEST, "the request body stopped arriving: the client went away");
      }
      if (read.done) break;
      size += read.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(read.value);
    }
    const whole = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      whole.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body: whole });
    await next();
  };
}

/**
 * Route middleware after `bufferedBody` allowed an upload-sized body: a JSON body over `maxBytes`
 * is taken only when it uploads something (`uploads(body)`); any other is 413 as before.
 */
export function largeOnlyWithUploads(maxBytes: number, uploads: (body: unknown) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const size = (await c.req.arrayBuffer()).byteLength;
    if (size > maxBytes) {
      const body: unknown = await c.req.json().catch(() => null);
      if (!uploads(body)) throw problem("payload-too-large", 413, `request bodies are limited to ${maxBytes} bytes unless they upload images`);
    }
    await next();
  };
}
