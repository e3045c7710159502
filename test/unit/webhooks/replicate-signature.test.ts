/**
 * verifyReplicateWebhook: a correctly signed delivery verifies; anything forged, tampered, stale,
 * early or incomplete is refused with a reason. Hand-made signatures use WebCrypto, independent of
 * the `standardwebhooks` package under test (what the fake Replicate sends:
 * test/backends/replicate-protocol.test.ts).
 */
import { describe, expect, it } from "vitest";
import { verifyReplicateWebhook, WEBHOOK_TOLERANCE_SECONDS } from "../../../src/webhooks/replicate-signature";
import { signV1 } from "../../helpers/webhook-signing";

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
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signV1(secret, "msg_1", timestamp, "not json"),
    };
    expect(verifyReplicateWebhook({ secret, headers, rawBody: "not json" })).toMatchObject({ ok: false, reason: "bad_body" });
  });

  it("throws on a secret that is not a whsec_ key: the operator's mistake, not the sender's", async () => {
    const delivery = await signedDelivery();
    expect(() => verifyReplicateWebhook({ ...delivery, secret: "not-a-secret" })).toThrow(/whsec_/);
  });
});
