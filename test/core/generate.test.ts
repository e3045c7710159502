import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GenerationFailedError, InvalidRequestError, OutputConflictError } from "../../src/core/errors";
import { generate } from "../../src/core/generate";
import { sha256Hex } from "../../src/lib/hash";
import { usd } from "../../src/lib/money";
import { readPngSize } from "../../src/backends/image-size";
import { testConfig } from "../helpers/config";
import { pipelineWorld } from "../helpers/pipeline";
import { allKeys } from "../helpers/world";

const alice = { name: "alice", role: "user" } as const;

describe("generate()", () => {
  it("yields exactly one usage event for a successful attempt, with the prompt's hash and never the prompt", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "Secret Prompt Words", n: 2, seed: 5, source: "webhook" }, alice, "req-1", world.deps);
    expect(outcome.images).toHaveLength(2);
    expect(world.events).toHaveLength(1);
    const [event] = world.events;
    expect(event).toMatchObject({
      request_id: "req-1",
      caller: "alice",
      source: "webhook",
      backend: "mock",
      backend_type: "mock",
      model: "mock-png",
      seed: 5,
      width: 1024,
      height: 1024,
      images_requested: 2,
      images_produced: 2,
      cost_usd_estimate: 0,
      success: true,
      error_code: null,
      attempt: 1,
    });
    expect(event!.prompt_hash).toBe(await sha256Hex("Secret Prompt Words"));
    expect(JSON.stringify(world.events)).not.toMatch(/secret prompt/i);
    expect(world.logs.join("\n")).not.toMatch(/secret prompt/i);
  });

  it("draws a random seed when none (or 0) is given and reports it", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "p", n: 1, seed: 0 }, alice, "r", world.deps);
    expect(outcome.seed).toBe(777);
    expect(world.events[0]!.seed).toBe(777);
  });

  it("falls back along the chain: one failed event per failed attempt, then the success", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "p", n: 1, backend: "mock-with-fallback" }, alice, "r", world.deps);
    expect(outcome.backend).toBe("mock");
    expect(outcome.failed_attempts.map((a) => [a.backend, a.kind])).toEqual([
      ["mock-with-fallback", "timeout"],
      ["mock-down", "unavailable"],
    ]);
    expect(world.events.map((e) => [e.backend, e.success, e.error_code, e.attempt])).toEqual([
      ["mock-with-fallback", false, "timeout", 1],
      ["mock-down", false, "unavailable", 2],
      ["mock", true, null, 3],
    ]);
    expect(world.events.map((e) => e.cost_usd_estimate)).toEqual([0, 0, 0]);
    expect(new Set(world.events.map((e) => e.event_id)).size).toBe(3);
  });

  it("does not fall back when the provider rejected the request itself", async () => {
    const world = pipelineWorld(
      testConfig({
        backends: { ...testConfig().backends, "mock-refuses": { type: "mock", failure_rate: 1, failure_kind: "invalid_request", fallback: ["mock"] } },
      }),
    );
    const failure = await generate({ prompt: "p", n: 1, backend: "mock-refuses" }, alice, "r", world.deps).catch((e) => e);
    expect(failure).toBeInstanceOf(GenerationFailedError);
    expect(world.events).toHaveLength(1);
    expect(world.events[0]).toMatchObject({ success: false, error_code: "invalid_request", images_produced: 0 });
  });

  it("writes nothing to storage when every backend fails, but records each attempt", async () => {
    const world = pipelineWorld();
    const before = await allKeys();
    const failure = await generate({ prompt: "p", n: 1, backend: "mock-down" }, alice, "r", world.deps).catch((e) => e);
    expect(failure).toBeInstanceOf(GenerationFailedError);
    expect((failure as GenerationFailedError).last.kind).toBe("unavailable");
    expect(world.events).toHaveLength(1);
    expect(await allKeys()).toEqual(before);
  });

  it("still delivers the image when the usage sink fails, and logs the lost event loudly", async () => {
    const world = pipelineWorld(testConfig(), {
      usage: {
        record: async () => {
          throw new Error("queue down");
        },
      },
    });
    const outcome = await generate({ prompt: "p", n: 1 }, alice, "r", world.deps);
    expect(outcome.images).toHaveLength(1);
    const line = world.logs.find((l) => l.includes("USAGE EVENT NOT RECORDED"));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: "error", error: "queue down" });
  });

  it("applies a style: template around the prompt, its size and negative prompt; the hash stays the user's prompt", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "rag systems", n: 1, style: "blog-header" }, alice, "r", world.deps);
    expect(outcome.images[0]).toMatchObject({ width: 1536, height: 768 });
    const sidecar = await (await env.IMAGES.get(outcome.images[0]!.sidecar_key!))!.json<any>();
    expect(sidecar.request).toMatchObject({ style: "blog-header", styled_prompt: "rag systems, editorial header", negative: "text", size: "1536x768" });
    expect(world.events[0]!.prompt_hash).toBe(await sha256Hex("rag systems"));
  });

  it("uses the instance's default size when neither request nor style names one", async () => {
    const world = pipelineWorld();
    const backend = world.deps.backend("mock");
    const wide = { ...world.deps, backend: () => Object.assign(Object.create(backend), { defaultSize: { width: 1344, height: 768 } }) };
    expect((await generate({ prompt: "p", n: 1 }, alice, "r", wide)).images[0]).toMatchObject({ width: 1344, height: 768 });
    expect((await generate({ prompt: "p", n: 1, size: { width: 512, height: 512 } }, alice, "r", wide)).images[0]).toMatchObject({ width: 512, height: 512 });
  });

  it("rejects unknown backends and styles before any attempt", async () => {
    const world = pipelineWorld();
    await expect(generate({ prompt: "p", n: 1, backend: "nope" }, alice, "r", world.deps)).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(generate({ prompt: "p", n: 1, style: "nope" }, alice, "r", world.deps)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(world.events).toHaveLength(0);
  });
});

describe("cost estimates", () => {
  it("uses a per-image price configured on the instance over the price table", async () => {
    const world = pipelineWorld();
    const backend = world.deps.backend("mock");
    const priced = { ...world.deps, backend: () => Object.assign(Object.create(backend), { configuredPricePerImage: usd(0.0021) }) };
    const outcome = await generate({ prompt: "p", n: 3 }, alice, "r", priced);
    expect(outcome.cost_usd_estimate).toBe(0.0063);
    expect(world.events[0]).toMatchObject({ cost_usd_estimate: 0.0063, price_id: null });
  });

  it("records NULL, never a guess, when no price is known", async () => {
    const world = pipelineWorld();
    const unknown = { ...world.deps, pricing: { estimate: async () => null } };
    const outcome = await generate({ prompt: "p", n: 1 }, alice, "r", unknown);
    expect(outcome.cost_usd_estimate).toBeNull();
    expect(world.events[0]!.cost_usd_estimate).toBeNull();
  });
});

describe("storage through the pipeline", () => {
  it("never overwrites: a colliding template key moves to -2, -3", async () => {
    const world = pipelineWorld(testConfig({ output: { naming: "collide/{caller}-{seed}.{ext}", sidecar: true } }));
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await generate({ prompt: `p${i}`, n: 1, seed: 1 }, alice, "r", world.deps);
      keys.push(outcome.images[0]!.key);
    }
    expect(keys).toEqual(["collide/alice-1.png", "collide/alice-1-2.png", "collide/alice-1-3.png"]);
    expect(await env.IMAGES.head("collide/alice-1-2.png.json")).not.toBeNull();
    // The first object still holds the first image.
    const first = await (await env.IMAGES.get("collide/alice-1.png.json"))!.json<any>();
    expect(first.request.prompt).toBe("p0");
  });

  it("never pairs a sidecar with someone else's image: leftovers are removed, existing objects untouched", async () => {
    // An image stored earlier without a sidecar, and an orphan sidecar with no image.
    await env.IMAGES.put("pair/alice-5.png", "older image");
    await env.IMAGES.put("pair/alice-6.png.json", "orphan sidecar");
    const world = pipelineWorld(testConfig({ output: { naming: "pair/{caller}-{seed}.{ext}", sidecar: true } }));
    const a = await generate({ prompt: "p", n: 1, seed: 5 }, alice, "r", world.deps);
    const b = await generate({ prompt: "p", n: 1, seed: 6 }, alice, "r", world.deps);
    expect([a.images[0]!.key, b.images[0]!.key]).toEqual(["pair/alice-5-2.png", "pair/alice-6-2.png"]);
    expect(await env.IMAGES.head("pair/alice-5.png.json")).toBeNull();
    expect(await (await env.IMAGES.get("pair/alice-5.png"))!.text()).toBe("older image");
    expect(await env.IMAGES.head("pair/alice-6.png")).toBeNull();
    expect(await (await env.IMAGES.get("pair/alice-6.png.json"))!.text()).toBe("orphan sidecar");
    expect(await env.IMAGES.head("pair/alice-6-2.png.json")).not.toBeNull();
  });

  it("numbers a batch's images in order", async () => {
    const world = pipelineWorld(testConfig({ output: { naming: "batch/{slug}.{ext}", sidecar: false } }));
    const outcome = await generate({ prompt: "three of them", n: 3, seed: 4 }, alice, "r", world.deps);
    expect(outcome.images.map((i) => i.key)).toEqual(["batch/three-of-them.png", "batch/three-of-them-2.png", "batch/three-of-them-3.png"]);
    const bytes = await Promise.all(outcome.images.map(async (i) => new Uint8Array(await (await env.IMAGES.get(i.key))!.arrayBuffer())));
    expect(bytes[0]).not.toEqual(bytes[1]);
    expect(outcome.images.every((i) => i.sidecar_key === null)).toBe(true);
  });

  it("stores an explicit output key as given, and refuses (409) a taken one before spending anything", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "p", n: 2, output: "alice/explicit/header.png" }, alice, "r", world.deps);
    expect(outcome.images.map((i) => i.key)).toEqual(["alice/explicit/header.png", "alice/explicit/header-2.png"]);
    expect(readPngSize(new Uint8Array(await (await env.IMAGES.get("alice/explicit/header.png"))!.arrayBuffer()))).toEqual({ width: 1024, height: 1024 });
    world.events.length = 0;
    const before = await allKeys();
    const conflict = await generate({ prompt: "again", n: 1, output: "alice/explicit/header.png" }, alice, "r", world.deps).catch((e) => e);
    expect(conflict).toBeInstanceOf(OutputConflictError);
    expect(world.events).toHaveLength(0);
    expect(await allKeys()).toEqual(before);
  });

  it("honours the sidecar switch from config and from the request", async () => {
    const off = pipelineWorld(testConfig({ output: { naming: "sc/off-{seed}.{ext}", sidecar: false } }));
    const a = await generate({ prompt: "p", n: 1, seed: 1 }, alice, "r", off.deps);
    expect(await env.IMAGES.head("sc/off-1.png.json")).toBeNull();
    expect(a.images[0]!.sidecar_key).toBeNull();
    const forced = await generate({ prompt: "p", n: 1, seed: 2, sidecar: true }, alice, "r", off.deps);
    expect(await env.IMAGES.head(forced.images[0]!.sidecar_key!)).not.toBeNull();
    const on = pipelineWorld(testConfig({ output: { naming: "sc/on-{seed}.{ext}", sidecar: true } }));
    await generate({ prompt: "p", n: 1, seed: 3, sidecar: false }, alice, "r", on.deps);
    expect(await env.IMAGES.head("sc/on-3.png.json")).toBeNull();
  });

  it("puts caller, backend, model, seed, size and cost in R2 metadata, and the full record in the sidecar", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "the prompt", n: 1, seed: 11, steps: 4, negative: "blur", source: "admin" }, alice, "req-9", world.deps);
    const image = outcome.images[0]!;
    const object = await env.IMAGES.head(image.key);
    expect(object!.customMetadata).toEqual({
      caller: "alice",
      backend: "mock",
      model: "mock-png",
      seed: "11",
      image_id: image.id,
      request_id: "req-9",
      width: String(image.width),
      height: String(image.height),
      cost_usd_estimate: "0",
    });
    expect(object!.httpMetadata?.contentType).toBe("image/png");
    const sidecar = await (await env.IMAGES.get(image.sidecar_key!))!.json<any>();
    expect(sidecar).toMatchObject({
      id: image.id,
      key: image.key,
      request_id: "req-9",
      caller: "alice",
      source: "admin",
      request: { prompt: "the prompt", negative: "blur", seed: 11, steps: 4, n: 1, size: "1024x1024" },
      image: { index: 0, width: 1024, height: 1024, mime_type: "image/png", bytes: image.bytes },
      backend: { instance: "mock", type: "mock", model: "mock-png", seed: 11 },
      cost: { usd_estimate: 0, price_id: null },
    });
    expect(typeof sidecar.timings.backend_ms).toBe("number");
  });
});
