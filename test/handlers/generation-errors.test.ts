import { describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { allKeys, appWithConfig, postJson, seedKey } from "../helpers/world";

/**
 * Waits until a request's usage rows reached the ledger: the queue consumer must not still be
 * running when the file's environment is torn down (workerd reports that as an uncaught error).
 */
async function delivered(response: Response, attempts: number): Promise<Response> {
  await ledgerRows(response.headers.get("x-request-id")!, attempts);
  return response;
}

describe("backend failures over HTTP", () => {
  it("answers a failing backend with a problem carrying the backend, its message, latency and attempts", async () => {
    const key = await seedKey("unlucky");
    const app = appWithConfig(testConfig());
    const before = await allKeys();
    const res = await delivered(await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "mock-down" })), 1);
    expect(res.status).toBe(502);
    const body = await res.json<any>();
    expect(body).toMatchObject({
      type: "urn:imagen-edge:problem:backend-unavailable",
      backend: "mock-down",
      detail: 'mock backend "mock-down" injected a unavailable failure',
    });
    expect(typeof body.latency_ms).toBe("number");
    expect(body.attempts).toHaveLength(1);
    expect(await allKeys()).toEqual(before);
  });

  it("maps a timeout to 504 and a rejected request to 400", async () => {
    const key = await seedKey("unlucky2");
    const app = appWithConfig(
      testConfig({
        backends: {
          mock: { type: "mock" },
          slow: { type: "mock", failure_rate: 1, failure_kind: "timeout" },
          picky: { type: "mock", failure_rate: 1, failure_kind: "invalid_request" },
        },
      }),
    );
    expect((await delivered(await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "slow" })), 1)).status).toBe(504);
    expect((await delivered(await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "picky" })), 1)).status).toBe(400);
  });

  it("reports the instance that finally produced the images after a fallback", async () => {
    const key = await seedKey("fallback");
    const res = await delivered(
      await appWithConfig(testConfig()).call("/v1/images", postJson("/v1/images", key, { prompt: "p", backend: "mock-with-fallback" })),
      3,
    );
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body.backend).toBe("mock");
    expect(body.failed_attempts.map((a: any) => a.backend)).toEqual(["mock-with-fallback", "mock-down"]);
  });

  it("answers 409 for a taken explicit output key, leaving the existing object alone", async () => {
    const key = await seedKey("writer");
    const app = appWithConfig(testConfig());
    expect(
      (await delivered(await app.call("/v1/images", postJson("/v1/images", key, { prompt: "first", output: "writer/fixed/name.png", seed: 1 })), 1)).status,
    ).toBe(201);
    const before = await allKeys();
    const res = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "second", output: "writer/fixed/name.png", seed: 2 }));
    expect(res.status).toBe(409);
    expect((await res.json<any>()).type).toBe("urn:imagen-edge:problem:conflict");
    expect(await allKeys()).toEqual(before);
  });

  it("logs no prompt text on any path", async () => {
    const key = await seedKey("quiet");
    const app = appWithConfig(testConfig());
    await delivered(await app.call("/v1/images", postJson("/v1/images", key, { prompt: "Zebra Umbrella Quartz", seed: 3 })), 1);
    await delivered(await app.call("/v1/images", postJson("/v1/images", key, { prompt: "Zebra Umbrella Quartz", backend: "mock-down" })), 1);
    await app.call("/v1/images", postJson("/v1/images", key, { prompt: "Zebra Umbrella Quartz", size: "1x1" }));
    expect(app.logs.length).toBeGreaterThan(3);
    const all = app.logs.map((l) => l.line).join("\n");
    expect(all).not.toMatch(/zebra/i);
    expect(all).not.toContain(key);
  });
});
