/**
 * `Idempotency-Key` for POST routes (IETF draft-ietf-httpapi-idempotency-key-header), backed by
 * the caller's Durable Object so every isolate sees the same keys:
 * - first use: the request runs; a successful answer (2xx, or one marked `x-should-retry: false`
 *   because it already cost money) is kept for `guard.idempotency_hours` (24 h);
 * - same key, same request: that answer is replayed with `Idempotent-Replayed: true` — no backend
 *   call, no usage row. While the first request still runs, the repeat waits for it (up to
 *   `guard.idempotency_wait_seconds`, then 409 with Retry-After);
 * - same key, different request: 422;
 * - any other answer (a 4xx, a failure that cost nothing) frees the key, so a corrected retry runs.
 * Keys are per caller: two callers never see each other's.
 *
 * @example
 *   app.openapi(createRoute({ …, middleware: [idempotencyKey()] }), handler);
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context";
import { problem } from "../http/problem";
import { requestFingerprint } from "./fingerprint";
import { requestGuard } from "./request-guard";
import type { StoredAnswer } from "./store/idempotency-book";

export interface IdempotencyOptions {
  /** Request headers that are part of "the same request" besides method, path and body. Default: `prefer`. */
  readonly varyHeaders?: readonly string[];
  /** Response headers kept and replayed with the body. */
  readonly replayHeaders?: readonly string[];
}

const HEADER = "idempotency-key";
export const REPLAYED_HEADER = "Idempotent-Replayed";
const DEFAULT_REPLAY_HEADERS = ["content-type", "location", "preference-applied", "x-should-retry"];
/** The draft makes the key a structured-field string ("…"); bare tokens are accepted too. */
const KEY_PATTERN = /^"?([\x21\x23-\x7e]{1,255})"?$/;

export function idempotencyKey(options: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  const varyHeaders = (options.varyHeaders ?? ["prefer"]).map((h) => h.toLowerCase());
  const replayHeaders = (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS).map((h) => h.toLowerCase());

  return async (c, next) => {
    const raw = c.req.header(HEADER);
    if (raw === undefined) return next();
    const key = KEY_PATTERN.exec(raw.trim())?.[1];
    if (key === undefined) {
      const message = "Idempotency-Key must be 1..255 visible ASCII characters (a UUID is a good choice)";
      throw problem("invalid-request", 400, message, { extra: { errors: [{ field: "Idempotency-Key", message }] } });
    }
    const { config, stub } = requestGuard(c);
    const holder = c.get("requestId");
    const claim = await stub.claimIdempotencyKey(
      { key, fingerprint: await requestFingerprint(c.req, varyHeaders), holder, leaseMs: config.lease_seconds * 1000 },
      config.idempotency_wait_seconds * 1000,
    );
    switch (claim.kind) {
      case "replay":
        return replay(claim.answer);
      case "mismatch":
        throw problem("idempotency-key-reused", 422, `Idempotency-Key "${key}" was already used with a different request; use a new key for a new request`);
      case "running":
        throw problem("idempotency-key-in-use", 409, `a request with Idempotency-Key "${key}" is still running; retry later to get its answer`, {
          headers: { "retry-after": "10" },
        });
      case "claimed":
        break;
    }
    let answer: StoredAnswer | null = null;
    try {
      await next();
      if (worthReplaying(c.res)) answer = await snapshot(c.res, replayHeaders);
    } finally {
      if (answer) await stub.completeIdempotencyKey(key, holder, answer, config.idempotency_hours * 3_600_000);
      else await stub.abandonIdempotencyKey(key, holder);
    }
  };
}

function worthReplaying(response: Response): boolean {
  return response.ok || response.headers.get("x-should-retry") === "false";
}

async function snapshot(response: Response, keep: readonly string[]): Promise<StoredAnswer> {
  const headers: Record<string, string> = {};
  for (const name of keep) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, body: await response.clone().text() };
}

function replay(answer: StoredAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: { ...answer.headers, [REPLAYED_HEADER]: "true" } });
}
