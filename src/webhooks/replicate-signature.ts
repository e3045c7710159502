/**
 * Verifies a Replicate webhook delivery (the Standard Webhooks scheme): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed with the base64 part of the `whsec_`
 * secret, compared in constant time against each `v1,<base64>` entry of `webhook-signature`,
 * and the timestamp within 5 minutes of now. The `standardwebhooks` package does the
 * cryptography, the constant-time compare and the tolerance; we add plain reasons for refusals.
 * Docs: https://replicate.com/docs/topics/webhooks/verify-webhook · https://www.standardwebhooks.com/
 *
 * Unlike the official client's `validateWebhook`, this checks the timestamp (replays of an old
 * delivery are refused) and never compares signatures with `===`.
 */
import { type Webhook, WebhookVerificationError } from "standardwebhooks";
import { whsecSigner } from "./whsec";

/**
 * standardwebhooks' fixed tolerance, both directions. It reads the time from `Date.now()`; in a
 * Worker that is the time of the request being handled, which is what the check needs.
 */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

type WebhookRefusal = "missing_headers" | "bad_timestamp" | "bad_signature" | "bad_body";

export type ReplicateWebhookVerdict =
  | {
      readonly ok: true;
      /** Same across retries of one delivery: the idempotency key. */
      readonly webhookId: string;
      /** Unix seconds the delivery was signed at. */
      readonly timestamp: number;
      /** The parsed body: a prediction object, not yet validated. */
      readonly payload: unknown;
    }
  | { readonly ok: false; readonly reason: WebhookRefusal; readonly detail: string };

export interface ReplicateWebhookDelivery {
  /** The signing secret, `whsec_<base64>` (GET /v1/webhooks/default/secret). */
  readonly secret: string;
  readonly headers: Headers | Readonly<Record<string, string | undefined>>;
  /** The body exactly as received (`await request.text()`): re-serialised JSON will not verify. */
  readonly rawBody: string;
}

/**
 * @example
 * const verdict = verifyReplicateWebhook({ secret: env.REPLICATE_WEBHOOK_SECRET, headers: req.headers, rawBody: await req.text() });
 * if (!verdict.ok) return problem(401, verdict.detail);
 *
 * Throws (an operator error, not the sender's) when the secret is not a `whsec_` key.
 */
export function verifyReplicateWebhook(delivery: ReplicateWebhookDelivery): ReplicateWebhookVerdict {
  const webhook = signer(delivery.secret);
  const id = header(delivery.headers, "webhook-id");
  const timestamp = header(delivery.headers, "webhook-timestamp");
  const signature = header(delivery.headers, "webhook-signature");
  if (!id || !timestamp || !signature) {
    return refuse("missing_headers", "webhook-id, webhook-timestamp and webhook-signature headers are required");
  }
  // Classify a bad timestamp ourselves for a clear answer; standardwebhooks enforces it again.
  const seconds = /^\d+$/.test(timestamp) ? Number(timestamp) : NaN;
  const skew = Math.abs(Date.now() / 1000 - seconds);
  if (!(skew <= WEBHOOK_TOLERANCE_SECONDS)) {
    return refuse("bad_timestamp", `webhook-timestamp is not within ${WEBHOOK_TOLERANCE_SECONDS / 60} minutes of now`);
  }
  try {
    webhook.verify(delivery.rawBody, { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature }, { jsonParse: false });
  } catch (error) {
    if (error instanceof WebhookVerificationError) return refuse("bad_signature", `signature check failed: ${error.message}`);
    throw error;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(delivery.rawBody);
  } catch {
    return refuse("bad_body", "the signed body is not JSON");
  }
  return { ok: true, webhookId: id, timestamp: seconds, payload };
}

function signer(secret: string): Webhook {
  return whsecSigner(secret, "the Replicate webhook secret");
}

function header(headers: ReplicateWebhookDelivery["headers"], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name)?.trim() || undefined;
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return found?.[1]?.trim() || undefined;
}

function refuse(reason: WebhookRefusal, detail: string): ReplicateWebhookVerdict {
  return { ok: false, reason, detail };
}
