/**
 * Async jobs on the ComfyUI backend, against the fake ComfyUI box: `GET /v1/jobs/{id}` reports
 * the queue position while the job waits and the sampler step (x of y, from ComfyUI's websocket,
 * held open by the job's Durable Object) while it runs. Each test has its own box.
 */
import { describe, expect, inject, it } from "vitest";
import type { JobDocument } from "../../src/jobs/job-document";
import { createBox, type FakeComfyBox } from "../fakes/comfyui/control";
import { eventually } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { appWithConfig, bearer, postJson, seedKey } from "../helpers/world";

const FAKE = inject("fakes").comfyui!;

async function comfyWorld(box: FakeComfyBox) {
  const key = await seedKey("owner");
  const app = appWithConfig(
    testConfig({ default_backend: "box", backends: { ...testConfig().backends, box: { type: "comfyui", base_url: box.url, poll_interval_ms: 20 } } }),
  );
  const read = async (id: string) => (await app.call(`/v1/jobs/${id}`, { headers: bearer(key) })).json<JobDocument>();
  return {
    submit: async () => {
      const response = await app.call(
        "/v1/images",
        postJson("/v1/images", key, { prompt: "a fox in snow", seed: 11, size: "64x64" }, { prefer: "respond-async" }),
      );
      expect(response.status).toBe(202);
      return (await response.json<JobDocument>()).id;
    },
    read,
    until: (id: string, check: (d: JobDocument) => boolean) =>
      eventually(async () => {
        const document = await read(id);
        return check(document) ? document : undefined;
      }),
    cancel: (id: string) => app.call(`/v1/jobs/${id}`, { method: "DELETE", headers: bearer(key) }),
  };
}

/** Someone else's quick job, queued straight at the box. */
async function queueOtherJob(box: FakeComfyBox): Promise<void> {
  const response = await fetch(`${box.url}/prompt`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      prompt: {
        "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        "2": { class_type: "SaveImage", inputs: { filename_prefix: "other", images: ["1", 0] } },
      },
    }),
  });
  expect(response.status).toBe(200);
}

describe("comfyui async jobs: progress", () => {
  it("shows the queue position while waiting, then sampler step x of y, then the result", async () => {
    const box = await createBox(FAKE, { paused: true, stepMs: 120 });
    const world = await comfyWorld(box);
    await queueOtherJob(box);
    const id = await world.submit();

    const queued = await world.until(id, (d) => d.progress?.state === "queued");
    expect(queued).toMatchObject({ status: "running", backend: "box", progress: { state: "queued", queue_position: 1 } });

    await box.configure({ paused: false });
    const stepping = await world.until(id, (d) => d.progress?.step !== undefined);
    expect(stepping.progress).toMatchObject({ state: "running", steps: 4 });
    expect(stepping.progress!.step).toBeGreaterThanOrEqual(1);
    expect(stepping.progress!.step).toBeLessThanOrEqual(4);

    const done = await world.until(id, (d) => d.status === "succeeded");
    expect(done.progress).toBeNull();
    expect(done.result).toMatchObject({ backend: "box", seed: 11, images: [{ width: 64, height: 64, mime_type: "image/png" }] });
  });

  it("fails a job the box lost (ComfyUI restarted) as unavailable, naming the prompt", async () => {
    const box = await createBox(FAKE, { paused: true });
    const world = await comfyWorld(box);
    const id = await world.submit();
    await world.until(id, (d) => d.progress?.state === "queued");
    const [promptId] = (await box.state()).pending;

    await box.restart();
    const failed = await world.until(id, (d) => d.status === "failed");

    expect(failed.error).toMatchObject({
      type: "urn:imagen-edge:problem:backend-unavailable",
      status: 502,
      external_id: promptId,
      detail: expect.stringContaining("ComfyUI lost the job"),
    });
  });

  it("a canceled job is removed from the box's queue", async () => {
    const box = await createBox(FAKE, { paused: true });
    const world = await comfyWorld(box);
    const id = await world.submit();
    await world.until(id, (d) => d.progress?.state === "queued");
    expect((await box.state()).pending).toHaveLength(1);

    const canceled = await world.cancel(id);

    expect(canceled.status).toBe(200);
    expect((await canceled.json<JobDocument>()).status).toBe("canceled");
    expect((await box.state()).pending).toEqual([]);
  });
});
