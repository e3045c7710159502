/** Small HTTP helpers for the fake (aiohttp-like answers). */
import type { ServerResponse } from "node:http";

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  302: "Found",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  502: "Bad Gateway",
  530: "Origin Error",
};

export function parseJson(body: Buffer): unknown {
  try {
    return body.length === 0 ? undefined : JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

export function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  res.writeHead(status, { ...headers, "Content-Length": String(payload.length) });
  res.end(payload);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { "Content-Type": "application/json; charset=utf-8" }, JSON.stringify(value));
}
