/**
 * A finished job is POSTed to its `callback_url`, signed the Standard Webhooks way, retried with
 * exponential backoff by the job's alarm, the outcome visible in the job document. The receiver
 * is a real HTTP server (test/fakes/receiver) that records deliveries and fails as scripted.
 */
import { describe, expect, inject, it } from "vitest";
import { Webhook } from "standardwebhooks";
import type { JobDocument } from "../../src/jobs/job-document";
import { newInbox } from "../fakes/receiver/control";
import { testConfig } from "../helpers/config";
import { submitJob } from "../helpers/jobs";
import { manualClock } from "../helpers/pipeline";

const receiver = inject("fakes").receiver!;
/** What the job document says about any failed delivery: never the receiver's status or error text. */
const RECEIVER_REFUSED = "not delivered: the receiver did not accept it (no 2xx answer)";
const SECRET = `whsec_${btoa("callback-signing-key-for-tests-32b")}`;
const SMALL = { width: 64, height: 64 };

/** The receiver listens on loopback: deliveries there need the local-development switch. */
function localConfig(jobs: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) {
  return testConfig({ ...overrides, jobs: { allow_loopback_callbacks: true, ...jobs } });
}

describe("job callbacks", () => {
  it("POSTs the finished job, signed; retries failures with backoff until delivered; shows the outcome", async () => {
    const inbox = await newInbox(receiver, { fail_first: 2, fail_status: 503 });
    const clock = manualClock(Date.now());
    const job = await submitJob({
      config: localConfig({ callback_retry_base_s: 10 }),
      request: { prompt: "p", size: SMALL },
      secrets: { IMAGEN_CALLBACK_SECRET: SECRET },
      callbackUrl: inbox.url,
      clock,
    });

    const first = await job.until((d) => (d.callback?.attempts ?? 0) >= 1, "a first callback try");
    expect(first).toMatchObject({ status: "succeeded", callback: { status: "pending", attempts: 1 } });
    expect(Date.parse(first.callback!.next_attempt_at!) - clock.now()).toBe(10_000);

    clock.advance(10_000);
    await job.forceAlarm();
    const second = await job.document();
    expect(second.callback).toMatchObject({ status: "pending", attempts: 2, last_error: RECEIVER_REFUSED });
    // The target's own status is never echoed back (that would make jobs a port and status scanner).
    // Not a substring check of the whole document: a random seed or timestamp may contain "503".
    expect(second.callback).not.toHaveProperty("last_status");
    expect(Object.values(second.callback!)).not.toContain(503);
    expect(Date.parse(second.callback!.next_attempt_at!) - clock.now()).toBe(20_000);

    clock.advance(20_000);
    await job.forceAlarm();
    const delivered = await job.document();
    expect(delivered.callback).toMatchObject({ url: inbox.url, status: "delivered", attempts: 3, last_error: null, next_attempt_at: null });

    const deliveries = await inbox.deliveries();
    expect(deliveries.map((d) => d.status)).toEqual([503, 503, 204]);
    expect(new Set(deliveries.map((d) => d.headers["webhook-id"]))).toEqual(new Set([`job_${job.id}`]));
    const last = deliveries[2]!;
    const verified = new Webhook(SECRET).verify(last.body, last.headers) as JobDocument;
    expect(verified).toMatchObject({ id: job.id, status: "succeeded", status_url: `http://imagen.test/v1/jobs/${job.id}` });
    expect(verified.result!.images).toHaveLength(1);
    // The sidecar holds the prompt: its signed link stays with the key holder (the job document).
    expect(verified.result!.images[0]!.sidecar_url).toBeNull();
    expect(delivered.result!.images[0]!.sidecar_url).toMatch(/sig=/);
    expect(verified).not.toHaveProperty("callback");
    expect(last.body).not.toContain('"prompt"');
    expect(() => new Webhook(`whsec_${btoa("some-other-secret-of-32-bytes!!!")}`).verify(last.body, last.headers)).toThrow();
  });

  it("gives up after callback_max_attempts and says so; the job itself stays succeeded", async () => {
    const inbox = await newInbox(receiver, { fail_first: 99, fail_status: 500 });
    const clock = manualClock(Date.now());
    const job = await submitJob({
      config: localConfig({ callback_max_attempts: 2 }),
      request: { prompt: "p", size: SMALL },
      secrets: { IMAGEN_CALLBACK_SECRET: SECRET },
      callbackUrl: inbox.url,
      clock,
    });
    await job.until((d) => (d.callback?.attempts ?? 0) >= 1, "a first callback try");

    clock.advance(60_000);
    await job.forceAlarm();

    expect(await job.document()).toMatchObject({
      status: "succeeded",
      callback: { status: "failed", attempts: 2, last_error: RECEIVER_REFUSED, next_attempt_at: null },
    });
    expect(await inbox.deliveries()).toHaveLength(2);
  });

  it("does not follow a redirect: a 3xx is a failed try", async () => {
    const inbox = await newInbox(receiver, { fail_first: 1, fail_status: 302 });
    const job = await submitJob({
      config: localConfig(),
      request: { prompt: "p", size: SMALL },
      secrets: { IMAGEN_CALLBACK_SECRET: SECRET },
      callbackUrl: inbox.url,
    });

    const tried = await job.until((d) => (d.callback?.attempts ?? 0) >= 1, "a first callback try");

    expect(tried.callback).toMatchObject({ status: "pending", last_error: RECEIVER_REFUSED });
    expect(await inbox.deliveries()).toHaveLength(1);
  });

  it("reports a missing signing secret as the callback's error instead of sending unsigned", async () => {
    const inbox = await newInbox(receiver);
    const job = await submitJob({
      config: localConfig(),
      request: { prompt: "p", size: SMALL },
      callbackUrl: inbox.url,
      secrets: { IMAGEN_CALLBACK_SECRET: "" },
    });

    const tried = await job.until((d) => (d.callback?.attempts ?? 0) >= 1, "a first callback try");

    expect(tried.callback!.last_error).toMatch(/IMAGEN_CALLBACK_SECRET/);
    expect(await inbox.deliveries()).toHaveLength(0);
  });

  it("also reports a canceled job", async () => {
    const inbox = await newInbox(receiver);
    const config = localConfig({}, { backends: { ...testConfig().backends, slow: { type: "mock", latency_ms: 600_000 } } });
    const job = await submitJob({
      config,
      request: { prompt: "p", backend: "slow", size: SMALL },
      secrets: { IMAGEN_CALLBACK_SECRET: SECRET },
      callbackUrl: inbox.url,
    });
    await job.until((d) => d.status === "running");

    await job.stub().cancel();
    await job.until((d) => d.callback?.status === "delivered", "the callback delivered");

    const [delivery] = await inbox.deliveries();
    expect(JSON.parse(delivery!.body)).toMatchObject({ id: job.id, status: "canceled" });
  });
});

describe("job callbacks to a target the deployment does not allow", () => {
  it("sends nothing to loopback without the local-development switch, and says so in the job", async () => {
    const inbox = await newInbox(receiver);
    const job = await submitJob({
      config: testConfig(),
      request: { prompt: "p", size: SMALL },
      secrets: { IMAGEN_CALLBACK_SECRET: SECRET },
      callbackUrl: inbox.url,
    });

    const tried = await job.until((d) => (d.callback?.attempts ?? 0) >= 1, "a first callback try");

    expect(tried.callback!.last_error).toMatch(/loopback.*allow_loopback_callbacks/);
    expect(await inbox.deliveries()).toHaveLength(0);
  });
});
