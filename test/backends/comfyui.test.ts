/**
 * The ComfyUI backend against a fake ComfyUI behind a fake Cloudflare Tunnel + Access
 * (test/fakes/comfyui). Each test gets its own fake box, so nothing leaks between tests.
 */
import { describe, expect, inject, it } from "vitest";
import type { AttemptContext, GeneratedImage, GenerationSpec } from "../../src/backends/backend";
import { comfyuiBackendType, type ComfyProgress, type ComfyUIBackend } from "../../src/backends/comfyui";
import { jsonLogger } from "../../src/lib/log";
import { readPngSize } from "../../src/backends/image-size";
import { createBox, type FakeComfyBox } from "../fakes/comfyui/control";
import { backendFailure as failure, runAttempt } from "../helpers/attempt";
import { steppedClock } from "../helpers/clock";
import type { BoxOptions } from "../fakes/comfyui/types";
import { failingNetwork } from "../helpers/network";

const FAKE = inject("fakes").comfyui!;
const TOKEN = { ACCESS_CLIENT_ID: "id-4f2a.access", ACCESS_CLIENT_SECRET: "s3cr3t-value" };
const ACCESS = { clientId: TOKEN.ACCESS_CLIENT_ID, clientSecret: TOKEN.ACCESS_CLIENT_SECRET };

interface World {
  readonly box: FakeComfyBox;
  readonly backend: ComfyUIBackend;
  readonly clock: ReturnType<typeof steppedClock>;
  readonly logs: string[];
  readonly ctx: AttemptContext;
}

async function world(
  options: { box?: BoxOptions; config?: Record<string, unknown>; env?: Record<string, unknown>; name?: string; fetch?: typeof fetch } = {},
): Promise<World> {
  const box = await createBox(FAKE, options.box ?? {});
  const clock = steppedClock(0.01);
  const logs: string[] = [];
  const config = comfyuiBackendType.configSchema.parse({
    type: "comfyui",
    base_url: box.url,
    access_client_id_env: "ACCESS_CLIENT_ID",
    access_client_secret_env: "ACCESS_CLIENT_SECRET",
    ...options.config,
  });
  const backend = comfyuiBackendType.create(options.name ?? `flux-schnell-local-${crypto.randomUUID()}`, config, {
    env: options.env ?? TOKEN,
    fetch: options.fetch ?? globalThis.fetch,
    clock,
  }) as ComfyUIBackend;
  const ctx: AttemptContext = {
    signal: new AbortController().signal,
    clock,
    requestId: "req-test",
    log: jsonLogger({}, (line) => logs.push(line)),
  };
  return { box, backend, clock, logs, ctx };
}

const spec = (overrides: Partial<GenerationSpec> = {}): GenerationSpec => ({
  prompt: "a lighthouse at dusk, oil painting",
  width: 512,
  height: 384,
  seed: 42,
  n: 1,
  ...overrides,
});

async function bytesOf(image: GeneratedImage): Promise<Uint8Array> {
  if ("bytes" in image) return image.bytes;
  return new Uint8Array(await new Response(image.stream).arrayBuffer());
}

/** The workflow the backend POSTed to /prompt, and the raw body text (to check number literals). */
async function submitted(
  box: FakeComfyBox,
): Promise<{ raw: string; body: { prompt: Record<string, { inputs: Record<string, unknown> }>; prompt_id: string; client_id: string } }> {
  const post = (await box.requests()).find((r) => r.method === "POST" && r.path === "/prompt");
  expect(post).toBeDefined();
  return { raw: post!.body, body: JSON.parse(post!.body) };
}

describe("comfyui backend: generating", () => {
  it("returns a PNG of the requested size, names the workflow's model and keeps the seed", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS } });

    const result = await runAttempt(backend, spec(), ctx);

    expect(result.images).toHaveLength(1);
    const image = result.images[0]!;
    expect(image).toMatchObject({ mimeType: "image/png", width: 512, height: 384 });
    const bytes = await bytesOf(image);
    expect(readPngSize(bytes)).toEqual({ width: 512, height: 384 });
    // ComfyUI's SaveImage embeds the prompt graph as a PNG text chunk; the fake does too.
    expect(new TextDecoder("latin1").decode(bytes)).toContain("tEXtprompt\u0000{");
    expect(result.model).toBe("flux1-schnell-fp8.safetensors");
    expect(backend.model).toBe("flux1-schnell-fp8.safetensors");
    expect(result.seed).toBe(42);
    expect(result.predictTimeSeconds).toBeGreaterThanOrEqual(0);
    expect(result.externalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(backend.configuredPricePerImage).toBe(0);
    const { body } = await submitted(box);
    expect(body.prompt_id).toBe(result.externalId);
    expect(body.prompt["6"]!.inputs.text).toBe("a lighthouse at dusk, oil painting");
    expect(body.prompt["31"]!.inputs).toMatchObject({ seed: 42, steps: 4, cfg: 1, sampler_name: "euler", scheduler: "simple" });
    expect(body.prompt["27"]!.inputs).toEqual({ width: 512, height: 384, batch_size: 1 });
  });

  it("streams an image with its byte length when ComfyUI sends Content-Length", async () => {
    const { backend, ctx } = await world({ box: { access: ACCESS } });

    const [image] = (await runAttempt(backend, spec(), ctx)).images;

    expect(image && "stream" in image).toBe(true);
    const bytes = await bytesOf(image!);
    expect(image && "byteLength" in image ? image.byteLength : -1).toBe(bytes.byteLength);
  });

  it("buffers the image when /view answers without Content-Length", async () => {
    const { backend, ctx } = await world({ box: { access: ACCESS, viewContentLength: false } });

    const [image] = (await runAttempt(backend, spec(), ctx)).images;

    expect(image && "bytes" in image).toBe(true);
    expect(readPngSize(await bytesOf(image!))).toEqual({ width: 512, height: 384 });
  });

  it("puts the negative prompt, steps and n into the template and returns n images", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS } });

    const result = await runAttempt(backend, spec({ negative: "blurry", steps: 6, n: 2 }), ctx);

    expect(result.images).toHaveLength(2);
    const { body } = await submitted(box);
    expect(body.prompt["33"]!.inputs.text).toBe("blurry");
    expect(body.prompt["31"]!.inputs.steps).toBe(6);
    expect(body.prompt["27"]!.inputs.batch_size).toBe(2);
  });

  it("submits the largest allowed seed (2^53-1) as an exact JSON number", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS } });

    const result = await runAttempt(backend, spec({ seed: Number.MAX_SAFE_INTEGER }), ctx);

    expect(result.seed).toBe(9007199254740991);
    const { raw } = await submitted(box);
    expect(raw).toContain('"seed":9007199254740991');
  });

  it("refuses a seed above 2^53-1 before contacting the box", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS } });

    const error = await failure(runAttempt(backend, spec({ seed: 2 ** 53 }), ctx));

    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("9007199254740991");
    expect(await box.requests()).toHaveLength(0);
  });

  it("runs a custom workflow through its input map and reports its UNET model", async () => {
    const workflow = {
      "1": { class_type: "UNETLoader", inputs: { unet_name: "flux1-schnell.safetensors", weight_dtype: "fp8_e4m3fn" } },
      "2": { class_type: "DualCLIPLoader", inputs: { clip_name1: "t5xxl_fp8_e4m3fn.safetensors", clip_name2: "clip_l.safetensors", type: "flux" } },
      "3": { class_type: "VAELoader", inputs: { vae_name: "ae.safetensors" } },
      "4": { class_type: "CLIPTextEncode", inputs: { text: "", clip: ["2", 0] } },
      "5": { class_type: "EmptyLatentImage", inputs: { width: 1024, height: 1024, batch_size: 1 } },
      "6": {
        class_type: "KSampler",
        inputs: {
          seed: 0,
          steps: 3,
          cfg: 1,
          sampler_name: "euler",
          scheduler: "simple",
          denoise: 1,
          model: ["1", 0],
          positive: ["4", 0],
          negative: ["4", 0],
          latent_image: ["5", 0],
        },
      },
      "7": { class_type: "VAEDecode", inputs: { samples: ["6", 0], vae: ["3", 0] } },
      "8": { class_type: "SaveImage", inputs: { filename_prefix: "mrock/custom", images: ["7", 0] } },
    };
    const inputs = {
      prompt: { node: "4", input: "text" },
      negative: false,
      seed: { node: "6", input: "seed" },
      steps: { node: "6", input: "steps" },
      width: { node: "5", input: "width" },
      height: { node: "5", input: "height" },
      batch_size: { node: "5", input: "batch_size" },
    };
    const { box, backend, ctx } = await world({ box: { access: ACCESS }, config: { workflow, inputs } });

    const result = await runAttempt(backend, spec({ width: 640, height: 448, seed: 7, negative: "ignored here" }), ctx);

    expect(result.model).toBe("flux1-schnell.safetensors");
    expect(readPngSize(await bytesOf(result.images[0]!))).toEqual({ width: 640, height: 448 });
    const { body } = await submitted(box);
    expect(body.prompt["4"]!.inputs.text).toBe("a lighthouse at dusk, oil painting");
    expect(body.prompt["6"]!.inputs).toMatchObject({ seed: 7, steps: 3 });
    expect(body.prompt["5"]!.inputs).toEqual({ width: 640, height: 448, batch_size: 1 });
  });

  it("runs the weights-free smoke workflow end to end", async () => {
    const { backend, ctx } = await world({ box: { access: ACCESS }, config: { workflow: "smoke-empty-image" } });

    const result = await runAttempt(backend, spec({ width: 64, height: 48 }), ctx);

    expect(readPngSize(await bytesOf(result.images[0]!))).toEqual({ width: 64, height: 48 });
  });

  it("reaches the box through a service binding (Workers VPC) as well", async () => {
    const box = await createBox(FAKE, {});
    const seen: string[] = [];
    const binding = {
      fetch: (url: string, init?: RequestInit) => {
        seen.push(url);
        return fetch(url.replace("http://comfyui", box.url), init);
      },
    };
    const clock = steppedClock(0.01);
    const backend = comfyuiBackendType.create("flux-vpc", comfyuiBackendType.configSchema.parse({ type: "comfyui", service_binding: "COMFYUI_VPC" }), {
      env: { COMFYUI_VPC: binding },
      fetch: () => Promise.reject(new Error("global fetch must not be used")),
      clock,
    });

    const result = await runAttempt(backend, spec(), { signal: new AbortController().signal, clock, requestId: "r", log: jsonLogger({}, () => {}) });

    expect(result.images).toHaveLength(1);
    expect(seen[0]).toBe("http://comfyui/prompt");
  });

  it("uses the prompt id ComfyUI answers with when the server makes its own", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS, legacyPromptIds: true } });

    const result = await runAttempt(backend, spec(), ctx);

    const { body } = await submitted(box);
    expect((await box.state()).history).toEqual([result.externalId]);
    expect(result.externalId).not.toBe(body.prompt_id);
  });

  it("sends the Access service token on every request and never an Origin header", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS } });

    await runAttempt(backend, spec(), ctx);

    const requests = await box.requests();
    expect(requests.map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual(expect.arrayContaining(["POST /prompt", "GET /view"]));
    for (const request of requests) {
      expect(request.headers.origin).toBeUndefined();
      expect(request.headers["cf-access-client-id"]).toBe(TOKEN.ACCESS_CLIENT_ID);
      expect(request.headers["cf-access-client-secret"]).toBe(TOKEN.ACCESS_CLIENT_SECRET);
    }
  });

  it("the fake, like ComfyUI, refuses a request whose Origin is another site", async () => {
    const box = await createBox(FAKE, {});

    const response = await fetch(`${box.url}/queue`, { headers: { Origin: "https://evil.example" } });

    expect(response.status).toBe(403);
  });

  it("the fake, like ComfyUI, answers every route under the /api prefix too", async () => {
    const box = await createBox(FAKE, {});

    const response = await fetch(`${box.url}/api/queue`);

    expect(await response.json()).toEqual({ queue_running: [], queue_pending: [] });
  });

  it("never logs the prompt text", async () => {
    const { backend, ctx, logs } = await world({ box: { access: ACCESS } });

    await runAttempt(backend, spec({ prompt: "secret-plan-for-a-surprise-party" }), ctx);

    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join("\n")).not.toContain("secret-plan");
  });
});

describe("comfyui backend: Cloudflare Access and the tunnel", () => {
  for (const mode of ["redirect", "unauthorized", "forbidden", "login_page"] as const) {
    it(`turns an Access refusal (${mode}) into an auth error naming the token env vars, never an image`, async () => {
      const { box, backend, ctx } = await world({ box: { access: { ...ACCESS, clientSecret: "rotated", mode } } });

      const error = await failure(runAttempt(backend, spec(), ctx));

      expect(error.kind).toBe("auth");
      expect(error.detail).toContain("ComfyUI tunnel refused the service token; check ACCESS_CLIENT_ID / ACCESS_CLIENT_SECRET");
      expect((await box.state()).pending).toEqual([]);
    });
  }

  it("says to configure a service token when the box is behind Access and none is set", async () => {
    const { backend, ctx } = await world({
      box: { access: ACCESS },
      config: { access_client_id_env: undefined, access_client_secret_env: undefined },
      env: {},
    });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("auth");
    expect(error.detail).toContain("set access_client_id_env / access_client_secret_env");
  });

  it("is not configured when the token env vars are named but unset", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS }, env: { ACCESS_CLIENT_ID: "id" } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("not_configured");
    expect(error.detail).toContain("ACCESS_CLIENT_SECRET");
    expect(await box.requests()).toHaveLength(0);
  });

  it("reports a tunnel that is down (Cloudflare 530) as unreachable with the time spent", async () => {
    const { backend, ctx } = await world({ box: { access: ACCESS, tunnel: "down" } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("unavailable");
    expect(error.detail).toMatch(/^home ComfyUI unreachable \(HTTP 530 from Cloudflare: .*, after \d+ ms\)$/);
  });

  it("reports ComfyUI not running behind a live tunnel (502) as unreachable", async () => {
    const { backend, ctx } = await world({ box: { tunnel: "bad_gateway" }, config: { access_client_id_env: undefined, access_client_secret_env: undefined } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("unavailable");
    expect(error.detail).toContain("HTTP 502");
  });

  // A refused connection and one that dies without an answer reach the backend alike: fetch rejects.
  it("reports a connection that is refused or dies without an answer as unreachable", async () => {
    const network = failingNetwork(() => true);
    const { backend, ctx } = await world({ fetch: network.fetch });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("unavailable");
    expect(error.detail).toMatch(/^home ComfyUI unreachable \(network error: .*, after \d+ ms\)$/);
  });
});

describe("comfyui backend: failures on the box", () => {
  it("names the missing model file when the checkpoint is not installed", async () => {
    const { backend, ctx } = await world({ box: { access: ACCESS, models: { checkpoints: ["sd_xl_base_1.0.safetensors"] } } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("failed");
    expect(error.detail).toBe(
      'ComfyUI on the box has no model file "flux1-schnell-fp8.safetensors" (node 30 CheckpointLoaderSimple, input ckpt_name); ' +
        "put it in ComfyUI/models/checkpoints/ or change the workflow",
    );
  });

  it("blames the request, naming the field, when ComfyUI rejects a value we patched in", async () => {
    const { backend, ctx } = await world({ box: { access: ACCESS } });

    const error = await failure(runAttempt(backend, spec({ width: 20_000 }), ctx));

    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("width: Value 20000 bigger than max of 16384 (node 27 EmptySD3LatentImage, input width)");
    expect(error.extra.invalidFields).toEqual([expect.objectContaining({ field: "width", node: "27", type: "value_bigger_than_max" })]);
  });

  it("names node, class and input for other validation errors in the workflow", async () => {
    const workflow = {
      "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0] } },
    };
    const inputs = {
      prompt: false,
      negative: false,
      seed: false,
      steps: false,
      width: { node: "1", input: "width" },
      height: { node: "1", input: "height" },
      batch_size: false,
    };
    const { backend, ctx } = await world({ box: { access: ACCESS }, config: { workflow, inputs } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("failed");
    expect(error.detail).toContain("node 2 (SaveImage) input filename_prefix: Required input is missing");
  });

  it("fails with the exception ComfyUI recorded when execution errors", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS } });
    await box.failNext({ exception_type: "torch.OutOfMemoryError", exception_message: "CUDA out of memory. Tried to allocate 2.00 GiB" });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("failed");
    expect(error.detail).toBe("ComfyUI failed in node 31 (KSampler): torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB");
    expect(error.extra.externalId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("says the job was lost when ComfyUI restarts while it waits", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS, stepMs: 60_000 } });
    let restarted: Promise<void> | undefined;

    const error = await failure(
      runAttempt(backend, spec(), ctx, {
        onProgress: () => {
          restarted ??= box.restart();
        },
      }),
    );

    await restarted;
    expect(error.kind).toBe("unavailable");
    expect(error.detail).toContain("ComfyUI lost the job (restarted?)");
  });

  it("interrupts a running job on the box when it times out, and reports the time spent", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS, stepMs: 60_000 }, config: { timeout_s: 5 } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("timeout");
    expect(error.detail).toMatch(/did not finish before its deadline \(still running\); canceled \S+ after \d+ ms$/);
    const state = await box.state();
    expect(state.interrupts).toEqual([{ promptId: error.extra.externalId, interrupted: true }]);
  });

  it("cancels the job on the box when the caller gives up", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS, stepMs: 60_000 } });
    const controller = new AbortController();

    const error = await failure(
      runAttempt(backend, spec(), { ...ctx, signal: controller.signal }, { onProgress: () => controller.abort(new Error("client went away")) }),
    );

    expect(error.kind).toBe("canceled");
    const { body } = await submitted(box);
    expect((await box.state()).interrupts).toEqual([{ promptId: body.prompt_id, interrupted: true }]);
  });

  it("removes a job still waiting in the queue when it times out, without interrupting others", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS, paused: true }, config: { timeout_s: 3 } });

    const error = await failure(runAttempt(backend, spec(), ctx));

    expect(error.kind).toBe("timeout");
    expect(error.detail).toContain("still queued");
    const state = await box.state();
    expect(state.pending).toEqual([]);
    expect(state.interrupts).toEqual([]);
  });

  it("reports queue position and sampler steps to a progress listener", async () => {
    const { box, backend, ctx } = await world({ box: { access: ACCESS, paused: true } });
    // Someone else's job is ahead of ours.
    const other = await fetch(`${box.url}/prompt`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...{ "CF-Access-Client-Id": ACCESS.clientId, "CF-Access-Client-Secret": ACCESS.clientSecret } },
      body: JSON.stringify({
        prompt: {
          "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
          "2": { class_type: "SaveImage", inputs: { filename_prefix: "x", images: ["1", 0] } },
        },
      }),
    });
    expect(other.status).toBe(200);
    const seen: ComfyProgress[] = [];
    let resumed: Promise<void> | undefined;

    await runAttempt(backend, spec(), ctx, {
      onProgress: (progress) => {
        seen.push(progress);
        if (progress.state === "queued") resumed ??= box.configure({ paused: false });
      },
    });

    await resumed;
    expect(seen[0]).toEqual({ state: "queued", queuePosition: 1 });
    expect(seen).toContainEqual({ state: "running", step: 4, steps: 4 });
  });
});

describe("comfyui backend: status", () => {
  it("is ok with the GPU and its free VRAM", async () => {
    const { backend } = await world({ box: { access: ACCESS } });

    expect(await backend.status()).toEqual({ state: "ok", detail: "GPU NVIDIA GeForce RTX 4090, 21.0 GiB VRAM free" });
  });

  it("is not configured, without a request, when the token env vars are unset", async () => {
    const { box, backend } = await world({ box: { access: ACCESS }, env: {} });

    expect(await backend.status()).toEqual({ state: "not_configured", missingEnv: ["ACCESS_CLIENT_ID", "ACCESS_CLIENT_SECRET"] });
    expect(await box.requests()).toHaveLength(0);
  });

  it("is unreachable with the reason when the tunnel is down", async () => {
    const { backend } = await world({ box: { access: ACCESS, tunnel: "down" } });

    const status = await backend.status();

    expect(status.state).toBe("unreachable");
    expect(status.state === "unreachable" && status.reason).toMatch(/^HTTP 530 from Cloudflare: .*, after \d+ ms$/);
  });

  it("is unreachable with the Access refusal when the token is wrong", async () => {
    const { backend } = await world({ box: { access: { ...ACCESS, clientId: "another" } } });

    const status = await backend.status();

    expect(status).toEqual({ state: "unreachable", reason: expect.stringContaining("ComfyUI tunnel refused the service token") });
  });

  it("probes at most every 30 seconds per instance", async () => {
    const { box, backend, clock } = await world({ box: { access: ACCESS } });

    expect((await backend.status()).state).toBe("ok");
    await box.configure({ tunnel: "down" });
    clock.advance(29_000);
    const cached = await backend.status();
    clock.advance(2_000);
    const fresh = await backend.status();

    expect(cached.state).toBe("ok");
    expect(fresh.state).toBe("unreachable");
    expect((await box.requests()).filter((r) => r.path === "/system_stats")).toHaveLength(2);
  });
});
