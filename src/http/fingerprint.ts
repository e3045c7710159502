/**
 * What "the same request" means for an idempotency key: method, path, the headers that change
 * the answer (e.g. `Prefer: respond-async`) and the body — as JSON with keys sorted, so a client
 * that re-serialises its body in another key order is still recognised.
 */
import type { HonoRequest } from "hono";
import { sha256Hex } from "../lib/hash";

export async function requestFingerprint(req: HonoRequest, varyHeaders: readonly string[]): Promise<string> {
  const text = await req.text();
  const headers = varyHeaders.map((name) => `${name}:${req.header(name) ?? ""}`);
  return sha256Hex([req.method, req.path, ...headers, canonicalBody(text)].join("\n"));
}

function canonicalBody(text: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}
