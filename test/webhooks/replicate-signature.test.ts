/**
 * verifyReplicateWebhook: deliveries signed by the fake Replicate verify; anything forged,
 * tampered, stale, early or incomplete is refused with a reason. Hand-made signatures use
 * WebCrypto, independent of the `standardwebhooks` package under test.
 */
import { describe, expect, inject, it } from "vitest";
import { createPrediction, getDefaultWebhookSecret, parseModelRef, type ReplicateApi } from "../../src/backends/replicate";
import { systemClock } from "../../src/lib/clock";
import { verifyReplicateWebhook, WEBHOOK_TOLERANCE_SECONDS } from "../../src/webhooks/replicate-signature";
import { eventually, newToken, setScenario, webhooksOf } from "../fakes/replicate/kit";
import { signV1 } from "../helpers/webhook-signing";

const fake = inject("fakes").replicate!;

function randomSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}


const body = JSON.stringify({ id: "gm3qorzdhgbfurvjtvhg6dckhu", status: "succeeded", output: ["https://replicate.delivery/xezq/a/out-0.png"] });
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function signedDelivery(options: { secret?: string; timestamp?: number; id?: string } = {}) {
  const secret = options.secret ?? randomSecret();
  const id = options.id ?? "msg_2a1b3c";
  const timestamp = options.timestamp ?? nowSeconds();
  const headers = new Headers({
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signV1(secret, id, timestamp, body),
  });
  return { secret, headers, rawBody: body };
}

describe("verifyReplicateWebhook", () => {
  it("accepts a correctly signed delivery and returns its id, timestamp and parsed body", async () => {
    const delivery = await signedDelivery({ id: "msg_abc" });
    const verdict = verifyReplicateWebhook(delivery);
    expect(verdict).toEqual({
      ok: true,
      webhookId: "msg_abc",
      timestamp: Number(delivery.headers.get("webhook-timestamp")),
      payload: JSON.parse(body),
    });
  });

  it("accepts headers given as a plain object, whatever their case", async () => {
    const delivery = await signedDelivery();
    const headers = Object.fromEntries([...delivery.headers].map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyReplicateWebhook({ ...delivery, headers }).ok).toBe(true);
  });

  it("refuses a forged signature", async () => {
    const delivery = await signedDelivery();
    delivery.headers.set("webhook-signature", `v1,${btoa("x".repeat(32))}`);
    expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses a body changed after signing", async () => {
    const delivery = await signedDelivery();
    const verdict = verifyReplicateWebhook({ ...delivery, rawBody: body.replace("succeeded", "failed") });
    expect(verdict).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses a delivery signed with another secret", async () => {
    const delivery = await signedDelivery();
    expect(verifyReplicateWebhook({ ...delivery, secret: randomSecret() })).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses a timestamp more than 5 minutes old, even with a valid signature (replay)", async () => {
    const delivery = await signedDelivery({ timestamp: nowSeconds() - WEBHOOK_TOLERANCE_SECONDS - 60 });
    expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "bad_timestamp" });
  });

  it("refuses a timestamp more than 5 minutes in the future", async () => {
    const delivery = await signedDelivery({ timestamp: nowSeconds() + WEBHOOK_TOLERANCE_SECONDS + 60 });
    expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "bad_timestamp" });
  });

  it("accepts a timestamp a few minutes old, within the tolerance", async () => {
    const delivery = await signedDelivery({ timestamp: nowSeconds() - 4 * 60 });
    expect(verifyReplicateWebhook(delivery).ok).toBe(true);
  });

  it("refuses a timestamp that is not unix seconds", async () => {
    const delivery = await signedDelivery();
    delivery.headers.set("webhook-timestamp", new Date().toISOString());
    expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "bad_timestamp" });
  });

  for (const missing of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    it(`refuses a delivery without ${missing}`, async () => {
      const delivery = await signedDelivery();
      delivery.headers.delete(missing);
      expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "missing_headers" });
    });
  }

  it("accepts a header listing several signatures when one of them matches", async () => {
    const delivery = await signedDelivery();
    const good = delivery.headers.get("webhook-signature")!;
    delivery.headers.set("webhook-signature", `v1,${btoa("y".repeat(32))} v1a,ignored ${good}`);
    expect(verifyReplicateWebhook(delivery).ok).toBe(true);
  });

  it("refuses a header listing several signatures when none matches", async () => {
    const delivery = await signedDelivery();
    delivery.headers.set("webhook-signature", `v1,${btoa("y".repeat(32))} v1,${btoa("z".repeat(32))}`);
    expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses a signature of another scheme version", async () => {
    const delivery = await signedDelivery();
    const good = delivery.headers.get("webhook-signature")!;
    delivery.headers.set("webhook-signature", good.replace(/^v1,/, "v2,"));
    expect(verifyReplicateWebhook(delivery)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses a signed body that is not JSON", async () => {
    const secret = randomSecret();
    const timestamp = nowSeconds();
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp), "webhook-signature": await signV1(secret, "msg_1", timestamp, "not json") };
    expect(verifyReplicateWebhook({ secret, headers, rawBody: "not json" })).toMatchObject({ ok: false, reason: "bad_body" });
  });

  it("throws on a secret that is not a whsec_ key: the operator's mistake, not the sender's", async () => {
    const delivery = await signedDelivery();
    expect(() => verifyReplicateWebhook({ ...delivery, secret: "not-a-secret" })).toThrow(/whsec_/);
  });
});

describe("verifyReplicateWebhook with deliveries from the fake Replicate", () => {
  it("verifies every attempt, honours webhook_events_filter and keeps webhook-id across retries", async () => {
    const token = newToken();
    // Nothing listens on port 9: every attempt fails, so `completed` is retried (after 20 ms here).
    await setScenario(fake, token, { webhooks: { retry_delays_ms: [20] } });
    const api: ReplicateApi = { baseUrl: `${fake}/v1`, token, tokenEnv: "REPLICATE_API_TOKEN", fetch: (...a) => fetch(...a), clock: systemClock };
    const { prediction } = await createPrediction(api, {
      model: parseModelRef("black-forest-labs/flux-schnell"),
      input: { prompt: "a cat", seed: 1, output_format: "png" },
      webhook: "http://127.0.0.1:9/webhooks/replicate?job=job_123",
      webhookEventsFilter: ["start", "completed"],
    });
    const records = await eventually(async () => {
      const all = await webhooksOf(fake, token);
      return all.filter((r) => r.event === "completed").length === 2 && all.every((r) => r.error) ? all : undefined;
    });
    const secret = await getDefaultWebhookSecret(api);

    expect(records.map((r) => r.event).sort()).toEqual(["completed", "completed", "start"]);
    for (const record of records) {
      expect(record.url).toBe("http://127.0.0.1:9/webhooks/replicate?job=job_123");
      const verdict = verifyReplicateWebhook({ secret, headers: record.headers, rawBody: record.body });
      expect(verdict).toMatchObject({ ok: true, payload: { id: prediction.id } });
    }
    const completed = records.filter((r) => r.event === "completed");
    expect(completed.map((r) => r.attempt)).toEqual([1, 2]);
    expect(completed[0]!.webhook_id).toBe(completed[1]!.webhook_id);
    expect(JSON.parse(completed[0]!.body)).toMatchObject({ status: "succeeded" });
  });
});
