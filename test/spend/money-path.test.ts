/**
 * The money path end to end, through HTTP against the protocol-faithful fakes, counting calls at
 * the fake: what a provider could bill never exceeds a caller's cap, an attempt that may have been
 * billed is held at its worst case (never settled at $0), a paid call is never sent twice after a
 * restart, and `x-should-retry: false` goes out only when an attempt may have cost money.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { GenerationJob } from "../../src/jobs/generation-job";
import type { UsageEvent } from "../../src/usage/event";
import { setJobSeam } from "../entry/seamed-generation-job";
import { creates, newKey, requestsOf as hostedRequestsOf, setScenario as setHostedScenario } from "../fakes/openai-style/control";
import { eventually, newToken, requestsOf, setScenario, webhooksOf } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { submitJob } from "../helpers/jobs";
import { manualClock } from "../helpers/pipeline";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, bearer, postJson } from "../helpers/world";

const fakes = inject("fakes");

async function keyFor(caller: string): Promise<string> {
  const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date());
  return key;
}

describe("a create that a lookup proves absent is retried once", () => {
  it("a sync Replicate create answered 502 that the list proves never took is sent once more: 2 creates at the fake, one usage row with its cost, nothing held", async () => {
    const caller = `absent-${crypto.randomUUID().slice(0, 8)}`;
    const token = newToken();
    // Answered by a proxy before Replicate made anything (no after_create): the list shows no prediction.
    const refusedByProxy = { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>" };
    await setScenario(fakes.replicate!, token, { starting_ms: 10, processing_ms: 30, finalize_ms: 0, next_create: [refusedByProxy] });
    const config = testConfig({
      backends: {
        ...testConfig().backends,
        flux: {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fakes.replicate}/v1`,
          poll_interval_ms: 20,
          delivery_hosts: ["127.0.0.1"],
        },
      },
      guard: { callers: { [caller]: { daily_usd: 0.006 } } },
    });
    const app = appWithConfig(config, { REPLICATE_API_TOKEN: token });
    const key = await keyFor(caller);

    const answer = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "a fox sent twice", seed: 77, size: "512x512", backend: "flux" }));
    expect(answer.status).toBe(201);
    const body = await answer.json<any>();
    expect(body).toMatchObject({ cost_usd_estimate: 0.003, failed_attempts: [] });
    const made = (await requestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(made).toHaveLength(2);
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ success: 1, cost_usd_estimate: 0.003, cost_unknown_reason: null, reserved_usd: 0.003 });
    const budget = await eventually(async () => {
      const read = await (await app.call("/v1/budget", { headers: bearer(key) })).json<any>();
      return read.daily.spent_usd === 0.003 ? read : undefined;
    });
    expect(budget.daily).toMatchObject({ spent_usd: 0.003, reserved_usd: 0, remaining_usd: 0.003 });
  });
});

describe("an ambiguous create is not settled at $0", () => {
  it("a caller capped at $0.006: Replicate creates accepted but answered 502 (lookup failing) are held at their worst case; at most 2 predictions are ever made", async () => {
    const caller = `ambiguous-${crypto.randomUUID().slice(0, 8)}`;
    const token = newToken();
    const lost = { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>", after_create: true };
    await setScenario(fakes.replicate!, token, {
      starting_ms: 10,
      processing_ms: 30,
      finalize_ms: 0,
      next_create: [lost, lost, lost, lost],
      next_list: Array.from({ length: 8 }, () => ({ status: 500 })),
    });
    const config = testConfig({
      backends: {
        ...testConfig().backends,
        flux: { type: "replicate", model: "black-forest-labs/flux-schnell", base_url: `${fakes.replicate}/v1`, poll_interval_ms: 20 },
      },
      guard: { callers: { [caller]: { daily_usd: 0.006 } } },
    });
    const app = appWithConfig(config, { REPLICATE_API_TOKEN: token });
    const key = await keyFor(caller);

    const answers: Response[] = [];
    for (let i = 0; i < 4; i++)
      answers.push(await app.call("/v1/images", postJson("/v1/images", key, { prompt: `a fox ${i}`, seed: 100 + i, size: "512x512", backend: "flux" })));

    const [first, second, third, fourth] = answers;
    const requestIds: string[] = [];
    for (const failed of [first!, second!]) {
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(failed.headers.get("x-should-retry")).toBe("false");
      const problem = await failed.json<any>();
      expect(problem.attempts).toMatchObject([{ backend: "flux", cost_exposure: "unknown" }]);
      requestIds.push(problem.request_id);
    }
    for (const refused of [third!, fourth!]) {
      expect(refused.status).toBe(402);
      expect(await refused.json<any>()).toMatchObject({ cap: "daily", cap_usd: 0.006, spent_usd: 0, reserved_usd: 0.006, requested_usd: 0.003 });
    }
    // Provider spend, counted at the fake: two predictions at $0.003, never past the cap.
    const made = (await requestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(made).toHaveLength(2);

    const budget = await (await app.call("/v1/budget", { headers: bearer(key) })).json<any>();
    expect(budget.daily).toMatchObject({ spent_usd: 0, reserved_usd: 0.006, remaining_usd: 0 });
    for (const requestId of requestIds) {
      const [row] = await ledgerRows(requestId, 1);
      expect(row).toMatchObject({ success: 0, cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create", reserved_usd: 0.003 });
    }
  });
});

describe("x-should-retry: false only when an attempt may have cost money", () => {
  it("the free home box unreachable, then skipped while it cools down: 5xx without x-should-retry: false", async () => {
    // Nothing listens on the discard port of the loopback: connection refused, nothing sent.
    const box = { type: "comfyui", base_url: "http://127.0.0.1:9", cooldown_s: 600 };
    const config = testConfig({ backends: { ...testConfig().backends, home: box, "home-2": box }, chains: { homes: { backends: ["home", "home-2"] } } });
    const app = appWithConfig(config);
    const key = await keyFor(`home-${crypto.randomUUID().slice(0, 8)}`);

    const unreachable = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "a fox", size: "512x512", backend: "homes" }));
    expect(unreachable.status).toBeGreaterThanOrEqual(500);
    expect(unreachable.headers.get("x-should-retry")).toBeNull();
    expect((await unreachable.json<any>()).attempts).toMatchObject([
      { backend: "home", kind: "unavailable", cost_exposure: "none" },
      { backend: "home-2", kind: "unavailable", cost_exposure: "none" },
    ]);

    const skipped = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "a fox", size: "512x512", backend: "homes" }));
    expect(skipped.status).toBeGreaterThanOrEqual(500);
    expect(skipped.headers.get("x-should-retry")).toBeNull();
    expect((await skipped.json<any>()).attempts).toMatchObject([
      { backend: "home", kind: "skipped", cost_exposure: "none" },
      { backend: "home-2", kind: "unavailable", cost_exposure: "none" },
    ]);
  });
});

describe("a paid call is never sent again after a restart", () => {
  it("a job on Together restarted while its call is out: the fresh instance finds the attempt sent, holds it as unknown (ledgered NULL with the reason) and the fake sees exactly one create", async () => {
    const together = newKey("together");
    // The call stays out long enough to take the job's storage as it is while it is out.
    await setHostedScenario(fakes.together!, together, { delay_ms: 3000 });
    const config = testConfig({
      providers: { together: { base_url: `${fakes.together}/v1` } },
      backends: { ...testConfig().backends, tg: { type: "together", model: "black-forest-labs/FLUX.1-schnell", default_steps: 4 } },
    });
    const secrets = { TOGETHER_API_KEY: together };
    const original = await submitJob({ config, request: { prompt: "a lighthouse", backend: "tg", seed: 9, size: { width: 512, height: 512 } }, secrets });
    await eventually(async () => (creates(await hostedRequestsOf(fakes.together!, together)).length === 1 ? true : undefined));
    const stored = await original.record();
    expect(stored.chain.attempt).toMatchObject({ backend: "tg", submission: null });

    // The restart: what was stored, in an instance with no memory of the call (a fresh object).
    const events: UsageEvent[] = [];
    const restartedId = env.JOBS.idFromName(`restarted-${crypto.randomUUID()}`);
    setJobSeam(restartedId, { usage: { record: async (event) => void events.push(event) }, env: secrets });
    const restarted = env.JOBS.get(restartedId);
    await runInDurableObject(restarted, async (_job: GenerationJob, state) => {
      await state.storage.put("job", stored);
      await state.storage.setAlarm(Date.now());
    });
    await eventually(async () => ((await runDurableObjectAlarm(restarted)) ? true : undefined));
    const failed = await eventually(async () => {
      const view = await restarted.view();
      return view?.document.status === "failed" ? view.document : undefined;
    });
    expect(failed.error).toMatchObject({ attempts: [{ backend: "tg", cost_exposure: "unknown" }] });
    expect(events).toMatchObject([{ backend: "tg", success: false, cost_usd_estimate: null, cost_unknown_reason: "restarted_after_send" }]);

    // The original call's answer arrives in its own time; still exactly one create at the fake.
    await original.until((d) => d.status !== "running" && d.status !== "submitted", "the original call's end");
    expect(creates(await hostedRequestsOf(fakes.together!, together))).toHaveLength(1);
  });
});

describe("a verified provider callback resolves its attempt even when the create answer was lost", () => {
  it("a Replicate job whose create was answered 502 (lookup failing) is finished by the signed `completed` webhook to its attempt's URL: images stored, billed once, ledgered with its cost", async () => {
    const token = newToken();
    const lost = { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>", after_create: true };
    await setScenario(fakes.replicate!, token, {
      starting_ms: 10,
      processing_ms: 30,
      finalize_ms: 0,
      next_create: [lost],
      next_list: Array.from({ length: 4 }, () => ({ status: 500 })),
      // Our webhook URL (http://imagen.test/…) is unreachable from the fake: it records, we replay.
      webhooks: { retry_delays_ms: [] },
    });
    const webhookSecret = (
      await (await fetch(`${fakes.replicate}/v1/webhooks/default/secret`, { headers: { authorization: `Bearer ${token}` } })).json<{ key: string }>()
    ).key;
    const secrets = { REPLICATE_API_TOKEN: token, REPLICATE_WEBHOOK_SECRET: webhookSecret };
    const config = testConfig({
      backends: {
        ...testConfig().backends,
        flux: {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fakes.replicate}/v1`,
          delivery_hosts: ["127.0.0.1"],
          poll_interval_ms: 20,
        },
      },
    });
    const job = await submitJob({ config, request: { prompt: "a lighthouse at dusk", backend: "flux", seed: 42, size: { width: 512, height: 512 } }, secrets });

    const completed = await eventually(async () => (await webhooksOf(fakes.replicate!, token)).find((d) => d.event === "completed"));
    const url = new URL(completed.url);
    const attempt = (await job.record()).chain.attempt;
    expect(attempt).toMatchObject({ submission: null });
    expect(url.searchParams.get("attempt")).toBe(attempt!.eventId);
    const app = appWithConfig(config, secrets);
    const taken = await app.call(url.pathname + url.search, { method: "POST", headers: completed.headers, body: completed.body });
    expect(await taken.json()).toEqual({ received: true, outcome: "accepted" });

    await job.forceAlarm();
    const done = await job.until((d) => d.status === "succeeded", "succeeded from the webhook");
    expect((done.result as any).images).toHaveLength(1);
    expect(job.events).toMatchObject([{ backend: "flux", success: true, cost_usd_estimate: 0.003, cost_unknown_reason: null }]);
    const made = (await requestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(made).toHaveLength(1);
  });
});

describe("reconciled by the job's alarm: a lost create is looked up at the provider", () => {
  async function lostCreateJob(listFailures: number) {
    const token = newToken();
    const lost = { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>", after_create: true };
    await setScenario(fakes.replicate!, token, {
      starting_ms: 10,
      processing_ms: 30,
      finalize_ms: 0,
      next_create: [lost],
      next_list: Array.from({ length: listFailures }, () => ({ status: 500 })),
    });
    // No webhook secret: no webhook will come; the alarm reconciles at the attempt's deadline.
    const secrets = { REPLICATE_API_TOKEN: token };
    const config = testConfig({
      backends: {
        ...testConfig().backends,
        flux: {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fakes.replicate}/v1`,
          delivery_hosts: ["127.0.0.1"],
          poll_interval_ms: 20,
          timeout_s: 60,
        },
      },
      jobs: { deadline_grace_s: 30 },
    });
    const clock = manualClock(Date.now());
    const job = await submitJob({
      config,
      request: { prompt: "a lighthouse at dusk", backend: "flux", seed: 42, size: { width: 512, height: 512 } },
      secrets,
      clock,
    });
    await eventually(async () => ((await job.record()).chain.attempt?.lostUntil !== undefined ? true : undefined));
    return {
      job,
      clock,
      token,
      creates: async () => (await requestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions")),
    };
  }

  it("found in the provider's list past the deadline: adopted, images stored, ledgered with its true cost; one create", async () => {
    // A lookup reads the list twice (one retry of a 5xx): the create's own lookup fails, the alarm's works.
    const { job, clock, token, creates: made } = await lostCreateJob(2);
    // The fake finishes its prediction on its own wall clock (40 ms, longer on a busy machine); by
    // the deadline a real one has long finished, so look it up only once it has.
    await eventually(async () => {
      const listed = await fetch(`${fakes.replicate}/v1/predictions`, { headers: { Authorization: `Bearer ${token}` } });
      const body = (await listed.json()) as { results?: Array<{ status: string }> };
      return body.results?.[0]?.status === "succeeded" ? true : undefined;
    });
    clock.advance(91_000);
    await job.forceAlarm();
    await job.until((d) => d.status === "succeeded", "succeeded by reconciliation");
    expect(job.events).toMatchObject([{ backend: "flux", success: true, cost_usd_estimate: 0.003, cost_unknown_reason: null }]);
    expect(await made()).toHaveLength(1);
  });

  it("the provider cannot be asked at the deadline either: failed with its cost unknown (NULL + reason), never created again", async () => {
    // Both the create's lookup and the alarm's fail (two reads each).
    const { job, clock, creates: made } = await lostCreateJob(4);
    clock.advance(91_000);
    await job.forceAlarm();
    const failed = await job.until((d) => d.status === "failed", "failed as unknown");
    expect(failed.error).toMatchObject({ attempts: [{ backend: "flux", cost_exposure: "unknown" }] });
    expect(job.events).toMatchObject([{ backend: "flux", success: false, cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create" }]);
    expect(await made()).toHaveLength(1);
  });
});

describe("a client that hangs up (the request's signal aborts; under wrangler dev a disconnect never reaches it)", () => {
  it("its Replicate prediction is canceled at the provider, the attempt ledgered as canceled, its reservation settled at $0", async () => {
    const caller = `hangup-${crypto.randomUUID().slice(0, 8)}`;
    const token = newToken();
    await setScenario(fakes.replicate!, token, { starting_ms: 10, outcome: "hang" });
    const config = testConfig({
      backends: {
        ...testConfig().backends,
        flux: { type: "replicate", model: "black-forest-labs/flux-schnell", base_url: `${fakes.replicate}/v1`, poll_interval_ms: 20, wait_s: 1 },
      },
      guard: { callers: { [caller]: { daily_usd: 1 } } },
    });
    const app = appWithConfig(config, { REPLICATE_API_TOKEN: token });
    const key = await keyFor(caller);
    const client = new AbortController();
    const answer = app.call("/v1/images", {
      ...postJson("/v1/images", key, { prompt: "a fox", seed: 7, size: "512x512", backend: "flux" }),
      signal: client.signal,
    });
    // Polling has begun: the prediction exists and the runner knows it.
    await eventually(async () =>
      (await requestsOf(fakes.replicate!, token)).some((r) => r.method === "GET" && /\/v1\/predictions\/[^/]+$/.test(r.path)) ? true : undefined,
    );
    client.abort();

    const res = await answer;
    expect(res.status).toBe(499);
    const problem = await res.json<any>();
    expect(problem.attempts).toMatchObject([{ backend: "flux", kind: "canceled", cost_exposure: "known" }]);
    const calls = await requestsOf(fakes.replicate!, token);
    expect(calls.filter((r) => r.method === "POST" && r.path.endsWith("/predictions"))).toHaveLength(1);
    expect(calls.filter((r) => r.method === "POST" && r.path.endsWith("/cancel"))).toHaveLength(1);
    const [row] = await ledgerRows(problem.request_id, 1);
    expect(row).toMatchObject({ error_code: "canceled", cost_usd_estimate: 0, cost_unknown_reason: null, reserved_usd: 0.003 });
    await eventually(async () => {
      const budget = await (await app.call("/v1/budget", { headers: bearer(key) })).json<any>();
      return budget.daily.reserved_usd === 0 && budget.daily.spent_usd === 0 ? true : undefined;
    });
  });
});
