/**
 * Async jobs over HTTP, through the real app and the real job Durable Object: `Prefer:
 * respond-async` on POST /v1/images, GET and DELETE /v1/jobs/{id}, callback_url checks.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobDocument } from "../../src/jobs/job-document";
import { eventually } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { appWithConfig, bearer, callWorker, LOCAL_DEV_ORIGIN, postJson, seedKey } from "../helpers/world";

const ASYNC = { prefer: "respond-async" };
const SECRET = `whsec_${btoa("callback-signing-key-for-tests-32b")}`;

function world(config: unknown = testConfig(), secrets: Record<string, string> = {}) {
  const app = appWithConfig(config, secrets);
  const job = (key: string, id: string) => app.call(`/v1/jobs/${id}`, { headers: bearer(key) });
  return {
    app,
    post: (key: string, body: unknown, headers: Record<string, string> = ASYNC) => app.call("/v1/images", postJson("/v1/images", key, body, headers)),
    job,
    until: (key: string, id: string, check: (d: JobDocument) => boolean) =>
      eventually(async () => {
        const document = await (await job(key, id)).json<JobDocument>();
        return check(document) ? document : undefined;
      }),
  };
}

describe("POST /v1/images with Prefer: respond-async", () => {
  it("answers 202 at once with the job, Location and Preference-Applied; the job ends with the sync 201 body", async () => {
    const key = await seedKey("carol");
    const w = world();

    const accepted = await w.post(key, { prompt: "a red kite", seed: 7, size: "128x128", source: "script" });

    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("preference-applied")).toBe("respond-async");
    const job = await accepted.json<JobDocument>();
    expect(accepted.headers.get("location")).toBe(`http://imagen.test/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ status: "submitted", status_url: `http://imagen.test/v1/jobs/${job.id}`, result: null, error: null, started_at: null });
    expect(job.id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
    expect(JSON.stringify(job)).not.toContain("a red kite");

    const done = await w.until(key, job.id, (d) => d.status === "succeeded");
    const sync = await w.post(key, { prompt: "a red kite", seed: 7, size: "128x128", source: "script" }, {});
    expect(sync.status).toBe(201);
    expect(sync.headers.get("preference-applied")).toBeNull();
    const syncBody = await sync.json<Record<string, unknown>>();
    expect(Object.keys(done.result!).sort()).toEqual(Object.keys(syncBody).sort());
    expect(done.result).toMatchObject({ backend: "mock", seed: 7, request_id: job.request_id });
    const image = await w.app.call(new URL(done.result!.images[0]!.url).pathname, { headers: bearer(key) });
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
  });

  it("refuses what the sync path refuses, before any job exists (400 names the field)", async () => {
    const key = await seedKey("carol");
    const response = await world().post(key, { prompt: "p", backend: "nope" });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ field: "backend" }] });
  });

  it("records one ledger row for the job's attempt (queue → D1, the real usage path)", async () => {
    const key = await seedKey("ledgered");
    const w = world();
    const job = await (await w.post(key, { prompt: "ledger me async", seed: 5, size: "64x64" })).json<JobDocument>();
    await w.until(key, job.id, (d) => d.status === "succeeded");

    const rows = await eventually(
      async () => {
        const { results } = await env.LEDGER.prepare("SELECT * FROM imagen_usage WHERE request_id = ?").bind(job.request_id).all();
        return results.length > 0 ? results : undefined;
      },
      { everyMs: 50 },
    );

    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ caller: "ledgered", backend: "mock", seed: 5, success: 1, images_produced: 1 });
  });

  it("works through the deployed Worker entry point too (shipped config, local development)", async () => {
    const key = await seedKey("dora");
    const accepted = await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "p", size: "64x64" }, ASYNC), LOCAL_DEV_ORIGIN);
    expect(accepted.status).toBe(202);
    const { id } = await accepted.json<JobDocument>();

    const done = await eventually(async () => {
      const document = await (await callWorker(`/v1/jobs/${id}`, { headers: bearer(key) })).json<JobDocument>();
      return document.status === "succeeded" ? document : undefined;
    });
    expect(done.result!.images).toHaveLength(1);
  });
});

describe("GET and DELETE /v1/jobs/{id}", () => {
  it("shows a job to its owner and to admins; to anyone else it does not exist", async () => {
    const owner = await seedKey("erin");
    const stranger = await seedKey("frank");
    const admin = await seedKey("root", "admin");
    const w = world();
    const { id } = await (await w.post(owner, { prompt: "p", size: "64x64" })).json<JobDocument>();

    expect((await w.job(owner, id)).status).toBe(200);
    expect((await w.job(admin, id)).status).toBe(200);
    const hidden = await w.job(stranger, id);
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toMatchObject({ type: "urn:imagen-edge:problem:not-found" });
    expect((await w.app.call(`/v1/jobs/${id}`, { method: "DELETE", headers: bearer(stranger) })).status).toBe(404);
  });

  it("answers 404 for an unknown job, 400 for something that is not a job id, 401 without a key", async () => {
    const key = await seedKey("gina");
    const w = world();

    expect((await w.job(key, "01jdq7r5m4c9x2v8t6p0n3b1hw")).status).toBe(404);
    expect((await w.job(key, "../../etc")).status).toBe(404);
    expect((await w.job(key, "NOT-A-JOB")).status).toBe(400);
    expect((await w.app.call("/v1/jobs/01jdq7r5m4c9x2v8t6p0n3b1hw")).status).toBe(401);
  });

  it("cancels a running job (200, canceled) and refuses to cancel one that has ended (409)", async () => {
    const key = await seedKey("hana");
    const w = world(testConfig({ backends: { ...testConfig().backends, slow: { type: "mock", latency_ms: 600_000 } } }));
    const slow = await (await w.post(key, { prompt: "p", backend: "slow", size: "64x64" })).json<JobDocument>();
    const quick = await (await w.post(key, { prompt: "p", size: "64x64" })).json<JobDocument>();
    await w.until(key, slow.id, (d) => d.status === "running");
    await w.until(key, quick.id, (d) => d.status === "succeeded");

    const canceled = await w.app.call(`/v1/jobs/${slow.id}`, { method: "DELETE", headers: bearer(key) });
    const tooLate = await w.app.call(`/v1/jobs/${quick.id}`, { method: "DELETE", headers: bearer(key) });

    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ id: slow.id, status: "canceled" });
    expect((await (await w.job(key, slow.id)).json<JobDocument>()).status).toBe("canceled");
    expect(tooLate.status).toBe(409);
    expect(await tooLate.json()).toMatchObject({ detail: `job ${quick.id} has already succeeded; nothing to cancel` });
  });
});

describe("callback_url checks", () => {
  it("is refused without Prefer: respond-async", async () => {
    const key = await seedKey("ivan");
    const response = await world(testConfig(), { IMAGEN_CALLBACK_SECRET: SECRET }).post(key, { prompt: "p", callback_url: "https://example.com/hook" }, {});

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ field: "callback_url", message: expect.stringContaining("Prefer: respond-async") }] });
  });

  it("must be https; loopback (plain http too) only with the local-development switch", async () => {
    const key = await seedKey("ivan");
    const shipped = world(testConfig(), { IMAGEN_CALLBACK_SECRET: SECRET });
    const localDev = world(testConfig({ jobs: { allow_loopback_callbacks: true } }), { IMAGEN_CALLBACK_SECRET: SECRET });

    const plain = await shipped.post(key, { prompt: "p", callback_url: "http://example.com/hook" });
    const refusedLoopback = await shipped.post(key, { prompt: "p", size: "64x64", callback_url: "http://127.0.0.1:9/hook" });
    const loopback = await localDev.post(key, { prompt: "p", size: "64x64", callback_url: "http://127.0.0.1:9/hook" });

    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ errors: [{ field: "callback_url", message: expect.stringContaining("https") }] });
    expect(refusedLoopback.status).toBe(400);
    expect(await refusedLoopback.json()).toMatchObject({ errors: [{ field: "callback_url", message: expect.stringContaining("allow_loopback_callbacks") }] });
    expect(loopback.status).toBe(202);
    expect((await loopback.json<JobDocument>()).callback).toMatchObject({ url: "http://127.0.0.1:9/hook", status: "pending", attempts: 0 });
  });

  // The address rules themselves (SSRF: metadata, private, loopback spellings): test/unit/net/callback-url.test.ts.
  it.each(["https://169.254.169.254/latest/meta-data/", "http://0x7f000001/", "https://[fd00::1]/", "https://hooks.example.com:0/"])(
    "refuses %s with 400 naming callback_url, no job accepted",
    async (url) => {
      const key = await seedKey("hooker");
      const response = await world(testConfig(), { IMAGEN_CALLBACK_SECRET: SECRET }).post(key, { prompt: "p", callback_url: url });
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(await response.json()).toMatchObject({ type: "urn:imagen-edge:problem:invalid-request", errors: [{ field: "callback_url" }] });
    },
  );

  it("names IMAGEN_CALLBACK_SECRET when it is not set", async () => {
    const key = await seedKey("ivan");
    const response = await world().post(key, { prompt: "p", callback_url: "https://example.com/hook" });

    expect(response.status).toBe(400);
    expect((await response.json<{ detail: string }>()).detail).toMatch(/IMAGEN_CALLBACK_SECRET/);
  });
});

/** Waits for a job to end, so no job is still running when the test's environment goes away. */
async function finished(app: ReturnType<typeof appWithConfig>, key: string, id: string): Promise<void> {
  await eventually(async () => {
    const document = await (await app.call(`/v1/jobs/${id}`, { headers: bearer(key) })).json<JobDocument>();
    return document.status === "succeeded" ? document : undefined;
  });
}

/** In Workers the request URL is built from the Host header: a request "to" evil.example is one with that Host. */
describe("URLs handed to third parties never come from the Host header", () => {
  const { public_base_url: _withBaseUrl, ...noBaseUrl } = testConfig();

  it("without public_base_url, a job submitted to a public Host is refused (503), naming the setting", async () => {
    const key = await seedKey("host-spoofer");
    const app = appWithConfig(noBaseUrl);
    const response = await app.call(
      "/v1/images",
      postJson("/v1/images", key, { prompt: "p", size: "64x64" }, { prefer: "respond-async" }),
      "http://evil.example",
    );
    expect(response.status).toBe(503);
    const problem = await response.json<{ type: string; detail: string }>();
    expect(problem.type).toBe("urn:imagen-edge:problem:misconfigured");
    expect(problem.detail).toContain("public_base_url is not set");
    expect(JSON.stringify(problem)).not.toContain("evil.example");
  });

  it("uses public_base_url (or its old name jobs.public_base_url) whatever Host says", async () => {
    const key = await seedKey("host-spoofer");
    for (const config of [
      testConfig({ public_base_url: "https://imagen.example.com/" }),
      { ...noBaseUrl, jobs: { public_base_url: "https://imagen.example.com/" } },
    ]) {
      const app = appWithConfig(config);
      const response = await app.call(
        "/v1/images",
        postJson("/v1/images", key, { prompt: "p", size: "64x64" }, { prefer: "respond-async" }),
        "http://evil.example",
      );
      expect(response.status).toBe(202);
      const job = await response.json<JobDocument>();
      expect(job.status_url).toBe(`https://imagen.example.com/v1/jobs/${job.id}`);
      expect(response.headers.get("location")).toBe(job.status_url);
      await finished(app, key, job.id);
    }
  });

  it("refuses a config whose two names for the public origin disagree", async () => {
    const app = appWithConfig(testConfig({ jobs: { public_base_url: "https://other.example.com" } }));
    const health = await app.call("/healthz");
    expect(health.status).toBe(503);
    expect((await health.json<{ problems: string[] }>()).problems.join(" ")).toContain("jobs.public_base_url is the old name of public_base_url");
  });

  it("in local development (a loopback origin) the request's own origin serves", async () => {
    const key = await seedKey("local-dev");
    const app = appWithConfig(noBaseUrl);
    const response = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", size: "64x64" }, { prefer: "respond-async" }), LOCAL_DEV_ORIGIN);
    expect(response.status).toBe(202);
    const job = await response.json<JobDocument>();
    expect(job.status_url).toBe(`${LOCAL_DEV_ORIGIN}/v1/jobs/${job.id}`);
    await finished(app, key, job.id);
  });
});
