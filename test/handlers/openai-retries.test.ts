/**
 * The official `openai` SDK's own retries against the OpenAI-compatible route: a retry after a
 * lost answer never generates twice, and a rate-limited key ends in the SDK's RateLimitError
 * after it retried as Retry-After said.
 */
import OpenAI, { APIError, RateLimitError, toFile } from "openai";
import { encodeCellPng } from "../../src/backends/mock/png";
import { describe, expect, inject, it } from "vitest";
import { creates, newKey, requestsOf } from "../fakes/openai-style/control";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, BASE, seedKey } from "../helpers/world";

/** The SDK sending to an app on `config`; `answers` are the Worker's answers in order. */
function sdk(apiKey: string, config: unknown, options: { maxRetries: number; loseFirstAnswer?: boolean }, secrets: Record<string, string> = {}) {
  const app = appWithConfig(config, secrets);
  const answers: Response[] = [];
  const retryCounts: (string | null)[] = [];
  const client = new OpenAI({
    apiKey,
    baseURL: `${BASE}/v1`,
    maxRetries: options.maxRetries,
    fetch: async (input, init) => {
      // The SDK's one-off check that this fetch can send FormData (before multipart requests): no network.
      if (String(input).startsWith("data:")) return fetch(input, init);
      const request = new Request(input, init);
      retryCounts.push(request.headers.get("x-stainless-retry-count"));
      const url = new URL(request.url);
      const answer = await app.call(url.pathname + url.search, request);
      answers.push(answer.clone());
      if (options.loseFirstAnswer && answers.length === 1) {
        // The Worker made and stored the images, then the connection broke before the answer arrived.
        await answer.arrayBuffer();
        throw new TypeError("fetch failed: the connection was reset");
      }
      return answer;
    },
  });
  return { client, answers, retryCounts };
}

describe("an SDK retry after a lost answer", () => {
  it("is answered from the first generation: one generation, one usage row", async () => {
    const key = await seedKey("sdk-lost-answer");
    const { client, answers, retryCounts } = sdk(key, testConfig(), { maxRetries: 2, loseFirstAnswer: true });

    const result = await client.images.generate({ model: "mock", prompt: "a lighthouse in fog", size: "64x64" });

    expect(retryCounts).toEqual(["0", "1"]);
    expect(answers.map((a) => [a.status, a.headers.get("idempotent-replayed")])).toEqual([
      [200, null],
      [200, "true"],
    ]);
    expect(await answers[1]!.json()).toEqual(await answers[0]!.json());
    expect(result.data![0]!.b64_json).toBeTruthy();
    const requestId = answers[0]!.headers.get("x-request-id")!;
    expect((await ledgerRows(requestId, 1)).map((r) => [r.backend, r.success])).toEqual([["mock", 1]]);
    expect(answers[1]!.headers.get("x-request-id")).not.toBe(requestId);
  });

  it("a new request with the same body (retry count 0) generates again", async () => {
    const key = await seedKey("sdk-same-body");
    const { client, answers } = sdk(key, testConfig(), { maxRetries: 0 });

    await client.images.generate({ model: "mock", prompt: "the same prompt", size: "64x64" });
    await client.images.generate({ model: "mock", prompt: "the same prompt", size: "64x64" });

    expect(answers.map((a) => a.headers.get("idempotent-replayed"))).toEqual([null, null]);
    expect(answers[0]!.headers.get("x-request-id")).not.toBe(answers[1]!.headers.get("x-request-id"));
  });
});

describe("an SDK retry of an edit after a lost answer", () => {
  it("is the same request though its multipart boundary is new: one edit, one usage row", async () => {
    const key = await seedKey("sdk-lost-edit");
    const { client, answers, retryCounts } = sdk(key, testConfig(), { maxRetries: 2, loseFirstAnswer: true });
    const png = encodeCellPng(64, 64, 8, (cx, cy) => [cx * 30, cy * 30, 90]);

    const result = await client.images.edit({ model: "mock", image: await toFile(png, "s.png", { type: "image/png" }), prompt: "invert", size: "64x64" });

    expect(retryCounts).toEqual(["0", "1"]);
    expect(answers.map((a) => [a.status, a.headers.get("idempotent-replayed")])).toEqual([
      [200, null],
      [200, "true"],
    ]);
    expect(result.data![0]!.b64_json).toBeTruthy();
    const requestId = answers[0]!.headers.get("x-request-id")!;
    expect((await ledgerRows(requestId, 1)).map((r) => [r.backend, r.success])).toEqual([["mock", 1]]);
  });

  it("with another image is another request", async () => {
    const key = await seedKey("sdk-two-edits");
    const { client, answers, retryCounts } = sdk(key, testConfig(), { maxRetries: 0 });
    for (const shade of [10, 200]) {
      const png = encodeCellPng(64, 64, 8, () => [shade, shade, shade]);
      await client.images.edit(
        { model: "mock", image: await toFile(png, "s.png", { type: "image/png" }), prompt: "invert", size: "64x64" },
        { headers: { "x-stainless-retry-count": "1" } },
      );
    }
    // Both claim to be retries: only the fingerprint (which hashes the image part) tells them apart.
    expect(retryCounts).toEqual(["1", "1"]);
    expect(answers.map((a) => a.headers.get("idempotent-replayed"))).toEqual([null, null]);
  });
});

describe("a rate-limited key", () => {
  it("ends in the SDK's RateLimitError after its retries; nothing generated for the refused requests", async () => {
    const key = await seedKey("sdk-rate-limited");
    const config = testConfig({ guard: { default: { rate_limit: { requests: 1, window_seconds: 3600 } } } });
    const { client, answers } = sdk(key, config, { maxRetries: 1 });
    await client.images.generate({ model: "mock", prompt: "the one allowed", size: "64x64" });

    const error = await client.images.generate({ model: "mock", prompt: "one too many", size: "64x64" }).then(
      () => null,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: "rate_limit_exceeded", type: "rate_limit_error" });
    expect(Number((error as RateLimitError).headers.get("retry-after"))).toBeGreaterThan(0);
    expect(answers.map((a) => a.status)).toEqual([200, 429, 429]);
  });

  it("is retried by the SDK once Retry-After has passed, and then served", async () => {
    const key = await seedKey("sdk-retry-after");
    const config = testConfig({ guard: { default: { rate_limit: { requests: 1, window_seconds: 1 } } } });
    const { client, answers } = sdk(key, config, { maxRetries: 2 });
    await client.images.generate({ model: "mock", prompt: "first", size: "64x64" });

    const second = await client.images.generate({ model: "mock", prompt: "second", size: "64x64" });

    expect(second.data).toHaveLength(1);
    expect(answers.map((a) => a.status)).toEqual([200, 429, 200]);
    expect(answers[1]!.headers.get("retry-after")).toBe("1");
  });
});

describe("an over-budget caller", () => {
  it("gets the SDK's APIError 402 naming the cap, which the SDK does not retry; nothing is created upstream", async () => {
    const fakes = inject("fakes");
    const openaiKey = newKey("openai");
    const key = await seedKey("sdk-over-budget");
    const config = testConfig({
      providers: { openai: { base_url: `${fakes.openai}/v1` } },
      backends: { ...testConfig().backends, "openai-images": { type: "openai", model: "gpt-image-1.5", quality: "high", sizes: ["1024x1024"] } },
      // gpt-image-1.5 high 1024x1024 costs $0.133 per image: one image is over this cap.
      guard: { default: { daily_usd: 0.01 } },
    });
    const { client, answers } = sdk(key, config, { maxRetries: 2 }, { OPENAI_API_KEY: openaiKey });

    const error = await client.images.generate({ model: "openai-images", prompt: "too dear", size: "1024x1024" }).then(
      () => null,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 402, type: "insufficient_quota", code: "budget_exceeded" });
    expect(answers.map((a) => a.status)).toEqual([402]);
    expect(creates(await requestsOf(fakes.openai!, openaiKey))).toHaveLength(0);
  });
});
