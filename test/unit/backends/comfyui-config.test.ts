/** Configuring a ComfyUI instance: what is accepted, and errors that name the bad field. */
import { describe, expect, it } from "vitest";
import { comfyuiBackendType } from "../../../src/backends/comfyui";
import { ConfigError, parseConfig } from "../../../src/config/load";

const base = { type: "comfyui", base_url: "https://comfy.example.com" };

function problems(instance: Record<string, unknown>): string[] {
  try {
    parseConfig({ default_backend: "flux-schnell-local", backends: { "flux-schnell-local": instance } });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

function create(instance: Record<string, unknown>) {
  const config = comfyuiBackendType.configSchema.parse(instance);
  return comfyuiBackendType.create("flux-schnell-local", config, {
    env: {},
    fetch: () => Promise.reject(new Error("no network in config tests")),
    clock: { now: () => 0, sleep: async () => {} },
  });
}

describe("comfyui instance config", () => {
  it("accepts the sample instance from wrangler.toml with the shipped FLUX schnell template", () => {
    const sample = {
      ...base,
      access_client_id_env: "ACCESS_CLIENT_ID",
      access_client_secret_env: "ACCESS_CLIENT_SECRET",
      workflow: "flux-schnell-checkpoint",
    };

    expect(problems(sample)).toEqual([]);
    const backend = create(sample);
    expect(backend).toMatchObject({ type: "comfyui", provider: "comfyui", model: "flux1-schnell-fp8.safetensors" });
  });

  it("defaults to the FLUX schnell template, 120 s timeout and 500 ms polling", () => {
    const config = comfyuiBackendType.configSchema.parse(base);

    expect(config).toMatchObject({ workflow: "flux-schnell-checkpoint", timeout_s: 120, poll_interval_ms: 500 });
  });

  it("lets config name the model instead of the workflow's loader", () => {
    expect(create({ ...base, model: "flux-schnell (home)" }).model).toBe("flux-schnell (home)");
  });

  it("needs exactly one of base_url and service_binding", () => {
    expect(problems({ type: "comfyui" })).toEqual(["backends.flux-schnell-local.base_url: set exactly one of base_url or service_binding"]);
    expect(problems({ ...base, service_binding: "COMFYUI_VPC" })).toEqual([
      "backends.flux-schnell-local.base_url: set exactly one of base_url or service_binding",
    ]);
    expect(problems({ type: "comfyui", service_binding: "COMFYUI_VPC" })).toEqual([]);
  });

  it("needs both Access token env vars or neither", () => {
    expect(problems({ ...base, access_client_id_env: "ACCESS_CLIENT_ID" })).toEqual([
      "backends.flux-schnell-local.access_client_secret_env: set both access_client_id_env and access_client_secret_env, or neither",
    ]);
  });

  it("rejects a secret value where an env var name belongs", () => {
    expect(problems({ ...base, access_client_id_env: "4f2a9c.access", access_client_secret_env: "ACCESS_CLIENT_SECRET" })[0]).toMatch(
      /^backends\.flux-schnell-local\.access_client_id_env: /,
    );
  });

  it("edits with the image-to-image template (one input image, no mask); the text templates do not", () => {
    expect(problems({ ...base, workflow: "flux-schnell-img2img" })).toEqual([]);
    expect(create({ ...base, workflow: "flux-schnell-img2img" }).edits).toEqual({ maxImages: 1, mask: false });
    expect(create({ ...base, workflow: "flux-schnell-checkpoint" }).edits).toBeUndefined();
    expect(create({ ...base, workflow: "smoke-empty-image" }).edits).toBeUndefined();
  });

  it("rejects an image input that points at a node the workflow does not have, naming the field", () => {
    expect(problems({ ...base, inputs: { image: { node: "10", input: "image" } } })).toEqual([
      'backends.flux-schnell-local.inputs.image.node: node "10" is not in the workflow (nodes: 6, 8, 9, 27, 30, 31, 33)',
    ]);
  });

  it("names the shipped templates when the workflow name is unknown", () => {
    expect(problems({ ...base, workflow: "flux-dev" })).toEqual([
      'backends.flux-schnell-local.workflow: no workflow template "flux-dev"; shipped templates: flux-schnell-checkpoint, flux-schnell-img2img, smoke-empty-image (or give an API-format workflow object)',
    ]);
  });

  it("rejects an input map that points at a node the workflow does not have", () => {
    expect(problems({ ...base, inputs: { prompt: { node: "60", input: "text" } } })).toEqual([
      'backends.flux-schnell-local.inputs.prompt.node: node "60" is not in the workflow (nodes: 6, 8, 9, 27, 30, 31, 33)',
    ]);
  });

  it("rejects an input map that points at an input the node does not have", () => {
    expect(problems({ ...base, inputs: { seed: { node: "31", input: "noise_seed" } } })).toEqual([
      'backends.flux-schnell-local.inputs.seed.input: node "31" (KSampler) has no input "noise_seed" (inputs: seed, steps, cfg, sampler_name, scheduler, denoise, model, positive, negative, latent_image)',
    ]);
  });

  it("rejects mapping a value onto a link between nodes", () => {
    expect(problems({ ...base, inputs: { prompt: { node: "31", input: "positive" } } })).toEqual([
      'backends.flux-schnell-local.inputs.prompt.input: input "positive" of node "31" is a link to another node; map a literal input instead',
    ]);
  });

  it("checks an inline workflow against the default input map unless told otherwise", () => {
    const workflow = {
      "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
      "2": { class_type: "SaveImage", inputs: { filename_prefix: "x", images: ["1", 0] } },
    };

    expect(problems({ ...base, workflow })[0]).toBe('backends.flux-schnell-local.inputs.prompt.node: node "6" is not in the workflow (nodes: 1, 2)');
    expect(
      problems({
        ...base,
        workflow,
        inputs: {
          prompt: false,
          negative: false,
          seed: false,
          steps: false,
          width: { node: "1", input: "width" },
          height: { node: "1", input: "height" },
          batch_size: { node: "1", input: "batch_size" },
        },
      }),
    ).toEqual([]);
  });

  it("defaults the model to 'comfyui-workflow' when the workflow loads no checkpoint", () => {
    expect(create({ ...base, workflow: "smoke-empty-image" }).model).toBe("comfyui-workflow");
  });

  it("is free unless a cost per image is configured", () => {
    const free = create(base);
    const priced = create({ ...base, cost_per_image_usd: 0.0021 });

    expect("configuredPricePerImage" in free && free.configuredPricePerImage).toBe(0);
    expect("configuredPricePerImage" in priced && priced.configuredPricePerImage).toBe(0.0021);
  });
});
