/**
 * The OpenAI backend against the fake OpenAI Images API (test/fakes/openai): the request it sends
 * for GPT image and DALL·E models, what it reads back (images, quality, usage, revised prompts),
 * and the resilience rules of a paid create. Each test takes its own key.
 */
import { describe, expect, inject, it } from "vitest";
import type { AttemptContext, GenerationSpec } from "../../src/backends/backend";
import { describeStatus } from "../../src/backends/backend";
import { openAiBackendType, openAiConfigSchema } from "../../src/backends/openai";
import { sniffImage } from "../../src/backends/image-size";
import { silentLogger } from "../../src/lib/log";
import { encodeCellPng } from "../../src/backends/mock/png";
import { sha256HexOfBytes } from "../../src/lib/hash";
import { creates, edits, newKey, type Scenario } from "../fakes/openai-style/control";
import { leftHalfMask } from "../helpers/input-images";
import { storedReference } from "../helpers/reference-images";
import { imageBytes } from "../fakes/replicate/kit";
import { steppedClock } from "../helpers/clock";
import { backendFailure, runAttempt } from "../helpers/attempt";
import { hostedBackend } from "../helpers/hosted-backend";
import { failingNetwork } from "../helpers/network";

const fake = inject("fakes").openai!;

const spec: GenerationSpec = { prompt: "a watercolour fox", width: 1024, height: 1536, seed: 7, n: 1 };

async function setup(config: Record<string, unknown> = {}, scenario: Scenario = {}, key: string | null = newKey("openai"), network?: typeof fetch) {
  const hosted = await hostedBackend(openAiBackendType, fake, { model: "gpt-image-1.5", ...config }, { scenario, key, ...(network && { fetch: network }) });
  return { ...hosted, generate: (s: GenerationSpec = spec) => hosted.generate(s) };
}

describe("openai backend: generating", () => {
  it("sends the configured model, size, quality and output_format, and returns base64 PNGs at that size", async () => {
    const { generate, requests } = await setup({ quality: "low" });
    const result = await generate();

    expect(creates(await requests())[0]!.body).toEqual({
      model: "gpt-image-1.5",
      prompt: spec.prompt,
      n: 1,
      size: "1024x1536",
      quality: "low",
      output_format: "png",
    });
    expect(result).toMatchObject({ model: "gpt-image-1.5", quality: "low" });
    expect(sniffImage(await imageBytes(result.images[0]!))).toEqual({ mimeType: "image/png", width: 1024, height: 1536 });
  });

  it("passes on the quality OpenAI chose for auto and its token usage", async () => {
    const { generate } = await setup();
    const result = await generate({ ...spec, n: 2 });
    expect(result.images).toHaveLength(2);
    expect(result.quality).toBe("medium");
    expect(result.tokenUsage).toEqual({
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      total_tokens: expect.any(Number),
      input_tokens_details: { text_tokens: expect.any(Number), image_tokens: 0 },
    });
    expect(result.tokenUsage!.total_tokens).toBe(result.tokenUsage!.input_tokens + result.tokenUsage!.output_tokens);
  });

  it("asks a DALL·E model for b64_json (no output_format) and keeps each revised_prompt", async () => {
    const { generate, requests } = await setup({ model: "dall-e-3", quality: "hd" });
    const result = await generate({ ...spec, width: 1024, height: 1024 });
    expect(creates(await requests())[0]!.body).toEqual({
      model: "dall-e-3",
      prompt: spec.prompt,
      n: 1,
      size: "1024x1024",
      quality: "hd",
      response_format: "b64_json",
    });
    expect(result.images[0]!.revisedPrompt).toBe(`A detailed rendering of: ${spec.prompt}`);
  });
});

describe("openai backend: failures", () => {
  it("sends the caller's quality and output_format over the instance's", async () => {
    const { generate, requests } = await setup({ quality: "low" });
    const result = await generate({ ...spec, quality: "high", outputFormat: "webp" });

    expect(creates(await requests())[0]!.body).toMatchObject({ quality: "high", output_format: "webp" });
    expect(result.quality).toBe("high");
  });

  it("refuses a quality the model does not take, naming the field, before sending anything", async () => {
    const { generate, requests } = await setup();
    const error = await backendFailure(generate({ ...spec, quality: "hd" }));
    expect(error.kind).toBe("invalid_request");
    expect(error.extra.invalidFields).toEqual([{ field: "quality", message: "low, medium, high, xhigh, max, auto" }]);
    expect(await requests()).toEqual([]);
  });

  it("refuses a size outside the instance's sizes before sending anything", async () => {
    const { generate, requests } = await setup({ sizes: ["1024x1024", "1536x1024"] });
    const error = await backendFailure(generate());
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toBe("gpt-image-1.5 makes 1024x1024, 1536x1024; 1024x1536 is not one of them");
    expect(error.extra.invalidFields).toEqual([{ field: "size", message: "one of 1024x1024, 1536x1024" }]);
    expect(await requests()).toEqual([]);
  });

  it("maps OpenAI's 400 for a size it does not make to invalid_request naming the param", async () => {
    const { generate } = await setup();
    const error = await backendFailure(generate({ ...spec, width: 512, height: 512 }));
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("Invalid value: '512x512'");
    expect(error.extra.invalidFields).toEqual([{ field: "size", message: expect.stringContaining("Supported values") }]);
  });

  it("names the env var on 401 and never repeats OpenAI's message (it quotes part of the key)", async () => {
    const clock = steppedClock();
    const config = openAiConfigSchema.parse({ type: "openai", model: "gpt-image-2", base_url: `${fake}/v1`, api_key_env: "IMAGES_OPENAI_KEY" });
    const backend = openAiBackendType.create("o", config, { env: { IMAGES_OPENAI_KEY: "wrong-key-shape" }, fetch: (...a) => fetch(...a), clock });
    const ctx: AttemptContext = { signal: new AbortController().signal, clock, requestId: "r", log: silentLogger };
    const error = await backendFailure(runAttempt(backend, spec, ctx));
    expect(error.kind).toBe("auth");
    expect(error.detail).toBe("OpenAI API key missing or invalid; set IMAGES_OPENAI_KEY");
  });

  it("waits out a 429 for as long as Retry-After says, then makes the images", async () => {
    const { generate, requests, clock } = await setup({}, { fail_next: [{ status: 429, retry_after: 3 }] });
    expect((await generate()).images).toHaveLength(1);
    expect(clock.sleeps).toEqual([3000]);
    expect(creates(await requests()).map((r) => r.status)).toEqual([429, 200]);
  });

  it("backs off on its own when a 429 gives no Retry-After", async () => {
    const { generate, clock } = await setup({}, { fail_next: [{ status: 429 }, { status: 429 }] });
    await generate();
    expect(clock.sleeps).toEqual([500, 1000]);
  });

  it("does not send the create again after a 503, and says the work may have been billed", async () => {
    const { generate, requests } = await setup({}, { fail_next: [{ status: 503 }] });
    const error = await backendFailure(generate());
    expect(error).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    expect(error.detail).toBe(
      "OpenAI answered 503 to POST /images/generations: The engine is currently overloaded, please try again later.; not re-sent, since the images may have been made and billed",
    );
    expect(creates(await requests())).toHaveLength(1);
  });

  it("does not send the create again when the answer is lost after OpenAI read it", async () => {
    const network = failingNetwork((request, lostSoFar) => request.method === "POST" && lostSoFar === 0, { afterSending: true });
    const { generate, requests } = await setup({}, {}, undefined, network.fetch);
    expect(await backendFailure(generate())).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    expect(network.dropped).toHaveLength(1);
    expect(creates(await requests())).toHaveLength(1);
  });

  it("fails as a timeout, not re-sent, when OpenAI answers after timeout_s", async () => {
    const { generate, requests } = await setup({ timeout_s: 1 }, { delay_ms: 1500 });
    expect(await backendFailure(generate())).toMatchObject({ kind: "timeout", extra: { ambiguous: true } });
    expect(creates(await requests())).toHaveLength(1);
  });
});

describe("openai backend: status", () => {
  it("is ok when GET /v1/models accepts the key", async () => {
    const { backend, requests } = await setup();
    expect(describeStatus(await backend.status())).toBe("ok");
    expect((await requests()).map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1/models"]);
  });

  it("is not configured without a key", async () => {
    const { backend } = await setup({}, {}, null);
    expect(describeStatus(await backend.status())).toBe("not configured (set OPENAI_API_KEY)");
  });
});

describe("openai backend: edits", () => {
  const source = (salt: number) => encodeCellPng(1024, 1024, 64, (cx, cy) => [(cx * 16 + salt) & 0xff, (cy * 16) & 0xff, 100]);
  const sha = async (bytes: Uint8Array) => sha256HexOfBytes(bytes);

  it("says what it edits: GPT image models 16 images and a mask, DALL·E 2 one, DALL·E 3 none", async () => {
    expect((await setup()).backend.edits).toEqual({ maxImages: 16, mask: true });
    expect((await setup({ model: "dall-e-2" })).backend.edits).toEqual({ maxImages: 1, mask: true });
    expect((await setup({ model: "dall-e-3" })).backend.edits).toBeUndefined();
  });

  it("sends the stored input and mask as multipart to /images/edits, with the generation's fields; the fake received the very bytes", async () => {
    const { generate, requests } = await setup({ quality: "low" });
    const input = source(1);
    const mask = leftHalfMask(1024, 1024);
    const reference = await storedReference(input);
    const maskReference = await storedReference(mask);
    const result = await generate({ ...spec, width: 1024, height: 1024, references: [reference], mask: maskReference, inputFidelity: "high" });

    const [edit] = edits(await requests());
    expect(edit!.status).toBe(200);
    expect(edit!.body).toEqual({
      model: "gpt-image-1.5",
      prompt: spec.prompt,
      n: "1",
      size: "1024x1024",
      quality: "low",
      output_format: "png",
      input_fidelity: "high",
      files: {
        image: [{ filename: "image-1.png", type: "image/png", bytes: input.length, sha256: await sha(input) }],
        mask: [{ filename: "mask.png", type: "image/png", bytes: mask.length, sha256: await sha(mask) }],
      },
    });
    expect(creates(await requests())).toEqual([]);
    expect(sniffImage(await imageBytes(result.images[0]!))).toEqual({ mimeType: "image/png", width: 1024, height: 1024 });
    expect(result.tokenUsage!.input_tokens_details.image_tokens).toBeGreaterThan(0);
  });

  it("sends several inputs as image[], in order", async () => {
    const { generate, requests } = await setup();
    const inputs = [source(2), source(3)];
    const references = await Promise.all(inputs.map((bytes) => storedReference(bytes)));
    await generate({ ...spec, width: 1024, height: 1024, references });
    const [edit] = edits(await requests());
    const files = (edit!.body as { files: Record<string, { sha256: string }[]> }).files;
    expect(Object.keys(files)).toEqual(["image[]"]);
    expect(files["image[]"]!.map((f) => f.sha256)).toEqual([await sha(inputs[0]!), await sha(inputs[1]!)]);
  });

  it("refuses an input that changed since it was accepted, without sending anything", async () => {
    const { generate, requests } = await setup();
    const reference = await storedReference(source(4));
    const error = await backendFailure(generate({ ...spec, width: 1024, height: 1024, references: [{ ...reference, sha256: "0".repeat(64) }] }));
    expect(error.kind).toBe("failed");
    expect(error.detail).toMatch(/changed after the request was accepted/);
    expect(await requests()).toEqual([]);
  });

  it("maps OpenAI's 400 about a mask to invalid_request naming the param", async () => {
    const { generate } = await setup();
    const reference = await storedReference(source(5));
    // Bypasses our own checks (they refuse such a mask first): OpenAI's answer must still be read right.
    const badMask = await storedReference(leftHalfMask(512, 512));
    const error = await backendFailure(generate({ ...spec, width: 1024, height: 1024, references: [reference], mask: badMask }));
    expect(error.kind).toBe("invalid_request");
    expect(error.extra.invalidFields).toEqual([{ field: "mask", message: expect.stringContaining("same dimensions") }]);
  });
});
