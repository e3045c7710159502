/**
 * Webhook deliveries of the fake Replicate, signed the Standard Webhooks way with node:crypto
 * (deliberately not with the `standardwebhooks` package the verifier uses, so the two check
 * each other): `webhook-signature: v1,base64(HMAC-SHA256(key, "${id}.${timestamp}.${body}"))`
 * where key = base64-decode(secret without "whsec_"). `webhook-id` stays the same across retries.
 *
 * Every attempt is recorded (also dropped ones and ones whose URL is unreachable) so tests can
 * read the exact signed requests and replay them into the Worker in any order.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { DeliveryRecord, WebhookBehaviour, WebhookEvent } from "./control";

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

function newWebhookId(): string {
  return `msg_${randomBytes(12).toString("hex")}`;
}

function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export class WebhookSender {
  readonly records: DeliveryRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private held: Array<() => void> = [];

  constructor(
    private readonly secret: () => string,
    private readonly behaviour: () => WebhookBehaviour,
    private readonly timeScale: () => number,
  ) {}

  /** Queue one event for a prediction snapshot (the body is fixed now, as Replicate does). */
  send(url: string, event: WebhookEvent, prediction: unknown): void {
    const behaviour = this.behaviour();
    const id = newWebhookId();
    const body = JSON.stringify(prediction);
    const copies = behaviour.duplicate?.includes(event) ? 2 : 1;
    const deliver = () => {
      for (let i = 0; i < copies; i++) void this.attempt(url, event, id, body, 1, behaviour.drop?.includes(event) ?? false);
    };
    if (behaviour.reorder && event !== "completed") {
      this.held.push(deliver);
      return;
    }
    deliver();
    if (event === "completed") {
      const held = this.held;
      this.held = [];
      for (const later of held) later();
    }
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async attempt(url: string, event: WebhookEvent, id: string, body: string, attempt: number, dropped: boolean) {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": sign(this.secret(), id, timestamp, body),
    };
    const record: DeliveryRecord = { webhook_id: id, event, attempt, url, headers, body, dropped };
    this.records.push(record);
    if (dropped) return;
    try {
      // Replicate does not follow redirects.
      const response = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(5000) });
      record.status = response.status;
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) return;
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
    const delays = this.behaviour().retry_delays_ms ?? [1_000, 5_000, 15_000, 40_000];
    const delay = delays[attempt - 1];
    if (event !== "completed" || delay === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(url, event, id, body, attempt + 1, false);
    }, delay * this.timeScale());
    timer.unref();
    this.timers.add(timer);
  }
}
