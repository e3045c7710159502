/**
 * The home box end to end through the pipeline: what the owner's `flux-schnell-local` generations
 * leave behind — images in R2 and one usage event per attempt with the workflow's model and no cost.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { generate } from "../../src/core/generate";
import { readPngSize } from "../../src/backends/image-size";
import { createBox } from "../fakes/comfyui/control";
import { testConfig } from "../helpers/config";
import { pipelineWorld } from "../helpers/pipeline";

const owner = { name: "owner", role: "admin" } as const;

async function homeBoxWorld(extra: Record<string, unknown> = {}) {
  const box = await createBox(inject("fakes").comfyui!, { stepMs: 5 });
  const config = testConfig({
    default_backend: "flux-schnell-local",
    backends: {
      mock: { type: "mock" },
      "flux-schnell-local": { type: "comfyui", base_url: box.url, timeout_s: 600, poll_interval_ms: 200, fallback: ["mock"], ...extra },
    },
  });
  return { box, world: pipelineWorld(config) };
}

describe("flux-schnell-local through the pipeline", () => {
  it("stores the PNG and records backend, the workflow's model, the seed, latency and a cost of 0", async () => {
    const { world } = await homeBoxWorld();
    const started = world.clock.now();
    const outcome = await generate({ prompt: "a lighthouse", n: 1, seed: 1234, size: { width: 512, height: 384 } }, owner, "req-home", world.deps);
    expect(outcome).toMatchObject({ backend: "flux-schnell-local", model: "flux1-schnell-fp8.safetensors", seed: 1234, cost_usd_estimate: 0 });
    const stored = new Uint8Array(await (await env.IMAGES.get(outcome.images[0]!.key))!.arrayBuffer());
    expect(readPngSize(stored)).toEqual({ width: 512, height: 384 });
    expect(world.events).toHaveLength(1);
    expect(world.events[0]).toMatchObject({
      backend: "flux-schnell-local",
      backend_type: "comfyui",
      model: "flux1-schnell-fp8.safetensors",
      seed: 1234,
      success: true,
      cost_usd_estimate: 0,
      price_id: null,
    });
    // Measured on the injected clock: how many polls that took depends on how busy the machine is.
    expect(world.events[0]!.latency_ms).toBe(world.clock.now() - started);
  });

  it("charges a configured per-image rate for local power", async () => {
    const { world } = await homeBoxWorld({ cost_per_image_usd: 0.0015 });
    const outcome = await generate({ prompt: "p", n: 2, seed: 5, size: { width: 256, height: 256 } }, owner, "req-power", world.deps);
    expect(outcome.cost_usd_estimate).toBe(0.003);
    expect(world.events[0]).toMatchObject({ cost_usd_estimate: 0.003, images_produced: 2 });
  });

  it("falls back when the tunnel is down: a failed event for the box, then the fallback's success", async () => {
    const { box, world } = await homeBoxWorld();
    await box.configure({ tunnel: "down" });
    const outcome = await generate({ prompt: "p", n: 1, seed: 9, size: { width: 256, height: 256 } }, owner, "req-down", world.deps);
    expect(outcome.backend).toBe("mock");
    expect(world.events.map((e) => [e.backend, e.success, e.error_code])).toEqual([
      ["flux-schnell-local", false, "unavailable"],
      ["mock", true, null],
    ]);
    expect(world.events[0]!.error_message).toContain("home ComfyUI unreachable");
  });
});
