/**
 * The replicate instance config: defaults, and errors that name the bad field.
 */
import { describe, expect, it } from "vitest";
import { replicateConfigSchema } from "../../../src/backends/replicate";

const issuesOf = (input: Record<string, unknown>) => {
  const result = replicateConfigSchema.safeParse({ type: "replicate", ...input });
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
};

describe("replicate instance config", () => {
  it("fills in the documented defaults", () => {
    expect(replicateConfigSchema.parse({ type: "replicate", model: "black-forest-labs/flux-schnell" })).toEqual({
      type: "replicate",
      model: "black-forest-labs/flux-schnell",
      api_token_env: "REPLICATE_API_TOKEN",
      webhook_secret_env: "REPLICATE_WEBHOOK_SECRET",
      poll_interval_ms: 500,
      wait_s: 60,
      output_format: "png",
      extra_input: {},
      base_url: "https://api.replicate.com/v1",
      delivery_hosts: ["replicate.delivery", "*.replicate.delivery"],
    });
  });

  it("accepts a pinned version", () => {
    const model = `black-forest-labs/flux-dev:${"a".repeat(64)}`;
    expect(replicateConfigSchema.parse({ type: "replicate", model }).model).toBe(model);
  });

  it("names the model field when it is not owner/name[:version]", () => {
    expect(issuesOf({ model: "flux-schnell" })).toEqual([{ path: "model", message: "model must be owner/name or owner/name:<64-hex version>" }]);
  });

  it("asks for family when the model name does not say which FLUX it is", () => {
    expect(issuesOf({ model: "someone/my-finetune" })).toEqual([
      { path: "family", message: expect.stringContaining("set family to one of schnell, dev, pro, 1.1-pro, kontext, kontext-dev") },
    ]);
    expect(replicateConfigSchema.safeParse({ type: "replicate", model: "someone/my-finetune", family: "dev" }).success).toBe(true);
  });

  it("knows the FLUX.1 Kontext models by name, and refuses what they cannot take", () => {
    for (const model of ["flux-kontext-pro", "flux-kontext-max", "flux-kontext-dev"]) {
      expect(replicateConfigSchema.safeParse({ type: "replicate", model: `black-forest-labs/${model}` }).success).toBe(true);
    }
    expect(issuesOf({ model: "black-forest-labs/flux-kontext-pro", output_format: "webp" })).toEqual([
      { path: "output_format", message: "black-forest-labs/flux-kontext-pro makes png or jpg, not webp" },
    ]);
    expect(issuesOf({ model: "black-forest-labs/flux-kontext-max", extra_input: { safety_tolerance: 5 } })).toEqual([
      { path: "extra_input.safety_tolerance", message: "FLUX.1 Kontext takes a safety_tolerance of at most 2 with an input image" },
    ]);
    expect(issuesOf({ model: "black-forest-labs/flux-kontext-dev", default_steps: 60 })).toEqual([
      { path: "default_steps", message: "black-forest-labs/flux-kontext-dev takes at most 50 steps" },
    ]);
    expect(issuesOf({ model: "black-forest-labs/flux-kontext-pro", extra_input: { input_image: "https://example.com/a.png" } })).toEqual([
      { path: "extra_input.input_image", message: "input_image comes from each request; remove it from extra_input" },
    ]);
  });

  it("refuses default_steps beyond what the model takes", () => {
    expect(issuesOf({ model: "black-forest-labs/flux-schnell", default_steps: 28 })).toEqual([
      { path: "default_steps", message: "black-forest-labs/flux-schnell takes at most 4 steps" },
    ]);
  });

  it("refuses extra_input keys that come from each request", () => {
    expect(issuesOf({ model: "black-forest-labs/flux-dev", extra_input: { guidance: 3, seed: 1 } })).toEqual([
      { path: "extra_input.seed", message: "seed comes from each request; remove it from extra_input" },
    ]);
  });

  it("names wait_s when it is outside 1..60 and api_token_env when it is not an env var name", () => {
    const paths = issuesOf({ model: "black-forest-labs/flux-dev", wait_s: 61, api_token_env: "r8_secret" }).map((i) => i.path);
    expect(paths.sort()).toEqual(["api_token_env", "wait_s"]);
  });
});
