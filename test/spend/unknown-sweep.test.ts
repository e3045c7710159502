/**
 * The cron's sweep of attempts of unknown cost, end to end: sync Replicate creates whose answers
 * were lost (and whose lookups failed too) are held at their worst case; once their deadline has
 * passed, the scheduled handler looks each up at the fake and adopts the one Replicate made (its
 * true cost into the book and the ledger) and releases the one it never made. Its own file: the
 * sweep walks every caller of the test storage, which vitest isolates per file.
 */
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Env } from "../../src/env";
import { handleScheduled } from "../../src/worker-events";
import { eventually, newToken, requestsOf, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, bearer, postJson } from "../helpers/world";

const fakes = inject("fakes");

describe("the cron reconciles sync attempts of unknown cost", () => {
  it("two lost creates held at $0.006: the sweep adopts the prediction Replicate made ($0.003, ledgered) and releases the one it never made; no create is sent again", async () => {
    const caller = `sweep-${crypto.randomUUID().slice(0, 8)}`;
    const token = newToken();
    const page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    await setScenario(fakes.replicate!, token, {
      starting_ms: 10,
      processing_ms: 30,
      finalize_ms: 0,
      // The first create made a prediction before its answer was lost; the second never took.
      next_create: [
        { status: 502, html: page, after_create: true },
        { status: 502, html: page },
      ],
      // Each create's own lookup fails (a read and its one retry), so neither can be settled then.
      next_list: Array.from({ length: 4 }, () => ({ status: 500 })),
    });
    const config = testConfig({
      backends: {
        ...testConfig().backends,
        // A 1 s attempt: its deadline (when a lookup can prove absence) passes within the test.
        flux: {
          type: "replicate",
          model: "black-forest-labs/flux-schnell",
          base_url: `${fakes.replicate}/v1`,
          poll_interval_ms: 20,
          timeout_s: 1,
          delivery_hosts: ["127.0.0.1"],
        },
      },
      guard: { callers: { [caller]: { daily_usd: 0.006 } } },
    });
    const secrets = { REPLICATE_API_TOKEN: token };
    const app = appWithConfig(config, secrets);
    const key = `imk_test_${crypto.randomUUID().replaceAll("-", "")}`;
    await new ApiKeyStore(env.API_KEYS).add(key, caller, "user", null, new Date());
    const budget = async () => (await (await app.call("/v1/budget", { headers: bearer(key) })).json<any>()).daily;

    const requestIds: string[] = [];
    for (const [i, prompt] of ["a fox made", "a fox never made"].entries()) {
      const answer = await app.call("/v1/images", postJson("/v1/images", key, { prompt, seed: 300 + i, size: "512x512", backend: "flux" }));
      expect(answer.status).toBeGreaterThanOrEqual(500);
      requestIds.push((await answer.json<any>()).request_id);
    }
    expect(await budget()).toMatchObject({ spent_usd: 0, reserved_usd: 0.006, remaining_usd: 0 });
    for (const requestId of requestIds) {
      expect((await ledgerRows(requestId, 1))[0]).toMatchObject({ cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create" });
    }

    // The scheduled handler, as the frequent cron runs it, until both deadlines have passed and both are settled.
    const sweepEnv = { ...env, ...secrets, IMAGEN_CONFIG: config } as Env;
    const settled = await eventually(
      async () => {
        await handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), sweepEnv);
        const read = await budget();
        return read.reserved_usd === 0 ? read : undefined;
      },
      { withinMs: 60_000, everyMs: 250 },
    );
    // The difference between the worst case held ($0.006) and what Replicate billed ($0.003) is free again.
    expect(settled).toMatchObject({ spent_usd: 0.003, reserved_usd: 0, remaining_usd: 0.003 });

    const [made] = await ledgerRows(requestIds[0]!, 1);
    expect(made).toMatchObject({ success: 0, cost_usd_estimate: 0.003, cost_unknown_reason: null, images_produced: 1 });
    expect(String(made!.error_message)).toMatch(/reconciled: its work \w+ succeeded at the provider; its images were not stored/);
    const [never] = await ledgerRows(requestIds[1]!, 1);
    expect(never).toMatchObject({ success: 0, cost_usd_estimate: 0, cost_unknown_reason: null });
    expect(String(never!.error_message)).toContain("reconciled: the provider lists no work for it past its deadline");

    // Guard and ledger agree, and the provider saw exactly the two creates the requests sent.
    const summary = await (await app.call("/v1/usage/summary", { headers: bearer(key) })).json<any>();
    expect(summary.totals.cost_usd).toBe(0.003);
    const creates = (await requestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(creates).toHaveLength(2);

    // Another sweep changes nothing: both are settled.
    await handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), sweepEnv);
    expect(await budget()).toMatchObject({ spent_usd: 0.003, reserved_usd: 0 });
  }, 120_000);
});
