/**
 * Delivering a finished job to the caller's `callback_url`: a POST of the job document, signed
 * the Standard Webhooks way (the scheme Replicate signs ours with), so receivers verify it with
 * any standardwebhooks library: `new Webhook(secret).verify(body, headers)`.
 * https://www.standardwebhooks.com/
 *
 *   webhook-id:        job_<job id>   (the same on every retry: the receiver's dedupe key)
 *   webhook-timestamp: unix seconds of this try
 *   webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body">
 *
 * Retries (exponential backoff) are the job's alarm; this module makes one try and says when the next is due.
 */
import { whsecSigner } from "../webhooks/whsec";
import type { Clock } from "../lib/clock";
import { backoffDelay } from "../lib/backoff";
import { classifyHost } from "../net/address-rules";

/** The env var holding our signing secret (`whsec_<base64>`). */
export const CALLBACK_SECRET_ENV = "IMAGEN_CALLBACK_SECRET";
const ATTEMPT_TIMEOUT_MS = 10_000;

export interface CallbackUrlRules {
  /** `jobs.allow_loopback_callbacks`: local development may deliver to this machine (http or https, any port). */
  readonly allowLoopback: boolean;
}

/**
 * Why a callback URL is refused, or null when it is fine. Checked when the job is submitted, so
 * nothing is ever sent to a refused target: https on the default port to a public host only —
 * never an internal address (private, link-local, metadata…) — and loopback only when the
 * deployment allows it for local development.
 */
export function callbackUrlProblem(raw: string, rules: CallbackUrlRules): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "callback_url is not a URL";
  }
  if (url.username || url.password) return "callback_url must not carry credentials";
  const host = classifyHost(url.hostname);
  if (host.kind === "internal") return `callback_url must name a public host; ${url.hostname} is ${host.why}`;
  if (url.port === "0") return "callback_url must not use port 0";
  if (host.kind === "loopback") {
    if (!rules.allowLoopback) {
      return `callback_url must name a public host; ${url.hostname} is this machine (loopback), allowed only with jobs.allow_loopback_callbacks for local development`;
    }
    return url.protocol === "https:" || url.protocol === "http:" ? null : "callback_url must be http or https";
  }
  if (url.protocol !== "https:") return "callback_url must be https";
  if (url.port !== "") return "callback_url must use the default https port (443)";
  return null;
}

/**
 * What the job document says about a failed delivery. The receiver's status and error text stay
 * in our logs: echoing them would make callbacks a port and status scanner. Our own
 * refusals (a target not allowed, no signing secret — every such message starts with
 * `callback_url` or the secret's name) are said as they are.
 */
export function callbackErrorForCaller(lastError: string | null): string | null {
  if (lastError === null) return null;
  const ours = lastError.startsWith("callback_url") || lastError.startsWith(CALLBACK_SECRET_ENV);
  return ours ? lastError : "not delivered: the receiver did not accept it (no 2xx answer)";
}

/** Why the signing secret cannot be used, or null when it can. */
export function callbackSecretProblem(secret: unknown): string | null {
  if (typeof secret !== "string" || secret.trim() === "") {
    return `callback_url needs ${CALLBACK_SECRET_ENV} (a whsec_<base64> secret) to sign deliveries; it is not set`;
  }
  try {
    whsecSigner(secret, CALLBACK_SECRET_ENV);
  } catch (error) {
    return (error as Error).message;
  }
  return null;
}

export type CallbackTry = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly status: number | null; readonly error: string };

/** One signed POST. Redirects are not followed (a 3xx counts as a failure, like Replicate does). */
export async function postCallback(
  url: string,
  body: string,
  options: { readonly secret: string; readonly messageId: string; readonly fetch: typeof fetch; readonly clock: Clock },
): Promise<CallbackTry> {
  const timestamp = new Date(options.clock.now());
  const headers = {
    "content-type": "application/json",
    "user-agent": "imagen-edge-callbacks/1",
    "webhook-id": options.messageId,
    "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
    "webhook-signature": whsecSigner(options.secret, CALLBACK_SECRET_ENV).sign(options.messageId, timestamp, body),
  };
  try {
    const response = await options.fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, status: response.status, error: `the receiver answered HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, status: null, error: `not delivered: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Wait before try `n + 1` after `n` failed tries: base, 2×base, 4×base… */
export function callbackRetryDelayMs(failedTries: number, baseSeconds: number): number {
  return Math.round(backoffDelay(failedTries, baseSeconds * 1000));
}
