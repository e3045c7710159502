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
 * Keys are per caller: two callers never see each other's. The claim is part of the request's
 * admission (src/guard/admission.ts): it reaches the caller's object in the same round trip as
 * the rate-limit take, the reuse lookup and the first attempt's reservation; a 402 there leaves
 * the key unclaimed. A request that ends before it is admitted (an invalid body) claims nothing.
 *
 * With `sdkRetries`, a request without the header but with the official OpenAI SDKs'
 * `x-stainless-retry-count` gets a key derived from caller, route and body: the SDKs resend an
 * identical body on every retry but no key. Count 0 is a new request and always runs (taking the
 * key over); a count above 0 is a retry of it and is replayed, or waits for it, as above — so an
 * SDK retry after a lost answer never generates twice. Two identical first tries at the same
 * moment are two requests; a retry then joins the later one.
 *
 * @example
 *   app.openapi(createRoute({ …, middleware: [idempotencyKey()] }), handler);
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { problem } from "./problem";
import { sha256Hex } from "../lib/hash";
import { requestFingerprint } from "./fingerprint";
import { admissionOf, requestGuard } from "./request-guard";
import type { StoredAnswer } from "../guard/store/idempotency-book";

export interface IdempotencyOptions {
  /** Request headers that are part of "the same request" besides method, path and body. Default: `prefer`. */
  readonly varyHeaders?: readonly string[];
  /** Response headers kept and replayed with the body. */
  readonly replayHeaders?: readonly string[];
  /** Derive a key for SDK requests that carry `x-stainless-retry-count` but no Idempotency-Key. */
  readonly sdkRetries?: boolean;
}

const HEADER = "idempotency-key";
/** Sent by the Stainless-generated SDKs (openai-node, openai-python): 0 on the first try. */
const SDK_RETRY_HEADER = "x-stainless-retry-count";
const REPLAYED_HEADER = "Idempotent-Replayed";
const DEFAULT_REPLAY_HEADERS = ["content-type", "location", "preference-applied", "x-should-retry"];
/** The draft makes the key a structured-field string ("…"); bare tokens are accepted too. */
const KEY_PATTERN = /^"?([\x21\x23-\x7e]{1,255})"?$/;

export function idempotencyKey(options: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  const varyHeaders = (options.varyHeaders ?? ["prefer"]).map((h) => h.toLowerCase());
  const replayHeaders = (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS).map((h) => h.toLowerCase());

  return async (c, next) => {
    const raw = c.req.header(HEADER);
    const sdkRetry = raw === undefined && options.sdkRetries ? sdkRetryCount(c.req.header(SDK_RETRY_HEADER)) : null;
    if (raw === undefined && sdkRetry === null) return next();
    const fingerprint = await requestFingerprint(c.req, varyHeaders);
    const key = raw === undefined ? await sha256Hex(`sdk-retry\n${c.get("caller").name}\n${fingerprint}`) : KEY_PATTERN.exec(raw.trim())?.[1];
    if (key === undefined) {
      const message = "Idempotency-Key must be 1..255 visible ASCII characters (a UUID is a good choice)";
      throw problem("invalid-request", 400, message, { extra: { errors: [{ field: "Idempotency-Key", message }] } });
    }
    const { config, stub } = requestGuard(c);
    const holder = c.get("requestId");
    const admission = admissionOf(c);
    admission.claimKey(
      { key, fingerprint, holder, leaseMs: config.lease_seconds * 1000, ...(sdkRetry === 0 && { fresh: true }) },
      config.idempotency_wait_seconds * 1000,
    );
    let answer: StoredAnswer | null = null;
    try {
      await next();
      const claim = admission.keyClaim;
      switch (claim?.kind) {
        case "replay":
          c.res = replay(claim.answer);
          return;
        case "mismatch":
          throw problem("idempotency-key-reused", 422, `Idempotency-Key "${key}" was already used with a different request; use a new key for a new request`);
        case "running":
          throw problem("idempotency-key-in-use", 409, `a request with Idempotency-Key "${key}" is still running; retry later to get its answer`, {
            headers: { "retry-after": "10" },
          });
        case "claimed":
        case undefined:
          break;
      }
      if (admission.holdsKey && worthReplaying(c.res)) answer = await snapshot(c.res, replayHeaders);
    } finally {
      if (answer) await stub.completeIdempotencyKey(key, holder, answer, config.idempotency_hours * 3_600_000);
      else if (admission.holdsKey) await stub.abandonIdempotencyKey(key, holder);
    }
  };
}

/** The SDK's retry number, or null when the header is absent or not a count. */
function sdkRetryCount(header: string | undefined): number | null {
  return header !== undefined && /^\d{1,3}$/.test(header.trim()) ? Number(header.trim()) : null;
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
