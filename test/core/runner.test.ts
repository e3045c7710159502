/**
 * The runner's promises that span a whole request, against the fake ComfyUI and Replicate:
 * a caller that hangs up stops the provider's work and nothing falls back for it; a provider
 * that cannot be asked for a moment is asked again until the deadline.
 */
import { describe, expect, inject, it } from "vitest";
import { GenerationFailedError } from "../../src/core/errors";
import { generate } from "../../src/core/generate";
import { systemClock } from "../../src/lib/clock";
import { createBox, type FakeComfyBox } from "../fakes/comfyui/control";
import { eventually, newToken, requestsOf, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { pipelineWorld } from "../helpers/pipeline";
import { allKeys } from "../helpers/world";

const owner = { name: "owner", role: "admin" } as const;
const SMALL = { width: 256, height: 256 };

/** The home box with the mock as its fallback, on real time (the fakes run on real timers). */
async function homeBox() {
  const box = await createBox(inject("fakes").comfyui!, { stepMs: 5, paused: true });
  const config = testConfig({
    default_backend: "home",
    backends: { mock: { type: "mock" }, home: { type: "comfyui", base_url: box.url, timeout_s: 120, poll_interval_ms: 50, fallback: ["mock"] } },
  });
  const world = pipelineWorld(config, { clock: systemClock });
  return { box, world };
}

const queued = (box: FakeComfyBox) => eventually(async () => ((await box.state()).pending.length > 0 ? true : undefined), { everyMs: 10 });

async function rejection(promise: Promise<unknown>): Promise<GenerationFailedError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GenerationFailedError);
  return error as GenerationFailedError;
}

describe("a caller that hangs up", () => {
  it("takes its job off the home box, ledgers the attempt as canceled and runs no fallback", async () => {
    const { box, world } = await homeBox();
    const before = await allKeys();
    const caller = new AbortController();

    const running = generate({ prompt: "p", n: 1, seed: 3, size: SMALL }, owner, "req-gone", world.deps, { signal: caller.signal });
    await queued(box);
    caller.abort(new DOMException("the client closed the connection", "AbortError"));
    const error = await rejection(running);

    expect(error.last.kind).toBe("canceled");
    expect((await box.state()).pending).toEqual([]);
    expect(world.events.map((e) => [e.backend, e.success, e.error_code])).toEqual([["home", false, "canceled"]]);
    expect(world.events[0]!.external_id).not.toBeNull();
    expect(world.events[0]!.latency_ms).toBeGreaterThan(0);
    expect(await allKeys()).toEqual(before);
  });

  it("cancels its Replicate prediction and runs no fallback", async () => {
    const fake = inject("fakes").replicate!;
    const token = newToken();
    await setScenario(fake, token, { outcome: "hang", time_scale: 0.01 });
    const config = testConfig({
      default_backend: "flux",
      backends: {
        mock: { type: "mock" },
        flux: {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fake}/v1`,
          delivery_hosts: ["127.0.0.1"],
          wait_s: 1,
          poll_interval_ms: 50,
          fallback: ["mock"],
        },
      },
    });
    const world = pipelineWorld(config, { clock: systemClock, secrets: { REPLICATE_API_TOKEN: token } });
    const caller = new AbortController();

    const running = generate({ prompt: "p", n: 1, seed: 3, size: SMALL }, owner, "req-gone-r", world.deps, { signal: caller.signal });
    const created = await eventually(async () => (await requestsOf(fake, token)).find((r) => r.method === "GET" && r.path.startsWith("/v1/predictions/")), {
      everyMs: 10,
    });
    caller.abort();
    const error = await rejection(running);

    expect(error.last.kind).toBe("canceled");
    const id = created.path.split("/").at(-1)!;
    expect((await requestsOf(fake, token)).some((r) => r.method === "POST" && r.path === `/v1/predictions/${id}/cancel`)).toBe(true);
    expect(world.events.map((e) => [e.backend, e.error_code, e.external_id])).toEqual([["flux", "canceled", id]]);
  });
});

describe("a provider that cannot be asked for a moment", () => {
  it("does not fail a sync home-box generation over a one-second tunnel drop: the box's image, nothing generated twice", async () => {
    const { box, world } = await homeBox();

    const running = generate({ prompt: "p", n: 1, seed: 4, size: SMALL }, owner, "req-drop", world.deps);
    await queued(box);
    await box.configure({ tunnel: "down" });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await box.configure({ tunnel: "up", paused: false });
    const outcome = await running;

    expect(outcome.backend).toBe("home");
    expect(world.events.map((e) => [e.backend, e.success])).toEqual([["home", true]]);
  });
});
