/**
 * One `base_url` per provider family: set once under `providers`, used by every instance of that
 * type that names none, overridden by an instance's own.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/load";

const backends = {
  mock: { type: "mock" },
  "flux-together": { type: "together", model: "black-forest-labs/FLUX.1-schnell" },
  "flux-together-direct": { type: "together", model: "black-forest-labs/FLUX.1-dev", base_url: "https://api.together.ai/v1" },
  "openai-images": { type: "openai", model: "gpt-image-2" },
  "flux-replicate": { type: "replicate", model: "black-forest-labs/flux-schnell" },
};

describe("providers: one base_url per family", () => {
  it("points every instance of the family that names no base_url at it; an instance's own wins", () => {
    const config = parseConfig({
      default_backend: "mock",
      providers: { together: { base_url: "http://127.0.0.1:9020/v1" }, replicate: { base_url: "http://127.0.0.1:9010/v1" } },
      backends,
    });
    expect(config.backends["flux-together"]).toMatchObject({ base_url: "http://127.0.0.1:9020/v1" });
    expect(config.backends["flux-together-direct"]).toMatchObject({ base_url: "https://api.together.ai/v1" });
    expect(config.backends["flux-replicate"]).toMatchObject({ base_url: "http://127.0.0.1:9010/v1" });
    expect(config.backends["openai-images"]).toMatchObject({ base_url: "https://api.openai.com/v1" });
  });

  it("leaves every instance on its provider's public API when no family is set", () => {
    const config = parseConfig({ default_backend: "mock", backends });
    expect(config.providers).toEqual({});
    expect(config.backends["flux-together"]).toMatchObject({ base_url: "https://api.together.ai/v1" });
  });

  it.each([
    [{ together: { base_url: "ftp://proxy" } }, "providers.together.base_url"],
    [{ comfyui: { base_url: "http://127.0.0.1:8188" } }, 'providers: Unrecognized key: "comfyui"'],
    [{ openai: { base_url: "http://127.0.0.1:9030/v1", api_key: "inline" } }, "providers.openai"],
  ])("refuses %j, naming the field", (providers, field) => {
    expect(problems({ default_backend: "mock", providers, backends: { mock: { type: "mock" } } })).toEqual([expect.stringMatching(`^${field}`)]);
  });
});

function problems(config: unknown): readonly string[] {
  try {
    parseConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
