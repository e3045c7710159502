/**
 * The lower-level Replicate functions the async job reuses (createPrediction, getPrediction,
 * cancelPrediction, collectOutputs), the fake's own fidelity to Replicate's protocol, and its
 * signed webhook deliveries verifying.
 */
import { backendFailure as failure } from "../helpers/attempt";
import { describe, expect, inject, it } from "vitest";
import {
  cancelPrediction,
  collectOutputs,
  createPrediction,
  getDefaultWebhookSecret,
  getPrediction,
  listPredictions,
  parseModelRef,
  type Prediction,
  type ReplicateApi,
} from "../../src/backends/replicate";
import { systemClock } from "../../src/lib/clock";
import { verifyReplicateWebhook } from "../../src/webhooks/replicate-signature";
import { sniffImage } from "../../src/backends/image-size";
import type { Scenario } from "../fakes/replicate/control";
import { eventually, imageBytes, newToken, requestsOf, setScenario, versionOf, webhooksOf } from "../fakes/replicate/kit";

const fake = inject("fakes").replicate!;
const schnell = parseModelRef("black-forest-labs/flux-schnell");
const input = { prompt: "a lighthouse at dusk", seed: 7, output_format: "png" };

async function account(scenario: Scenario = {}) {
  const token = newToken();
  await setScenario(fake, token, scenario);
  const api: ReplicateApi = { baseUrl: `${fake}/v1`, token, tokenEnv: "REPLICATE_API_TOKEN", fetch: (...a) => fetch(...a), clock: systemClock };
  const collect = (p: Prediction) => collectOutputs(p, { fetch: (...a) => fetch(...a), clock: systemClock, deliveryHosts: ["127.0.0.1"] });
  return { token, api, collect };
}

describe("createPrediction / getPrediction / cancelPrediction", () => {
  it("sends the webhook URL and events filter in the create body", async () => {
    const { api, token } = await account();
    await createPrediction(api, {
      model: schnell,
      input,
      webhook: "https://imagen.example/webhooks/replicate?job=j1",
      webhookEventsFilter: ["completed"],
    });
    const [create] = await requestsOf(fake, token);
    expect(create!.body).toEqual({ input, webhook: "https://imagen.example/webhooks/replicate?job=j1", webhook_events_filter: ["completed"] });
    // No Prefer and no Cancel-After unless asked for: the async path must not block.
    expect(create!.headers.prefer).toBeUndefined();
    expect(create!.headers["cancel-after"]).toBeUndefined();
  });

  it("answers a create without Prefer at once, still starting, and reports outputs not ready", async () => {
    const { api } = await account();
    const created = await createPrediction(api, { model: schnell, input });
    expect(created.prediction.status).toBe("starting");
    expect(created.outputsReady).toBe(false);
  });

  it("follows a prediction to success with getPrediction", async () => {
    const { api } = await account({ finalize_ms: 0 });
    const { prediction } = await createPrediction(api, { model: schnell, input });
    const done = await eventually(async () => {
      const p = await getPrediction(api, prediction.id);
      return p.status === "succeeded" ? p : undefined;
    });
    expect(done.output).toHaveLength(1);
    expect(done.metrics?.predict_time).toBeGreaterThan(0);
  });

  it("cancels a running prediction", async () => {
    const { api } = await account({ outcome: "hang" });
    const { prediction } = await createPrediction(api, { model: schnell, input });
    expect((await cancelPrediction(api, prediction.id)).status).toBe("canceled");
    expect((await getPrediction(api, prediction.id)).status).toBe("canceled");
  });
});

describe("collectOutputs", () => {
  it("reads the seed from FLUX's logs when the request sent none (or 0)", async () => {
    const { api, collect } = await account({ finalize_ms: 0 });
    const { prediction } = await createPrediction(api, { model: schnell, input: { ...input, seed: 0 } }, {});
    const done = await eventually(async () => {
      const p = await getPrediction(api, prediction.id);
      return p.status === "succeeded" ? p : undefined;
    });
    const logged = Number(/Using seed: (\d+)/.exec(done.logs ?? "")![1]);
    expect(logged).toBeGreaterThan(0);
    expect((await collect(done)).seed).toBe(logged);
  });

  it("fails, saying why, when a prediction's output URLs have expired", async () => {
    const { api, token, collect } = await account({ finalize_ms: 0, output_ttl_ms: 300 });
    const created = await createPrediction(api, { model: schnell, input, waitSeconds: 5 });
    expect(created.outputsReady).toBe(true);
    await eventually(async () => ((await getPrediction(api, created.prediction.id)).data_removed ? true : undefined));

    const error = await failure(collect(created.prediction));
    expect(error.kind).toBe("failed");
    expect(error.detail).toContain("is gone (HTTP 404)");
    expect(error.extra.externalId).toBe(created.prediction.id);
    expect((await requestsOf(fake, token)).filter((r) => r.path.startsWith("/delivery/"))).toHaveLength(1);
  });

  it("fails when Replicate already removed the outputs (data_removed, output null)", async () => {
    const { api, collect } = await account({ finalize_ms: 0, output_ttl_ms: 50 });
    const { prediction } = await createPrediction(api, { model: schnell, input });
    const removed = await eventually(async () => {
      const p = await getPrediction(api, prediction.id);
      return p.data_removed ? p : undefined;
    });
    expect(removed.output).toBeNull();
    const error = await failure(collect(removed));
    expect(error.detail).toContain("data_removed");
  });

  it("takes the single-string output of flux-1.1-pro", async () => {
    const { api, collect } = await account({ finalize_ms: 0 });
    const created = await createPrediction(api, {
      model: parseModelRef("black-forest-labs/flux-1.1-pro"),
      input: { prompt: "x", aspect_ratio: "custom", width: 512, height: 256, output_format: "png" },
      waitSeconds: 5,
    });
    expect(typeof created.prediction.output).toBe("string");
    const result = await collect(created.prediction);
    expect(sniffImage(await imageBytes(result.images[0]!))).toEqual({ mimeType: "image/png", width: 512, height: 256 });
  });
});

describe("the fake Replicate speaks Replicate's protocol", () => {
  it("answers a bad token with Replicate's exact 401 problem+json", async () => {
    const response = await fetch(`${fake}/v1/predictions/abc`, { headers: { Authorization: "Bearer nope" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toEqual({ title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 });
  });

  it("refuses a version in the body of the model endpoint with 422", async () => {
    const { api } = await account();
    const version = await versionOf(fake, "black-forest-labs/flux-schnell");
    const response = await fetch(`${api.baseUrl}/models/black-forest-labs/flux-schnell/predictions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ version, input }),
    });
    expect(response.status).toBe(422);
  });

  it("answers 201 under Prefer: wait once outputs exist, 202 when the wait runs out first", async () => {
    const { api } = await account({ processing_ms: 400, time_scale: 0.05 });
    const quick = await fetch(`${api.baseUrl}/models/black-forest-labs/flux-schnell/predictions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.token}`, Prefer: "wait=1", "Content-Type": "application/json" },
      body: JSON.stringify({ input }),
    });
    expect(quick.status).toBe(202);
    expect(await quick.json()).toMatchObject({ status: expect.stringMatching(/^(starting|processing)$/), output: null });
    const patient = await fetch(`${api.baseUrl}/models/black-forest-labs/flux-schnell/predictions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.token}`, Prefer: "wait=60", "Content-Type": "application/json" },
      body: JSON.stringify({ input }),
    });
    expect(patient.status).toBe(201);
    expect(((await patient.json()) as { output: unknown }).output).toHaveLength(1);
  });

  it("lists the account's predictions newest first, a page at a time, following next URLs", async () => {
    const { api, token } = await account({ list_page_size: 2 });
    const made: string[] = [];
    for (const seed of [1, 2, 3]) made.push((await createPrediction(api, { model: schnell, input: { ...input, seed } })).prediction.id);
    const list = (url: string) =>
      fetch(url, { headers: { authorization: `Bearer ${token}` } }).then((r) =>
        r.json<{ next: string | null; previous: string | null; results: Prediction[] }>(),
      );
    const first = await list(`${fake}/v1/predictions`);
    expect(first.results.map((p) => p.id)).toEqual([made[2], made[1]]);
    expect(first.previous).toBeNull();
    expect(first.next).toMatch(new RegExp(`^${fake}/v1/predictions\\?cursor=`));
    const second = await list(first.next!);
    expect(second.results.map((p) => p.id)).toEqual([made[0]]);
    expect(second.results[0]!.input).toEqual({ ...input, seed: 1 });
    expect(second.next).toBeNull();
    expect(second.previous).not.toBeNull();
  });

  it("can lose a create's answer after making the prediction", async () => {
    const { api, token } = await account({ next_create: [{ status: 500, after_create: true }] });
    await expect(createPrediction(api, { model: schnell, input })).rejects.toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    const page = await listPredictions(api, null);
    expect(page.results).toHaveLength(1);
    expect(page.results[0]!.input).toEqual(input);
    expect((await requestsOf(fake, token)).filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("validates inputs per model and lists the invalid fields", async () => {
    const { api } = await account();
    const response = await fetch(`${api.baseUrl}/models/black-forest-labs/flux-schnell/predictions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ input: { prompt: "x", num_inference_steps: 8 } }),
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      title: "Input validation failed",
      detail: "- input.num_inference_steps: Must be less than or equal to 4\n",
      status: 422,
      invalid_fields: [{ type: "number_lte", field: "input.num_inference_steps", description: "Must be less than or equal to 4" }],
    });
  });

  it("can drop, duplicate and reorder webhook deliveries on request", async () => {
    const { api, token } = await account({ webhooks: { reorder: true, duplicate: ["completed"], drop: ["start"], retry_delays_ms: [] } });
    await createPrediction(api, { model: schnell, input, webhook: "http://127.0.0.1:9/hook", webhookEventsFilter: ["start", "completed"] });
    const records = await eventually(async () => {
      const all = await webhooksOf(fake, token);
      return all.length === 3 ? all : undefined;
    });
    expect(records.map((r) => [r.event, r.dropped])).toEqual([
      ["completed", false],
      ["completed", false],
      ["start", true],
    ]);
    expect(records[0]!.webhook_id).toBe(records[1]!.webhook_id);
  });
});

// Hand-made signatures and every refusal: test/unit/webhooks/replicate-signature.test.ts.
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
