/**
 * PENDING (not in test/ on purpose): the over-budget answer through the official SDK. It passes
 * once the spend guard is wired into the runner's deps (W-GUARD: `pipelineDepsFor` hands the
 * runner a real `deps.guard` instead of NO_GUARD, so `reserve()` throws BudgetExceededError
 * before the paid create). Move it into test/handlers/openai-retries.test.ts (it reuses that
 * file's `sdk()` helper) and add these imports there:
 *
 *   import { APIError } from "openai";
 *   import { inject } from "vitest";
 *   import { creates, newKey, requestsOf } from "../fakes/openai-style/control";
 *
 * What it needs: guard.default.daily_usd honoured by the runner's reserve for the OpenAI route;
 * problemFor(BudgetExceededError) → 402 (already there); the OpenAI error middleware marks 402
 * `x-should-retry: false` (it does: status < 500 is "retryable" today — CHANGE openAIError so a
 * 402 `budget-exceeded` is not retryable, or the SDK would not retry a 402 anyway: the SDK retries
 * only 408/409/429/5xx, so x-should-retry is asserted to make the no-retry explicit).
 */
describe("an over-budget caller", () => {
  it("gets the SDK's APIError 402 with x-should-retry false, which the SDK does not retry; nothing is created upstream", async () => {
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

    const error = await client.images.generate({ model: "openai-images", prompt: "too dear", size: "1024x1024" }).then(() => null, (e: unknown) => e);

    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 402, type: "insufficient_quota", code: "budget_exceeded" });
    expect((error as APIError).headers.get("x-should-retry")).toBe("false");
    expect(answers.map((a) => a.status)).toEqual([402]);
    expect(creates(await requestsOf(fakes.openai!, openaiKey))).toHaveLength(0);
  });
});
