/**
 * The Replicate backend against the fake Replicate (test/fakes/replicate): the sync path, the
 * FLUX input mapping, downloads and every failure the design names. Each test takes its own
 * account (token) on the fake, so scenarios never leak between tests.
 */
import { describe, expect, inject, it } from "vitest";
import type { AttemptContext, BackendResult, GenerationSpec } from "../../src/backends/backend";
import { replicateBackendType, replicateConfigSchema } from "../../src/backends/replicate";
import { sniffImage } from "../../src/backends/image-size";
import { silentLogger } from "../../src/lib/log";
import type { Scenario } from "../fakes/replicate/control";
import { backendFailure as failure, runAttempt } from "../helpers/attempt";
import { imageBytes, newToken, requestsOf, setScenario, versionOf } from "../fakes/replicate/kit";
import { steppedClock } from "../helpers/clock";
import { failingNetwork } from "../helpers/network";

const fake = inject("fakes").replicate!;

const spec: GenerationSpec = { prompt: "a small fishbowl with a cat staring out", width: 1024, height: 1024, seed: 42, n: 1 };

/** A backend on a fresh fake account, the scenario set, with a stepped clock. */
async function setup(config: Record<string, unknown> = {}, scenario: Scenario = {}, token = newToken(), realFraction?: number, network: typeof fetch = fetch) {
  if (token.startsWith("r8_")) await setScenario(fake, token, scenario);
  const parsed = replicateConfigSchema.parse({
    type: "replicate",
    model: "black-forest-labs/flux-schnell",
    base_url: `${fake}/v1`,
    delivery_hosts: ["127.0.0.1"],
    ...config,
  });
  const clock = steppedClock(realFraction);
  const env: Record<string, string> = { [parsed.api_token_env]: token };
  const backend = replicateBackendType.create("flux-replicate", parsed, { env, fetch: (...a) => network(...a), clock });
  const ctx: AttemptContext = { signal: new AbortController().signal, clock, requestId: "req-test", log: silentLogger };
  const requests = () => requestsOf(fake, token);
  return { backend, ctx, clock, token, requests, generate: (s: GenerationSpec = spec) => runAttempt(backend, s, ctx) };
}

async function onlyImage(result: BackendResult) {
  expect(result.images).toHaveLength(1);
  const image = result.images[0]!;
  const bytes = await imageBytes(image);
  return { image, bytes, sniffed: sniffImage(bytes) };
}

const isCreate = (request: Request) => request.method === "POST" && new URL(request.url).pathname.endsWith("/predictions");
const creates = (rs: Awaited<ReturnType<typeof requestsOf>>) => rs.filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
const downloads = (rs: Awaited<ReturnType<typeof requestsOf>>) => rs.filter((r) => r.path.startsWith("/delivery/"));

describe("replicate backend: happy paths", () => {
  it("creates on the model endpoint with Prefer: wait and Cancel-After, and returns the PNG Replicate made", async () => {
    const { generate, requests } = await setup({}, { finalize_ms: 0 });
    const result = await generate();

    const [create] = creates(await requests());
    expect(create).toMatchObject({
      path: "/v1/models/black-forest-labs/flux-schnell/predictions",
      headers: { prefer: "wait=60", "cancel-after": "60s" },
      body: {
        input: {
          prompt: spec.prompt,
          seed: 42,
          aspect_ratio: "1:1",
          megapixels: "1",
          num_outputs: 1,
          output_format: "png",
          go_fast: false,
        },
      },
    });
    expect((create!.body as Record<string, unknown>).version).toBeUndefined();
    const { image, sniffed } = await onlyImage(result);
    expect(sniffed).toEqual({ mimeType: "image/png", width: 1024, height: 1024 });
    expect(image).toMatchObject({ mimeType: "image/png", width: 1024, height: 1024 });
    expect(result).toMatchObject({ model: "black-forest-labs/flux-schnell", seed: 42, predictTimeSeconds: 0.12 });
    expect(result.externalId).toMatch(/^[a-z2-7]{26}$/);
    expect(result.modelVersion).toBeUndefined(); // "hidden" on official models
    expect((await requests()).filter((r) => r.method === "GET" && r.path.startsWith("/v1/"))).toHaveLength(0);
  });

  it("creates a version-pinned model on /v1/predictions with the version in the body", async () => {
    const version = await versionOf(fake, "black-forest-labs/flux-schnell");
    const { generate, requests } = await setup({ model: `black-forest-labs/flux-schnell:${version}` }, { finalize_ms: 0 });
    const result = await generate();

    const [create] = creates(await requests());
    expect(create).toMatchObject({ path: "/v1/predictions", body: { version, input: { prompt: spec.prompt } } });
    expect(result.modelVersion).toBe(version);
    expect((await onlyImage(result)).sniffed?.width).toBe(1024);
  });

  it("streams a download of known length with that length", async () => {
    const { generate } = await setup({}, {});
    const result = await generate();
    const image = result.images[0]!;
    expect("stream" in image).toBe(true);
    const bytes = await imageBytes(image);
    expect("byteLength" in image && image.byteLength).toBe(bytes.length);
  });

  it("buffers a download whose length is not announced", async () => {
    const { generate } = await setup({}, { chunked_downloads: true });
    const { image, sniffed } = await onlyImage(await generate());
    expect("bytes" in image).toBe(true);
    expect(sniffed?.mimeType).toBe("image/png");
  });

  it("collects outputs as soon as sync mode says they exist, before the prediction is finalised", async () => {
    const { generate, requests } = await setup({}, { finalize_ms: 60_000 });
    const result = await generate();
    expect((await onlyImage(result)).sniffed?.mimeType).toBe("image/png");
    // Replicate has not written metrics yet: no predict time, and no polling to wait for it.
    expect(result.predictTimeSeconds).toBeUndefined();
    expect((await requests()).filter((r) => r.method === "GET" && r.path.startsWith("/v1/"))).toHaveLength(0);
  });

  it("polls every poll_interval_ms when the create call answers 202 before the outputs exist", async () => {
    const { generate, requests, clock } = await setup({ wait_s: 1, poll_interval_ms: 500 }, { processing_ms: 400, finalize_ms: 0, time_scale: 0.05 });
    const result = await generate();
    const rs = await requests();
    expect(rs[0]!.headers.prefer).toBe("wait=1");
    expect(rs.filter((r) => r.method === "GET" && r.path === `/v1/predictions/${result.externalId}`).length).toBeGreaterThan(0);
    expect(clock.sleeps.every((ms) => ms === 500)).toBe(true);
    expect(result.predictTimeSeconds).toBe(0.4);
    expect((await onlyImage(result)).sniffed?.width).toBe(1024);
  });

  it("accepts data: URI outputs", async () => {
    const { generate, requests } = await setup({}, { output_mode: "data_uri", finalize_ms: 0 });
    const { image, sniffed } = await onlyImage(await generate());
    expect("bytes" in image).toBe(true);
    expect(sniffed).toEqual({ mimeType: "image/png", width: 1024, height: 1024 });
    expect(downloads(await requests())).toHaveLength(0);
  });

  it("returns every image of a multi-output schnell prediction", async () => {
    const { generate } = await setup({}, { finalize_ms: 0 });
    const result = await generate({ ...spec, n: 3 });
    expect(result.images).toHaveLength(3);
    for (const image of result.images) expect(sniffImage(await imageBytes(image))?.width).toBe(1024);
  });

  it("reports the type and size of JPEG and WebP outputs from their bytes", async () => {
    for (const format of ["jpg", "webp"] as const) {
      const { generate } = await setup({ output_format: format }, { finalize_ms: 0 });
      const { image, sniffed } = await onlyImage(await generate({ ...spec, width: 1344, height: 768 }));
      const mimeType = format === "jpg" ? "image/jpeg" : "image/webp";
      expect(sniffed).toEqual({ mimeType, width: 1344, height: 768 });
      expect(image).toMatchObject({ mimeType, width: 1344, height: 768 });
    }
  });
});

describe("replicate backend: FLUX input mapping", () => {
  it("reduces a schnell request to the nearest aspect ratio and reports the size produced", async () => {
    const { generate, requests } = await setup({}, { finalize_ms: 0 });
    const result = await generate({ ...spec, width: 1536, height: 768 });
    expect(creates(await requests())[0]!.body).toMatchObject({ input: { aspect_ratio: "16:9", megapixels: "1" } });
    expect(result.images[0]).toMatchObject({ width: 1344, height: 768 });
  });

  it("asks schnell for 0.25 megapixels when the request is small", async () => {
    const { generate, requests } = await setup({}, { finalize_ms: 0 });
    const result = await generate({ ...spec, width: 512, height: 512 });
    expect(creates(await requests())[0]!.body).toMatchObject({ input: { aspect_ratio: "1:1", megapixels: "0.25" } });
    expect(result.images[0]).toMatchObject({ width: 512, height: 512 });
  });

  it("sends flux-1.1-pro a custom size in multiples of 32 and takes its single-string output", async () => {
    const { generate, requests } = await setup({ model: "black-forest-labs/flux-1.1-pro" }, { finalize_ms: 0 });
    const result = await generate({ ...spec, width: 1000, height: 700 });
    const input = (creates(await requests())[0]!.body as { input: Record<string, unknown> }).input;
    expect(input).toMatchObject({ aspect_ratio: "custom", width: 992, height: 704, seed: 42, output_format: "png" });
    expect(input.num_outputs).toBeUndefined();
    const { sniffed } = await onlyImage(result);
    expect(sniffed).toEqual({ mimeType: "image/png", width: 992, height: 704 });
  });

  it("clamps flux-1.1-pro sizes to 256..1440", async () => {
    const { generate, requests } = await setup({ model: "black-forest-labs/flux-1.1-pro" }, { finalize_ms: 0 });
    await generate({ ...spec, width: 2048, height: 128 });
    expect(creates(await requests())[0]!.body).toMatchObject({ input: { width: 1440, height: 256 } });
  });

  it("sends flux-dev its steps and the instance's fixed extra inputs", async () => {
    const { generate, requests } = await setup({ model: "black-forest-labs/flux-dev", default_steps: 28, extra_input: { guidance: 3.5 } }, { finalize_ms: 0 });
    await generate();
    expect(creates(await requests())[0]!.body).toMatchObject({ input: { num_inference_steps: 28, guidance: 3.5, go_fast: false } });
  });

  it("refuses more than 4 steps on schnell before calling Replicate, naming the field", async () => {
    const { generate, requests } = await setup();
    const error = await failure(generate({ ...spec, steps: 8 }));
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("num_inference_steps");
    expect(error.extra.invalidFields).toEqual([expect.objectContaining({ field: "input.num_inference_steps" })]);
    expect(await requests()).toHaveLength(0);
  });

  it("refuses n > 1 on single-image models", async () => {
    const { generate } = await setup({ model: "black-forest-labs/flux-1.1-pro" });
    const error = await failure(generate({ ...spec, n: 2 }));
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("n=1");
  });
});

describe("replicate backend: status", () => {
  it("is ok when the token variable is set", async () => {
    const { backend } = await setup();
    expect(await backend.status()).toEqual({ state: "ok" });
  });

  it("is not configured, naming the configured variable, when the token is missing", async () => {
    const config = replicateConfigSchema.parse({ type: "replicate", model: "black-forest-labs/flux-schnell", api_token_env: "MY_REPLICATE" });
    const backend = replicateBackendType.create("r", config, { env: { MY_REPLICATE: " " }, fetch, clock: steppedClock() });
    expect(await backend.status()).toEqual({ state: "not_configured", missingEnv: ["MY_REPLICATE"] });
  });
});

describe("replicate backend: Replicate's errors", () => {
  it("maps 401 to auth, naming the configured token variable", async () => {
    const { generate } = await setup({ api_token_env: "IMAGEN_REPLICATE_TOKEN" }, {}, "not-a-replicate-token");
    const error = await failure(generate());
    expect(error.kind).toBe("auth");
    expect(error.detail).toBe("Replicate API token missing or invalid; set IMAGEN_REPLICATE_TOKEN");
  });

  it("maps 402 to insufficient_credit", async () => {
    const { generate } = await setup({}, { next_create: [{ status: 402 }] });
    const error = await failure(generate());
    expect(error.kind).toBe("insufficient_credit");
    expect(error.detail).toContain("out of credit");
  });

  it("maps 422 to invalid_request carrying Replicate's invalid_fields", async () => {
    const { generate } = await setup({ extra_input: { output_quality: 150 } });
    const error = await failure(generate());
    expect(error.kind).toBe("invalid_request");
    expect(error.detail).toContain("input.output_quality: Must be less than or equal to 100");
    expect(error.extra.invalidFields).toEqual([{ type: "number_lte", field: "input.output_quality", description: "Must be less than or equal to 100" }]);
  });

  it("waits the retry_after of a 429 body, then succeeds", async () => {
    const { generate, clock, requests } = await setup({}, { next_create: [{ status: 429, retry_after: 7 }], finalize_ms: 0 });
    await generate();
    expect(clock.sleeps).toEqual([7000]);
    expect(creates(await requests())).toHaveLength(2);
  });

  it("waits the Retry-After header of a 429, then succeeds", async () => {
    const { generate, clock } = await setup({}, { next_create: [{ status: 429, retry_after_header: 3 }], finalize_ms: 0 });
    await generate();
    expect(clock.sleeps).toEqual([3000]);
  });

  it("backs off exponentially on a 429 without a hint and gives up as rate_limited after 3 retries", async () => {
    const throttled = { status: 429 };
    const { generate, clock, requests } = await setup({}, { next_create: [throttled, throttled, throttled, throttled] });
    const error = await failure(generate());
    expect(error.kind).toBe("rate_limited");
    expect(error.detail).toContain("Replicate rate limit hit after 3 retries");
    expect(error.extra.retryAfterMs).toBeUndefined();
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
    expect(creates(await requests())).toHaveLength(4);
  });

  it("a create whose 5xx the list proves never took is sent once more, and succeeds", async () => {
    const { generate, requests } = await setup({}, { next_create: [{ status: 503 }], finalize_ms: 0 });
    const result = await generate();
    expect(result.images).toHaveLength(1);
    const made = await requests();
    expect(creates(made)).toHaveLength(2);
    expect(made.filter((r) => r.method === "GET" && r.path === "/v1/predictions")).toHaveLength(1);
  });

  it("never sends a create a third time: a second lost answer the list cannot explain fails ambiguous", async () => {
    const { generate, requests } = await setup({}, { next_create: [{ status: 503 }, { status: 503 }], finalize_ms: 0 });
    const error = await failure(generate());
    expect(error).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    expect(error.detail).toContain("was not sent again");
    const made = await requests();
    expect(creates(made)).toHaveLength(2);
    expect(made.filter((r) => r.method === "GET" && r.path === "/v1/predictions")).toHaveLength(2);
  });

  it("adopts the prediction a create made when its 5xx answer came after Replicate accepted the work", async () => {
    const { generate, requests, token } = await setup({}, { next_create: [{ status: 502, after_create: true }], finalize_ms: 0 });
    const result = await generate();
    expect(result.images).toHaveLength(1);
    expect(creates(await requests())).toHaveLength(1);
    const listed = await (await fetch(`${fake}/v1/predictions`, { headers: { authorization: `Bearer ${token}` } })).json<{ results: { id: string }[] }>();
    expect(listed.results.map((p) => p.id)).toEqual([result.externalId]);
  });

  it("adopts the prediction a create made when the connection dropped before the answer", async () => {
    // The create reaches Replicate; its answer never comes back.
    const answerLost: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      if (!isCreate(request)) return response;
      await response.body?.cancel();
      throw new Error("Network connection lost.");
    };
    const { generate, requests } = await setup({}, { finalize_ms: 0 }, undefined, undefined, answerLost);
    const result = await generate();
    expect(result.images).toHaveLength(1);
    expect(result.seed).toBe(spec.seed);
    expect(creates(await requests())).toHaveLength(1);
  });

  it("does not adopt an earlier prediction whose input differs only in its seed", async () => {
    const token = newToken();
    const first = await setup({}, { finalize_ms: 0 }, token);
    await first.generate({ ...spec, seed: 1 });
    const { generate, requests } = await setup({}, { next_create: [{ status: 500 }, { status: 500 }], finalize_ms: 0 }, token);
    expect(await failure(generate())).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    expect(creates(await requests())).toHaveLength(3);
  });

  it("fails ambiguous, without a second create, when the lookup itself cannot be made", async () => {
    const { generate, requests } = await setup({}, { next_create: [{ status: 500, after_create: true }], next_list: [{ status: 500 }, { status: 500 }] });
    const error = await failure(generate());
    expect(error).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    expect(error.detail).toContain("looking the prediction up failed too");
    expect(creates(await requests())).toHaveLength(1);
  });

  it("summarises a proxy's HTML error page as status and title, never passing markup on", async () => {
    const page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
    const { generate } = await setup(
      {},
      {
        next_create: [
          { status: 502, html: page },
          { status: 502, html: page },
        ],
      },
    );
    const error = await failure(generate());
    expect(error.kind).toBe("unavailable");
    expect(error.detail).toMatch(
      /^Replicate answered 502 to POST \/models\/black-forest-labs\/flux-schnell\/predictions: an HTML page titled "502 Bad Gateway"; /,
    );
    expect(error.detail).not.toMatch(/[<>]/);
  });

  it("sends a create whose connection dropped once more when the list proves it never arrived, never a third time", async () => {
    const network = failingNetwork(isCreate);
    const { generate, requests } = await setup({}, {}, undefined, undefined, network.fetch);
    expect(await failure(generate())).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
    expect(network.dropped).toHaveLength(2);
    expect(creates(await requests())).toHaveLength(0);
  });

  it("retries a 5xx while polling once", async () => {
    const { generate } = await setup({ wait_s: 1 }, { processing_ms: 300, finalize_ms: 0, time_scale: 0.01, next_get: [{ status: 500 }] });
    expect((await generate()).images).toHaveLength(1);
  });

  it("keeps polling through a provider that cannot be asked for a moment, and takes the images", async () => {
    const { generate, requests } = await setup(
      { wait_s: 1 },
      { processing_ms: 300, finalize_ms: 0, time_scale: 0.01, next_get: [{ status: 500 }, { status: 500 }, { status: 500 }] },
    );
    expect((await generate()).images).toHaveLength(1);
    expect((await requests()).some((r) => r.path.endsWith("/cancel"))).toBe(false);
  });
});

describe("replicate backend: predictions that do not succeed", () => {
  it("fails with Replicate's error message when the prediction fails", async () => {
    const { generate } = await setup({}, { outcome: "failed", error: "NSFW content detected in image 0" });
    const error = await failure(generate());
    expect(error.kind).toBe("failed");
    expect(error.detail).toContain("NSFW content detected in image 0");
    expect(error.extra.externalId).toMatch(/^[a-z2-7]{26}$/);
  });

  it("fails when the prediction was canceled", async () => {
    const { generate } = await setup({}, { outcome: "canceled" });
    const error = await failure(generate());
    expect(error.kind).toBe("failed");
    expect(error.detail).toContain("was canceled");
  });

  it("times out when Cancel-After aborted the prediction before it started (our deadline, whoever noticed first)", async () => {
    // Cancel-After 5s (the minimum) passes in 25 ms at this time scale, while the model is still booting.
    const { generate, requests } = await setup({ timeout_s: 5 }, { starting_ms: 10_000, time_scale: 0.005 });
    const error = await failure(generate());
    expect(error.kind).toBe("timeout");
    expect(error.detail).toContain("aborted");
    expect(creates(await requests())[0]!.headers["cancel-after"]).toBe("5s");
  });

  it("cancels the prediction at the instance timeout and fails with timeout and the prediction id", async () => {
    // Our 2 s pass in a few ms of polling; the fake's Cancel-After (5 s, the minimum) would take 500 ms.
    const { generate, requests, token } = await setup(
      { timeout_s: 2, wait_s: 1, poll_interval_ms: 500 },
      { outcome: "hang", time_scale: 0.1 },
      newToken(),
      0.005,
    );
    const error = await failure(generate());
    expect(error.kind).toBe("timeout");
    const id = error.extra.externalId!;
    expect(error.detail).toMatch(new RegExp(`canceled ${id} after 2000 ms$`));
    const rs = await requests();
    expect(rs.some((r) => r.method === "POST" && r.path === `/v1/predictions/${id}/cancel`)).toBe(true);
    const after = await (await fetch(`${fake}/v1/predictions/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json();
    expect(after).toMatchObject({ status: "canceled" });
  });
});

describe("replicate backend: outputs", () => {
  it("retries a download that answered 5xx once", async () => {
    const { generate, requests } = await setup({}, { next_download: [{ status: 502 }], finalize_ms: 0 });
    const { sniffed } = await onlyImage(await generate());
    expect(sniffed?.mimeType).toBe("image/png");
    expect(downloads(await requests())).toHaveLength(2);
  });

  it("retries a download whose connection dropped once", async () => {
    const network = failingNetwork((request, dropsSoFar) => new URL(request.url).pathname.startsWith("/delivery/") && dropsSoFar < 1);
    const { generate, requests } = await setup({}, { finalize_ms: 0 }, undefined, undefined, network.fetch);
    await onlyImage(await generate());
    expect(network.dropped).toHaveLength(1);
    expect(downloads(await requests())).toHaveLength(1);
  });

  it("keeps fetching paid outputs through repeated download failures, with backoff", async () => {
    const failing = Array.from({ length: 4 }, () => ({ status: 503 }));
    const { generate, requests, clock } = await setup({}, { next_download: failing, finalize_ms: 0 });
    await onlyImage(await generate());
    expect(downloads(await requests())).toHaveLength(5);
    expect(clock.sleeps.slice(-4)).toEqual([250, 500, 1000, 2000]);
  });

  it("gives up on a download that keeps failing once the attempt's deadline has passed, saying what was billed", async () => {
    const failing = Array.from({ length: 40 }, () => ({ status: 500 }));
    const { generate, requests } = await setup({ timeout_s: 5 }, { next_download: failing, finalize_ms: 0 });
    const error = await failure(generate());
    expect(error.kind).toBe("paid_output_lost");
    expect(error.detail).toMatch(/^Replicate made and billed 1 image\(s\) for prediction \S+, but they could not be stored: .*could not download output 0/);
    expect(error.extra.charged).toMatchObject({ images: 1, width: expect.any(Number), height: expect.any(Number) });
    // 250 ms doubling to 30 s: the tries that fit in the minute past the deadline, then no more.
    expect(downloads(await requests()).length).toBeLessThan(15);
    expect(downloads(await requests()).length).toBeGreaterThan(4);
  });

  it("refuses outputs on hosts that are not delivery hosts, without fetching them", async () => {
    const { generate } = await setup({}, { output_host: "images.evil.example", finalize_ms: 0 });
    const error = await failure(generate());
    // Replicate billed the prediction all the same: the images are paid for and not stored.
    expect(error.kind).toBe("paid_output_lost");
    expect(error.detail).toContain("images.evil.example, which is not a delivery host");
  });

  it("refuses the fake's own host when only the default delivery hosts are allowed", async () => {
    const { generate, requests } = await setup({ delivery_hosts: ["replicate.delivery", "*.replicate.delivery"] }, { finalize_ms: 0 });
    const error = await failure(generate());
    expect(error.detail).toContain("127.0.0.1");
    expect(downloads(await requests())).toHaveLength(0);
  });
});
