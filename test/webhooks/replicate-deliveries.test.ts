/**
 * verifyReplicateWebhook on what the fake Replicate really sends: every attempt verifies, retries
 * keep their webhook-id (hand-made signatures and refusals: test/unit/webhooks/replicate-signature.test.ts).
 */
import { describe, expect, inject, it } from "vitest";
import { createPrediction, getDefaultWebhookSecret, parseModelRef, type ReplicateApi } from "../../src/backends/replicate";
import { systemClock } from "../../src/lib/clock";
import { verifyReplicateWebhook } from "../../src/webhooks/replicate-signature";
import { eventually, newToken, setScenario, webhooksOf } from "../fakes/replicate/kit";

const fake = inject("fakes").replicate!;

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
