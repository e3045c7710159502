/**
 * What "the same request" means for an idempotency key: method, path, the headers that change
 * the answer (e.g. `Prefer: respond-async`) and the body — as JSON with keys sorted, so a client
 * that re-serialises its body in another key order is still recognised. A multipart body (OpenAI's
 * edits) is its parts in order, files by type and hash: a retry draws a new boundary, not a new request.
 */
import type { HonoRequest } from "hono";
import { sha256Hex, sha256HexOfBytes } from "../lib/hash";

export async function requestFingerprint(req: HonoRequest, varyHeaders: readonly string[]): Promise<string> {
  const body = /^multipart\/form-data\b/i.test(req.header("content-type") ?? "") ? await canonicalParts(req) : canonicalBody(await req.text());
  const headers = varyHeaders.map((name) => `${name}:${req.header(name) ?? ""}`);
  return sha256Hex([req.method, req.path, ...headers, body].join("\n"));
}

/** The parts in order, each `name=value`, files as their type and sha256 (never their names). Unparseable: its raw text. */
async function canonicalParts(req: HonoRequest): Promise<string> {
  let form: FormData;
  try {
    // Read as form data first: Hono caches it for the route's validator.
    form = await req.formData();
  } catch {
    return req.text();
  }
  const parts: string[] = [];
  for (const [name, value] of form.entries()) {
    parts.push(
      typeof value === "string"
        ? JSON.stringify([name, value])
        : JSON.stringify([name, value.type, await sha256HexOfBytes(new Uint8Array(await value.arrayBuffer()))]),
    );
  }
  return parts.join("\n");
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
