import { describe, expect, it } from "vitest";
import { type Backend, oneShot } from "../../src/backends/backend";
import { generate } from "../../src/core/generate";
import { imagesResponse } from "../../src/handlers/openai/generations";
import { pipelineWorld } from "../helpers/pipeline";

const alice = { name: "alice", role: "user" } as const;

/** The mock, as a provider that rewrites prompts and bills tokens would answer. */
function reportingBackend(inner: Backend): Backend {
  return {
    ...inner,
    protocol: oneShot(async (spec, ctx) => {
      if (inner.protocol.kind !== "one-shot") throw new Error("the mock is one-shot");
      const result = await inner.protocol.generate(spec, ctx);
      return {
        ...result,
        images: result.images.map((image) => ({ ...image, revisedPrompt: `${spec.prompt}, rewritten` })),
        tokenUsage: { input_tokens: 12, output_tokens: 4160, total_tokens: 4172, input_tokens_details: { text_tokens: 12, image_tokens: 0 } },
      };
    }),
  };
}

describe("OpenAI's answer from a generation", () => {
  it("carries revised_prompt on each image and usage in OpenAI's shape when the backend reports them", async () => {
    const world = pipelineWorld();
    const deps = { ...world.deps, backend: (name: string) => reportingBackend(world.deps.backend(name)) };
    const outcome = await generate({ prompt: "a heron", n: 2, size: { width: 64, height: 64 } }, alice, "req-openai-1", deps);
    const answer = imagesResponse(outcome, [{ url: "https://x/1" }, { b64_json: "AAAA" }], Date.parse("2026-05-08T14:30:15Z"));
    expect(answer).toEqual({
      created: Date.parse("2026-05-08T14:30:15Z") / 1000,
      data: [
        { url: "https://x/1", revised_prompt: "a heron, rewritten" },
        { b64_json: "AAAA", revised_prompt: "a heron, rewritten" },
      ],
      output_format: "png",
      size: "64x64",
      usage: { input_tokens: 12, output_tokens: 4160, total_tokens: 4172, input_tokens_details: { text_tokens: 12, image_tokens: 0 } },
    });
  });

  it("leaves both out when the backend does not report them", async () => {
    const world = pipelineWorld();
    const outcome = await generate({ prompt: "a heron", n: 1, size: { width: 64, height: 64 } }, alice, "req-openai-2", world.deps);
    const answer = imagesResponse(outcome, [{ b64_json: "AAAA" }], 0);
    expect(answer).toEqual({ created: 0, data: [{ b64_json: "AAAA" }], output_format: "png", size: "64x64" });
  });
});
