/**
 * How an OpenAI-style `{"error": {...}}` answer becomes a BackendError: the kind decides the HTTP
 * answer and whether a fallback may run, the detail says what to do.
 */
import { describe, expect, it } from "vitest";
import { decodeB64Image, providerError } from "../../../src/backends/openai-style";

const api = { label: "OpenAI", keyEnv: "OPENAI_API_KEY" };
const body = (message: string, extra: Record<string, unknown> = {}) => ({
  error: { message, type: "invalid_request_error", param: null, code: null, ...extra },
});
const call = { call: "POST /images/generations" };

describe("providerError", () => {
  it("names the env var on 401 and leaves out the provider's message, which quotes the key", () => {
    const error = providerError(api, 401, body("Incorrect API key provided: sk-abc********wxyz."), call);
    expect(error).toMatchObject({ kind: "auth", detail: "OpenAI API key missing or invalid; set OPENAI_API_KEY" });
    expect(error.detail).not.toContain("sk-");
  });

  it("treats a 429 for exhausted quota as out of credit, not as a rate limit to wait out", () => {
    const error = providerError(api, 429, body("You exceeded your current quota.", { type: "insufficient_quota", code: "insufficient_quota" }), call);
    expect(error.kind).toBe("insufficient_credit");
  });

  it("says how long to wait when a 429 outlasts the retries, and hands the wait on for Retry-After", () => {
    const error = providerError(api, 429, body("Rate limit reached"), { ...call, waitMs: 12_000, rateLimitRetries: 3 });
    expect(error.detail).toBe("OpenAI rate limit hit after 3 retries; retry after 12 s: Rate limit reached");
    expect(error.extra.retryAfterMs).toBe(12_000);
  });

  it("claims no retries when none were made", () => {
    const error = providerError(api, 429, body("Rate limit reached"), { ...call, waitMs: 600_000, rateLimitRetries: 0 });
    expect(error.detail).toBe("OpenAI rate limit hit; retry after 600 s: Rate limit reached");
  });

  it("marks a 5xx as ambiguous: the images may exist", () => {
    expect(providerError(api, 502, null, call)).toMatchObject({ kind: "unavailable", extra: { ambiguous: true } });
  });

  it("passes a 400's param on as the invalid field", () => {
    const error = providerError(api, 400, body("Invalid value: 'tiny'.", { param: "size", code: "invalid_value" }), call);
    expect(error).toMatchObject({ kind: "invalid_request", extra: { invalidFields: [{ field: "size", message: "Invalid value: 'tiny'." }] } });
  });

  it("answers a 403 as auth with the provider's reason (e.g. an unverified organisation)", () => {
    expect(providerError(api, 403, body("Your organization must be verified to use this model."), call)).toMatchObject({
      kind: "auth",
      detail: "OpenAI refused the key in OPENAI_API_KEY for this request: Your organization must be verified to use this model.",
    });
  });
});

describe("decodeB64Image", () => {
  it("fails as `failed` when the bytes are not an image", () => {
    expect(() => decodeB64Image("Together", btoa("hello"))).toThrow("Together returned 5 bytes that are not a PNG, JPEG or WebP image");
  });

  it("fails as `failed` on broken base64", () => {
    expect(() => decodeB64Image("Together", "***")).toThrow("Together returned an image that is not valid base64");
  });
});
