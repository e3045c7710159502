/**
 * The Together backend against the fake Together API (test/fakes/together): the request it sends,
 * the images it returns, and the resilience rules of a paid create. Each test takes its own key,
 * so scenarios never leak between tests.
 */
import { describe, expect, inject, it } from "vitest";
import type { GenerationSpec } from "../../src/backends/backend";
import { describeStatus } from "../../src/backends/backend";
import { togetherBackendType, togetherConfigSchema } from "../../src/backends/together";
import { sniffImage } from "../../src/backends/image-size";
import { creates, newKey, type Scenario } from "../fakes/openai-style/control";
import { imageBytes } from "../fakes/replicate/kit";
import { steppedClock } from "../helpers/clock";
import { backendFailure } from "../helpers/attempt";
import { hostedBackend } from "../helpers/hosted-backend";
import { failingNetwork } from "../helpers/network";

const fake = inject("fakes").together!;

const spec: GenerationSpec = { prompt: "a lighthouse at dusk", negative: "text", width: 1024, height: 768, seed: 42, n: 1 };

async function setup(config: Record<string, unknown> = {}, scenario: Scenario = {}, key: string | null = newKey("together"), network?: typeof fetch) {
  const hosted = await hostedBackend(
    togetherBackendType,
    fake,
    { model: "black-forest-labs/FLUX.1-schnell", ...config },
    { scenario, key, ...(network && { fetch: network }) },
  );
  return { ...hosted, generate: (s: GenerationSpec = spec) => hosted.generate(s) };
}

describe("together backend: generating", () => {
  it("sends Together's request (base64, png, width/height, seed, steps, negative prompt) and returns the PNGs made", async () => {
    const { generate, requests } = await setup({ default_steps: 4 });
    const result = await generate();

    const [create] = creates(await requests());
    expect(create!.body).toEqual({
      model: "black-forest-labs/FLUX.1-schnell",
      prompt: spec.prompt,
      width: 1024,
      height: 768,
      n: 1,
      seed: 42,
      steps: 4,
      negative_prompt: "text",
      response_format: "base64",
      output_format: "png",
    });
    expect(result).toMatchObject({ model: "black-forest-labs/FLUX.1-schnell", seed: 42 });
    expect(result.externalId).toEqual(expect.any(String));
    expect(result.images).toHaveLength(1);
    const bytes = await imageBytes(result.images[0]!);
    expect(sniffImage(bytes)).toEqual({ mimeType: "image/png", width: 1024, height: 768 });
    expect(result.images[0]).toMatchObject({ mimeType: "image/png", width: 1024, height: 768 });
  });

  it("returns every image of n > 1, each a real PNG, from one create", async () => {
    const { generate, requests } = await setup();
    const result = await generate({ ...spec, n: 3 });
    expect(result.images).toHaveLength(3);
    for (const image of result.images) expect(sniffImage(await imageBytes(image))?.mimeType).toBe("image/png");
    expect(creates(await requests())).toHaveLength(1);
  });

  it("leaves steps to Together when neither the request nor the instance names them", async () => {
    const { generate, requests } = await setup();
    await generate({ ...spec, negative: undefined });
    const body = creates(await requests())[0]!.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("steps");
    expect(body).not.toHaveProperty("negative_prompt");
  });
});

describe("together backend: failures", () => {
  it("fails not_configured naming the env var when the key is not set, sending nothing", async () => {
    const { generate } = await setup({ api_key_env: "MY_TOGETHER_KEY" }, {}, null);
    const error = await backendFailure(generate());
    expect(error.kind).toBe("not_configured");
    expect(error.detail).toContain("MY_TOGETHER_KEY");
  });

  it("names the env var when Together refuses the key (401)", async () => {
    const { generate, requests } = await setup({}, { fail_next: [{ status: 401 }] });
    const error = await backendFailure(generate());
    expect(error.kind).toBe("auth");
    expect(error.detail).toBe("Together API key missing or invalid; set TOGETHER_API_KEY");
    expect(creates(await requests())).toHaveLength(1);
  });

  it("waits out a 429 for as long as Retry-After says, then makes the images", async () => {
    const { generate, requests, clock } = await setup({}, { fail_next: [{ status: 429, retry_after: 2 }] });
    const result = await generate();
    expect(result.images).toHaveLength(1);
    expect(clock.sleeps).toEqual([2000]);
    expect(creates(await requests()).map((r) => r.status)).toEqual([429, 200]);
  });

  it("gives up as rate_limited when 429s outlast the retries", async () => {
    const fail = { status: 429, retry_after: 1 };
    const { generate, requests } = await setup({}, { fail_next: [fail, fail, fail, fail] });
    const error = await backendFailure(generate());
    expect(error.kind).toBe("rate_limited");
    expect(error.detail).toContain("after 3 retries; retry after 1 s");
    expect(error.extra.retryAfterMs).toBe(1000);
    expect(creates(await requests())).toHaveLength(4);
  });

  it("does not send the create again after a 500: the images may have been made and billed", async () => {
    const { generate, requests } = await setup({}, { fail_next: [{ status: 500 }] });
    const error = await backendFailure(generate());
    expect(error.kind).toBe("unavailable");
    expect(error.extra.ambiguous).toBe(true);
    expect(error.detail).toContain("not re-sent");
    expect(creates(await requests())).toHaveLength(1);
  });

  it("does not send the create again when the answer is lost after Together read it", async () => {
    const network = failingNetwork((request, lostSoFar) => request.method === "POST" && lostSoFar === 0, { afterSending: true });
    const { generate, requests } = await setup({}, {}, undefined, network.fetch);
    const error = await backendFailure(generate());
    expect(error.kind).toBe("unavailable");
    expect(error.extra.ambiguous).toBe(true);
    expect(network.dropped).toHaveLength(1);
    expect(creates(await requests())).toHaveLength(1);
  });

  it("maps Together's 400 for a size it does not make to invalid_request naming the field", async () => {
    const { generate } = await setup();
    const error = await backendFailure(generate({ ...spec, width: 2048 }));
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("width must be a multiple of 16 between 256 and 1792");
    expect(error.extra.invalidFields).toEqual([{ field: "width", message: expect.stringContaining("2048") }]);
  });

  it("maps an unknown model (404) to invalid_request", async () => {
    const { generate } = await setup({ model: "black-forest-labs/FLUX.9-imaginary" });
    const error = await backendFailure(generate());
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("Unable to access model");
  });

  it("maps 402 (credit limit) to insufficient_credit", async () => {
    const { generate } = await setup({}, { fail_next: [{ status: 402 }] });
    expect((await backendFailure(generate())).kind).toBe("insufficient_credit");
  });
});

describe("together backend: status", () => {
  it("is not configured, naming the env var, without a key", async () => {
    const { backend } = await setup({}, {}, null);
    expect(describeStatus(await backend.status())).toBe("not configured (set TOGETHER_API_KEY)");
  });

  it("is ok when GET /v1/models accepts the key, and probes once per TTL", async () => {
    const { backend, requests, clock } = await setup({ status_ttl_s: 30 });
    expect(await backend.status()).toEqual({ state: "ok" });
    expect(await backend.status()).toEqual({ state: "ok" });
    expect((await requests()).filter((r) => r.path === "/v1/models")).toHaveLength(1);
    await clock.sleep(30_000);
    await backend.status();
    expect((await requests()).filter((r) => r.path === "/v1/models")).toHaveLength(2);
  });

  it("says the key is rejected when Together answers the probe with 401", async () => {
    const clock = steppedClock();
    const config = togetherConfigSchema.parse({ type: "together", model: "black-forest-labs/FLUX.1-schnell", base_url: `${fake}/v1` });
    const backend = togetherBackendType.create("t", config, { env: { TOGETHER_API_KEY: "not-a-together-key" }, fetch: (...a) => fetch(...a), clock });
    expect(describeStatus(await backend.status())).toBe("key rejected (check TOGETHER_API_KEY): Together answered 401");
  });

  it("is unreachable when the probe cannot connect", async () => {
    const clock = steppedClock();
    const config = togetherConfigSchema.parse({ type: "together", model: "black-forest-labs/FLUX.1-schnell", base_url: `${fake}/v1` });
    // workerd's own words for a refused connection, without asking workerd to refuse one.
    const refused = async (): Promise<Response> => {
      throw new Error("Network connection lost.");
    };
    const backend = togetherBackendType.create("t", config, { env: { TOGETHER_API_KEY: newKey("together") }, fetch: refused, clock });
    expect(describeStatus(await backend.status())).toBe("unreachable: Together could not be reached (Network connection lost.)");
  });
});
