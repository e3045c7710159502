/**
 * POST /v1/webhooks/{type}: mounted outside the API-key check (the signature authenticates),
 * refusals as problem+json, and nothing reaches a job unless the signature holds.
 * (Signed deliveries driving real jobs: test/jobs/replicate-jobs.test.ts.)
 */
import { describe, expect, inject, it } from "vitest";
import { newToken } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { appWithConfig } from "../helpers/world";
import { signV1 } from "../helpers/webhook-signing";

const fake = inject("fakes").replicate!;
const SECRET = `whsec_${btoa("replicate-webhook-secret-for-tests")}`;
const JOB = "01jdq7r5m4c9x2v8t6p0n3b1hw";

/** A fresh config object per app: parsed configs (and the backends made from them) are cached per object. */
const config = () =>
  testConfig({
    backends: {
      ...testConfig().backends,
      flux: { type: "replicate", model: "black-forest-labs/flux-schnell", base_url: `${fake}/v1`, delivery_hosts: ["127.0.0.1"] },
    },
  });

async function signed(body: string, id = "msg_route_test", timestamp = Math.floor(Date.now() / 1000)) {
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signV1(SECRET, id, timestamp, body),
  };
}

const body = JSON.stringify({ id: "abc", status: "succeeded", input: {}, output: [] });

describe("POST /v1/webhooks/replicate", () => {
  it("needs no API key: a correctly signed delivery for an unknown job gets 404, not 401", async () => {
    const app = appWithConfig(config(), { REPLICATE_WEBHOOK_SECRET: SECRET, REPLICATE_API_TOKEN: newToken() });

    const response = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=flux`, { method: "POST", headers: await signed(body), body });

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: "urn:imagen-edge:problem:not-found", detail: `no job ${JOB}` });
  });

  it("refuses a delivery without the webhook headers with 401 problem+json", async () => {
    const app = appWithConfig(config(), { REPLICATE_WEBHOOK_SECRET: SECRET });

    const response = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=flux`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });

    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ status: 401, detail: expect.stringContaining("webhook-id, webhook-timestamp and webhook-signature") });
  });

  it("refuses a body changed after signing", async () => {
    const app = appWithConfig(config(), { REPLICATE_WEBHOOK_SECRET: SECRET });

    const response = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=flux`, {
      method: "POST",
      headers: await signed(body),
      body: body.replace("succeeded", "failed"),
    });

    expect(response.status).toBe(401);
  });

  it("answers 404 (this instance takes no webhooks) when the instance's webhook secret is missing, naming the variable only in the log", async () => {
    const app = appWithConfig(config());

    const response = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=flux`, { method: "POST", headers: await signed(body), body });

    expect(response.status).toBe(404);
    const refusal = await response.json<{ type: string; detail: string }>();
    expect(refusal).toMatchObject({ type: "urn:imagen-edge:problem:not-found", detail: expect.stringContaining("takes no replicate webhooks") });
    expect(refusal.detail).not.toContain("REPLICATE_WEBHOOK_SECRET");
    expect(app.logs.find((l) => l.line.includes("cannot verify"))).toMatchObject({ level: "warn", line: expect.stringContaining("REPLICATE_WEBHOOK_SECRET") });
  });

  it("answers 404 for an instance that is not of this type or takes no webhooks", async () => {
    const app = appWithConfig(config(), { REPLICATE_WEBHOOK_SECRET: SECRET });

    const mock = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=mock`, { method: "POST", headers: await signed(body), body });
    const unknown = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=nope`, { method: "POST", headers: await signed(body), body });
    const mockType = await app.call(`/v1/webhooks/mock?job=${JOB}&backend=mock`, { method: "POST", headers: await signed(body), body });

    expect([mock.status, unknown.status, mockType.status]).toEqual([404, 404, 404]);
  });

  it("refuses a validly signed body nested 5,000 deep with 400, before anything walks it", async () => {
    const app = appWithConfig(config(), { REPLICATE_WEBHOOK_SECRET: SECRET, REPLICATE_API_TOKEN: newToken() });
    const deep = JSON.stringify({ id: "abc", status: "succeeded", input: {}, output: "[".repeat(5000) + "]".repeat(5000) }).replace(/"(\[+\]+)"/, "$1");
    expect(deep).toContain(`"output":[[[`);

    const response = await app.call(`/v1/webhooks/replicate?job=${JOB}&backend=flux`, { method: "POST", headers: await signed(deep), body: deep });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: "urn:imagen-edge:problem:invalid-request", detail: expect.stringContaining("nested deeper than") });
  });

  it("answers 400 naming the query field when job or backend is missing or malformed", async () => {
    const app = appWithConfig(config(), { REPLICATE_WEBHOOK_SECRET: SECRET });

    const response = await app.call(`/v1/webhooks/replicate?job=nope&backend=flux`, { method: "POST", headers: await signed(body), body });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ field: "job" }] });
  });

  it("is listed in the OpenAPI document without a security requirement", async () => {
    const app = appWithConfig(config());
    const doc = await (await app.call("/openapi.json")).json<{ paths: Record<string, Record<string, { security?: unknown }>> }>();

    expect(doc.paths["/v1/webhooks/{type}"]!.post!.security).toEqual([]); // explicitly none: the signature authenticates
    expect(doc.paths["/v1/jobs/{id}"]!.get!.security).toEqual([{ bearer: [] }]);
  });
});
