/**
 * Async jobs on the Replicate backend, against the fake Replicate: the prediction is created with
 * our webhook, the fake's signed deliveries (read back from `GET /__fake/webhooks`) are replayed
 * into our webhook route in any order, duplicated, forged or stale, and the job's alarm is the
 * poll fallback. Each test has its own fake account (token, webhook secret).
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import type { GenerationJob } from "../../src/jobs/generation-job";
import type { DeliveryRecord, Scenario } from "../fakes/replicate/control";
import { eventually, newToken, requestsOf, setScenario, webhooksOf } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { submitJob, type SubmittedJob } from "../helpers/jobs";
import { manualClock } from "../helpers/pipeline";
import { allKeys, appWithConfig, postJson, seedKey } from "../helpers/world";
import { signV1 } from "../helpers/webhook-signing";

const fake = inject("fakes").replicate!;
const SMALL = { width: 512, height: 512 };

async function replicateWorld(
  scenario: Scenario = {},
  options: { webhookSecret?: boolean; instance?: Record<string, unknown>; jobs?: Record<string, unknown>; clock?: ReturnType<typeof manualClock> } = {},
) {
  const token = newToken();
  await setScenario(fake, token, {
    starting_ms: 10,
    processing_ms: 30,
    finalize_ms: 0,
    ...scenario,
    // Our webhook URL (http://imagen.test/…) is unreachable from the fake: no point in retrying.
    webhooks: { retry_delays_ms: [], ...scenario.webhooks },
  });
  const secretAnswer = await fetch(`${fake}/v1/webhooks/default/secret`, { headers: { authorization: `Bearer ${token}` } });
  const webhookSecret = (await secretAnswer.json<{ key: string }>()).key;
  const secrets: Record<string, string> = {
    REPLICATE_API_TOKEN: token,
    ...(options.webhookSecret !== false && { REPLICATE_WEBHOOK_SECRET: webhookSecret }),
  };
  const config = testConfig({
    default_backend: "flux",
    backends: {
      ...testConfig().backends,
      flux: {
        type: "replicate",
        model: "black-forest-labs/flux-schnell",
        base_url: `${fake}/v1`,
        delivery_hosts: ["127.0.0.1"],
        poll_interval_ms: 20,
        ...options.instance,
      },
    },
    ...(options.jobs && { jobs: options.jobs }),
  });
  const app = appWithConfig(config, secrets);
  return {
    token,
    webhookSecret,
    submit: (prompt = "a lighthouse at dusk", origin?: string) =>
      submitJob({ config, request: { prompt, seed: 42, size: SMALL }, secrets, ...(options.clock && { clock: options.clock }), ...(origin && { origin }) }),
    /** Every delivery the fake made for `event` (its attempts, drops included), once it made one. */
    deliveries: (event: DeliveryRecord["event"]) =>
      eventually(async () => {
        const found = (await webhooksOf(fake, token)).filter((d) => d.event === event);
        return found.length > 0 ? found : undefined;
      }),
    /** POST a delivery to our webhook route, exactly as recorded (or with headers changed). */
    replay: (delivery: DeliveryRecord, headers: Record<string, string> = {}) => {
      const url = new URL(delivery.url);
      return app.call(url.pathname + url.search, { method: "POST", headers: { ...delivery.headers, ...headers }, body: delivery.body });
    },
    requests: () => requestsOf(fake, token),
    /** A sync `POST /v1/images` on the same config and account. */
    generateNow: async (prompt = "a lighthouse at dusk") =>
      app.call("/v1/images", postJson("/v1/images", await seedKey("alice"), { prompt, seed: 42, size: "512x512" })),
  };
}

async function outcomeOf(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  return (await response.json<{ outcome: string }>()).outcome;
}

/** An untouched job: nothing queued, nothing seen, still waiting for its provider. */
async function expectUntouched(job: SubmittedJob, before: Awaited<ReturnType<SubmittedJob["record"]>>) {
  expect(await job.record()).toEqual(before);
  const keys = await runKeys(job);
  expect(keys.filter((k) => k.startsWith("seen:") || k === "inbox")).toEqual([]);
}

async function runKeys(job: SubmittedJob): Promise<string[]> {
  return runInDurableObject(job.stub(), async (_instance, state) => [...(await state.storage.list()).keys()]);
}

const submitted = (job: SubmittedJob) => eventually(async () => ((await job.record()).chain.attempt?.submission ? true : undefined));

describe("replicate: the same failure, the same answer, sync or async", () => {
  // Cancel-After 5 s (the minimum) passes in 25 ms at this time scale, while the model still boots.
  const stoppedByCancelAfter = { starting_ms: 10_000, time_scale: 0.005 };

  it("a prediction its Cancel-After stopped is a timeout (504) on the sync path", async () => {
    const world = await replicateWorld(stoppedByCancelAfter, { webhookSecret: false, instance: { timeout_s: 5 } });
    const response = await world.generateNow();
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ type: "urn:imagen-edge:problem:backend-timeout", attempts: [{ backend: "flux", kind: "timeout" }] });
  });

  it("a prediction its Cancel-After stopped is a timeout (504) on the async path", async () => {
    const world = await replicateWorld(stoppedByCancelAfter, { webhookSecret: false, instance: { timeout_s: 5 } });
    const job = await world.submit();
    const failed = await job.until((d) => d.status === "failed", "failed");
    expect(failed.error).toMatchObject({ type: "urn:imagen-edge:problem:backend-timeout", status: 504, attempts: [{ backend: "flux", kind: "timeout" }] });
    expect(job.events.map((e) => e.error_code)).toEqual(["timeout"]);
  });

  it("a rejected input keeps Replicate's invalid_fields on the job's error, as on the sync answer", async () => {
    const world = await replicateWorld({}, { webhookSecret: false, instance: { extra_input: { output_quality: 150 } } });
    const invalidFields = [{ type: "number_lte", field: "input.output_quality", description: "Must be less than or equal to 100" }];

    const sync = await world.generateNow();
    expect(sync.status).toBe(400);
    expect(await sync.json()).toMatchObject({ invalid_fields: invalidFields });

    const job = await world.submit();
    const failed = await job.until((d) => d.status === "failed", "failed");
    expect(failed.error).toMatchObject({ type: "urn:imagen-edge:problem:invalid-request", status: 400, invalid_fields: invalidFields });
  });
});

describe("replicate async jobs: submission", () => {
  it("creates the prediction without waiting, with our webhook URL (job and attempt ids in it) and events start + completed", async () => {
    const world = await replicateWorld();
    const job = await world.submit();
    await submitted(job);
    const attemptId = (await job.record()).chain.attempt!.eventId;

    const create = (await world.requests()).find((r) => r.method === "POST" && r.path.endsWith("/predictions"))!;
    expect(create.headers.prefer).toBeUndefined();
    expect(create.headers["cancel-after"]).toBe("60s");
    expect(create.body).toMatchObject({
      webhook: `http://imagen.test/v1/webhooks/replicate?job=${job.id}&backend=flux&attempt=${attemptId}`,
      webhook_events_filter: ["start", "completed"],
    });
    expect((await job.document()).status).toBe("running");
  });

  it("without a webhook secret asks for no webhooks and finishes by polling", async () => {
    const world = await replicateWorld({}, { webhookSecret: false });
    const job = await world.submit();

    const done = await job.until((d) => d.status === "succeeded", "succeeded by polling");

    const create = (await world.requests()).find((r) => r.method === "POST" && r.path.endsWith("/predictions"))!;
    expect(create.body).not.toHaveProperty("webhook");
    expect((await world.requests()).filter((r) => r.method === "GET" && r.path.startsWith("/v1/predictions/")).length).toBeGreaterThan(0);
    expect(done.result!.images).toHaveLength(1);
    expect(job.events).toHaveLength(1);
  });

  it("asks for no webhooks when our public URL is loopback (wrangler dev without a tunnel) and polls instead", async () => {
    const world = await replicateWorld();
    const job = await world.submit("p", "http://127.0.0.1:8787");

    await job.until((d) => d.status === "succeeded", "succeeded by polling");

    const create = (await world.requests()).find((r) => r.method === "POST" && r.path.endsWith("/predictions"))!;
    expect(create.body).not.toHaveProperty("webhook");
  });
});

describe("replicate async jobs: webhooks", () => {
  it("a verified completed webhook finishes the job: images copied to R2, one usage event, the sync 201 body", async () => {
    const world = await replicateWorld();
    const job = await world.submit();
    const [completed] = await world.deliveries("completed");

    expect(await outcomeOf(await world.replay(completed!))).toBe("accepted");
    const done = await job.until((d) => d.status === "succeeded");

    expect(done.result).toMatchObject({ backend: "flux", model: "black-forest-labs/flux-schnell", seed: 42, failed_attempts: [] });
    const [image] = done.result!.images;
    expect(image).toMatchObject({ width: 512, height: 512, mime_type: "image/png" });
    expect(image!.url).toMatch(/^http:\/\/imagen\.test\/v1\/images\/[^?]+\?exp=\d+&sig=[\w-]+$/);
    expect(new URL(image!.url).pathname).toBe(`/v1/images/${encodeURIComponent(image!.key)}`);
    expect(await env.IMAGES.head(image!.key)).not.toBeNull();
    expect(job.events).toHaveLength(1);
    expect(job.events[0]).toMatchObject({ success: true, backend: "flux", external_id: JSON.parse(completed!.body).id, attempt: 1 });
    expect(done.finished_at).not.toBeNull();
  });

  it("refuses a forged signature with 401 and leaves the job untouched", async () => {
    const world = await replicateWorld();
    const job = await world.submit();
    const [completed] = await world.deliveries("completed");
    const before = await job.record();

    const forged = await world.replay(completed!, { "webhook-signature": `v1,${btoa("f".repeat(32))}` });

    expect(forged.status).toBe(401);
    expect(forged.headers.get("content-type")).toBe("application/problem+json");
    expect(await forged.json()).toMatchObject({ type: "urn:imagen-edge:problem:unauthorized", status: 401 });
    await expectUntouched(job, before);
    // The forgery did not poison the delivery id: the real one still counts.
    expect(await outcomeOf(await world.replay(completed!))).toBe("accepted");
    await job.until((d) => d.status === "succeeded");
  });

  it("refuses a correctly signed replay outside the 5-minute tolerance with 401 and leaves the job untouched", async () => {
    const world = await replicateWorld();
    const job = await world.submit();
    const [completed] = await world.deliveries("completed");
    const before = await job.record();
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const signature = await signV1(world.webhookSecret, completed!.webhook_id, stale, completed!.body);

    const replayed = await world.replay(completed!, { "webhook-timestamp": String(stale), "webhook-signature": signature });

    expect(replayed.status).toBe(401);
    expect((await replayed.json<{ detail: string }>()).detail).toMatch(/within 5 minutes/);
    await expectUntouched(job, before);
  });

  it("applies a duplicated terminal webhook once: one usage event, one image", async () => {
    const world = await replicateWorld({ webhooks: { duplicate: ["completed"] } });
    const job = await world.submit();
    const copies = await eventually(async () => {
      const found = (await webhooksOf(fake, world.token)).filter((d) => d.event === "completed");
      return found.length === 2 ? found : undefined;
    });
    expect(copies[0]!.webhook_id).toBe(copies[1]!.webhook_id);

    const answers = [await outcomeOf(await world.replay(copies[0]!)), await outcomeOf(await world.replay(copies[1]!))];
    const done = await job.until((d) => d.status === "succeeded");
    // A third, late copy of the same delivery after the job finished.
    expect(await outcomeOf(await world.replay(copies[0]!))).toBe("duplicate");

    expect(answers).toEqual(["accepted", "duplicate"]);
    expect(job.events).toHaveLength(1);
    expect(done.result!.images).toHaveLength(1);
    expect(await objectsOf(done.request_id)).toEqual([done.result!.images[0]!.key, `${done.result!.images[0]!.key}.json`].sort());
  });

  it("takes deliveries out of order: completed first finishes the job, the later start changes nothing", async () => {
    const world = await replicateWorld({ webhooks: { reorder: true } });
    const job = await world.submit();
    await world.deliveries("start");
    const all = await webhooksOf(fake, world.token);
    expect(all.map((d) => d.event)).toEqual(["completed", "start"]);

    expect(await outcomeOf(await world.replay(all[0]!))).toBe("accepted");
    const done = await job.until((d) => d.status === "succeeded");
    expect(await outcomeOf(await world.replay(all[1]!))).toBe("ignored");

    expect(await job.document()).toEqual(done);
    expect(job.events).toHaveLength(1);
  });

  it("a start webhook shows the prediction's state as progress without finishing the job", async () => {
    const world = await replicateWorld({ outcome: "hang" });
    const job = await world.submit();
    const [start] = await world.deliveries("start");
    expect(JSON.parse(start!.body).status).toBe("starting");
    expect((await job.document()).progress).toBeNull();

    expect(await outcomeOf(await world.replay(start!))).toBe("accepted");
    const waiting = await job.until((d) => d.progress !== null, "progress shown");

    expect(waiting).toMatchObject({ status: "running", progress: { state: "queued" }, result: null });
    expect(job.events).toHaveLength(0);
  });

  it("a failed prediction's webhook fails the job with Replicate's error and one failed usage event", async () => {
    const world = await replicateWorld({ outcome: "failed", error: "NSFW content detected" });
    const job = await world.submit();
    const [completed] = await world.deliveries("completed");

    await world.replay(completed!);
    const failed = await job.until((d) => d.status === "failed");

    expect(failed.error).toMatchObject({
      type: "urn:imagen-edge:problem:backend-failed",
      status: 502,
      backend: "flux",
      detail: expect.stringContaining("NSFW content detected"),
    });
    expect(job.events).toMatchObject([{ success: false, error_code: "failed" }]);
  });
});

describe("replicate async jobs: the alarm is the fallback", () => {
  it("a webhook that arrives before the poll finishes the job; the poll then changes nothing", async () => {
    const world = await replicateWorld();
    const job = await world.submit();
    const [completed] = await world.deliveries("completed");
    await world.replay(completed!);
    const done = await job.until((d) => d.status === "succeeded");
    const keysBefore = await allKeys();

    await job.forceAlarm();

    expect(await job.document()).toEqual(done);
    expect(job.events).toHaveLength(1);
    expect(await allKeys()).toEqual(keysBefore);
  });

  it("a lost webhook: the alarm polls Replicate and finishes the job; the webhook arriving later is ignored", async () => {
    const world = await replicateWorld({ webhooks: { drop: ["completed"] } });
    const job = await world.submit();
    const [lost] = await world.deliveries("completed");
    expect(lost!.dropped).toBe(true);
    expect((await job.document()).status).toBe("running");

    await job.forceAlarm();
    const done = await job.until((d) => d.status === "succeeded");
    expect(await outcomeOf(await world.replay(lost!))).toBe("ignored");

    expect(done.result!.images).toHaveLength(1);
    expect(job.events).toHaveLength(1);
    expect(await job.document()).toEqual(done);
  });

  it("past the deadline plus grace and still running: cancels it at Replicate and times the attempt out, without falling back after Replicate took the work", async () => {
    const clock = manualClock(Date.now());
    const world = await replicateWorld({ outcome: "hang" }, { clock, instance: { timeout_s: 60, fallback: ["mock"] }, jobs: { deadline_grace_s: 30 } });
    const job = await world.submit();
    await submitted(job);
    clock.advance(59_000);
    await job.forceAlarm();
    expect((await job.document()).status).toBe("running");

    clock.advance(32_000);
    await job.forceAlarm();
    const done = await job.until((d) => d.status === "failed", "failed at its deadline");

    expect(done.error).toMatchObject({ type: "urn:imagen-edge:problem:backend-timeout" });
    expect((await world.requests()).filter((r) => r.path.endsWith("/cancel"))).toHaveLength(1);
    expect(job.events.map((e) => [e.backend, e.success, e.error_code])).toEqual([["flux", false, "timeout"]]);
  });

  it("survives an eviction: a fresh instance picks the job up from storage and finishes it", async () => {
    const world = await replicateWorld({ webhooks: { drop: ["completed"] } });
    const job = await world.submit();
    await world.deliveries("completed");
    const before = await job.document();

    await evictDurableObject(job.stub());
    expect(await job.document()).toEqual(before);
    await job.forceAlarm();
    const done = await job.until((d) => d.status === "succeeded");

    expect(done.result!.images).toHaveLength(1);
    expect(job.events).toHaveLength(1);
  });
});

describe("replicate async jobs: a job that cannot go on", () => {
  it("is failed (internal) once the runtime's alarm retries are spent, instead of running forever", async () => {
    const world = await replicateWorld({ outcome: "hang" });
    const job = await world.submit();
    await submitted(job);
    // Its stored config snapshot no longer parses, so every step now throws.
    await runInDurableObject(job.stub(), async (_job: GenerationJob, state) => {
      const record = (await state.storage.get<Record<string, unknown>>("job"))!;
      await state.storage.put("job", { ...record, config: { default_backend: 42 } });
    });
    // A fresh instance reads the broken snapshot (a live one keeps the services it built).
    await evictDurableObject(job.stub());
    const alarm = (retryCount: number) =>
      runInDurableObject(job.stub(), (instance: GenerationJob) => instance.alarm({ retryCount, isRetry: retryCount > 0, scheduledTime: Date.now() }));

    await expect(alarm(1)).rejects.toThrow(/IMAGEN_CONFIG/);
    expect((await job.document()).status).toBe("running");
    await alarm(5);

    expect(await job.document()).toMatchObject({
      status: "failed",
      error: { type: "urn:imagen-edge:problem:internal", status: 500, detail: expect.stringContaining("the job could not continue"), backend: "flux" },
    });
    expect((await job.record()).work).toBeNull();
  });
});

/** R2 keys written for a request (object metadata carries the request id). */
async function objectsOf(requestId: string): Promise<string[]> {
  const listed = await env.IMAGES.list({ include: ["customMetadata"] });
  return listed.objects
    .filter((o) => o.customMetadata?.request_id === requestId)
    .map((o) => o.key)
    .sort();
}
