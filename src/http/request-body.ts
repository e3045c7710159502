/**
 * Request bodies are read whole, up to a limit, before any handler runs: a body over the limit is
 * 413 (declared or not), and a body that stops arriving — the client hung up mid-upload — is the
 * client's abort, answered 499 and logged as such, not an internal error.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { CLIENT_CLOSED_REQUEST } from "../core/problem";
import { problem } from "./problem";

export function bufferedBody(maxBytes: number, subject: string): MiddlewareHandler<AppEnv> {
  const tooLarge = () => problem("payload-too-large", 413, `${subject} are limited to ${maxBytes} bytes`);
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
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
