/**
 * The job's Durable Object with the in-tree mock backends (no async support: the job runs their
 * generate() from its alarm): states, the same result as the sync path, one usage event per
 * attempt along a fallback chain, cancel, the prompt's lifetime, retention.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { generate } from "../../src/core/generate";
import { outcomeBody } from "../../src/core/outcome-body";
import { imageUrlFor } from "../../src/storage/signed-urls";
import type { GenerationJob } from "../../src/jobs/generation-job";
import { testConfig } from "../helpers/config";
import { alice, submitJob } from "../helpers/jobs";
import { manualClock, pipelineWorld } from "../helpers/pipeline";
import { BASE } from "../helpers/world";

const SMALL = { width: 64, height: 64 };

describe("generation job: a backend without async support runs inside the job", () => {
  it("goes submitted → succeeded with the body the sync path answers, images and sidecar in R2", async () => {
    const job = await submitJob({ config: testConfig(), request: { prompt: "a quiet harbour", seed: 9, size: SMALL, n: 2 } });
    expect((await job.stub().view())!.document.status).toMatch(/^(submitted|running|succeeded)$/);

    const done = await job.until((d) => d.status === "succeeded");

    const sync = pipelineWorld();
    const expected = await outcomeBody(
      await generate({ prompt: "a quiet harbour", seed: 9, size: SMALL, n: 2 }, alice, done.request_id, sync.deps),
      imageUrlFor(BASE, null),
    );
    expect(Object.keys(done.result!).sort()).toEqual(Object.keys(expected).sort());
    expect(done.result).toMatchObject({ backend: "mock", model: "mock-png", seed: 9, request_id: done.request_id, failed_attempts: [] });
    expect(done.result!.images.map((i) => [i.width, i.height, i.mime_type, i.bytes])).toEqual(
      expected.images.map((i) => [i.width, i.height, i.mime_type, i.bytes]),
    );
    for (const image of done.result!.images) {
      const sidecar = await env.IMAGES.get(`${image.key}.json`);
      expect(await sidecar!.json()).toMatchObject({ request_id: done.request_id, caller: "alice", request: { prompt: "a quiet harbour", seed: 9 } });
    }
    expect(done).toMatchObject({ status: "succeeded", backend: "mock", error: null, progress: null, callback: null });
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(Date.parse(done.submitted_at));
    expect(Date.parse(done.finished_at!)).toBeGreaterThanOrEqual(Date.parse(done.started_at!));
  });

  it("records one usage event per attempt along the fallback chain, and the failed attempts", async () => {
    const job = await submitJob({ config: testConfig(), request: { prompt: "p", backend: "mock-with-fallback", size: SMALL } });

    const done = await job.until((d) => d.status === "succeeded");

    expect(done.result!.backend).toBe("mock");
    expect(done.result!.failed_attempts.map((a) => [a.backend, a.kind])).toEqual([
      ["mock-with-fallback", "timeout"],
      ["mock-down", "unavailable"],
    ]);
    expect(job.events.map((e) => [e.backend, e.success, e.error_code, e.attempt])).toEqual([
      ["mock-with-fallback", false, "timeout", 1],
      ["mock-down", false, "unavailable", 2],
      ["mock", true, null, 3],
    ]);
    expect(new Set(job.events.map((e) => e.event_id)).size).toBe(3);
    expect(job.events.every((e) => e.request_id === done.request_id && e.caller === "alice")).toBe(true);
  });

  it("fails at once, without falling back, when the backend rejects the request itself", async () => {
    const config = testConfig({
      backends: { ...testConfig().backends, "mock-refuses": { type: "mock", failure_rate: 1, failure_kind: "invalid_request", fallback: ["mock"] } },
    });
    const job = await submitJob({ config, request: { prompt: "p", backend: "mock-refuses", size: SMALL } });

    const failed = await job.until((d) => d.status === "failed");

    expect(failed.error).toEqual({
      type: "urn:imagen-edge:problem:invalid-request",
      title: "Invalid request",
      status: 400,
      detail: 'mock backend "mock-refuses" injected a invalid_request failure',
      backend: "mock-refuses",
      latency_ms: expect.any(Number),
      attempts: [{ backend: "mock-refuses", kind: "invalid_request", detail: expect.any(String), latency_ms: expect.any(Number), cost_exposure: "none" }],
    });
    expect(failed.result).toBeNull();
    expect(job.events).toHaveLength(1);
  });

  it("keeps the prompt only while the job runs: afterwards nothing in its storage holds it", async () => {
    const config = testConfig({ backends: { ...testConfig().backends, slowish: { type: "mock", latency_ms: 300 } } });
    const job = await submitJob({ config, request: { prompt: "Very Private Words", backend: "slowish", size: SMALL } });
    await job.until((d) => d.status === "running");
    expect(await storageText(job.stub())).toContain("Very Private Words");

    await job.until((d) => d.status === "succeeded");

    expect((await job.record()).work).toBeNull();
    expect(await storageText(job.stub())).not.toMatch(/very private words/i);
  });

  it("answers a repeated submit with the same job instead of starting another", async () => {
    const job = await submitJob({ config: testConfig(), request: { prompt: "p", size: SMALL } });
    const done = await job.until((d) => d.status === "succeeded");

    const again = await job.stub().submit(job.submission);

    expect(again.document).toEqual(done);
    expect(job.events).toHaveLength(1);
  });
});

describe("generation job: cancel", () => {
  it("stops a running generation at once: canceled, one failed usage event, no images", async () => {
    const config = testConfig({ backends: { ...testConfig().backends, slow: { type: "mock", latency_ms: 600_000 } } });
    const job = await submitJob({ config, request: { prompt: "p", backend: "slow", size: SMALL } });
    await job.until((d) => d.status === "running");

    const canceled = await job.stub().cancel();

    expect(canceled!.document).toMatchObject({ status: "canceled", result: null, error: null });
    expect(canceled!.document.finished_at).not.toBeNull();
    expect(job.events).toMatchObject([{ backend: "slow", success: false, images_produced: 0, error_message: expect.stringContaining("canceled") }]);
    expect((await job.record()).work).toBeNull();
  });

  it("changes nothing on a job that has already ended", async () => {
    const job = await submitJob({ config: testConfig(), request: { prompt: "p", size: SMALL } });
    const done = await job.until((d) => d.status === "succeeded");

    const after = await job.stub().cancel();

    expect(after!.document).toEqual(done);
    expect(job.events).toHaveLength(1);
  });
});

describe("generation job: logs", () => {
  it("never log the prompt, on success or failure", async () => {
    const lines: string[] = [];
    const spies = (["log", "warn", "error"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" "))),
    );
    try {
      // The suite runs the Worker's console at warn; these jobs log everything, info included.
      const verbose = { LOG_LEVEL: "debug" };
      const ok = await submitJob({ config: testConfig(), secrets: verbose, request: { prompt: "Grandma's Secret Recipe", size: SMALL } });
      const chain = await submitJob({
        config: testConfig(),
        secrets: verbose,
        request: { prompt: "Grandma's Secret Recipe", backend: "mock-with-fallback", size: SMALL },
      });
      const refused = await submitJob({
        config: testConfig(),
        secrets: verbose,
        request: { prompt: "Grandma's Secret Recipe", backend: "mock-refuses", size: SMALL },
      });
      await ok.until((d) => d.status === "succeeded");
      await chain.until((d) => d.status === "succeeded");
      await refused.until((d) => d.status === "failed");
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    expect(lines.some((line) => line.includes('"msg":"job succeeded"'))).toBe(true);
    expect(lines.some((line) => line.includes('"msg":"backend attempt failed"'))).toBe(true);
    expect(lines.join("\n")).not.toMatch(/secret recipe/i);
  });
});

describe("generation job: retention", () => {
  it("keeps a finished job until its retention has passed, then deletes it", async () => {
    const clock = manualClock(Date.now());
    const job = await submitJob({ config: testConfig({ jobs: { retention_days: 1 } }), request: { prompt: "p", size: SMALL }, clock });
    await job.until((d) => d.status === "succeeded");

    clock.advance(23 * 3_600_000);
    await job.forceAlarm();
    expect(await job.stub().view()).not.toBeNull();

    clock.advance(2 * 3_600_000);
    await job.forceAlarm();
    expect(await job.stub().view()).toBeNull();
    expect(await storageText(job.stub())).toBe("{}");
  });
});

/** Everything in the job's storage, as one string. */
async function storageText(stub: DurableObjectStub<GenerationJob>): Promise<string> {
  return runInDurableObject(stub, async (_job: GenerationJob, state) => JSON.stringify(Object.fromEntries(await state.storage.list())));
}
