/**
 * The cron's sweep of attempts of unknown cost, end to end: sync Replicate creates whose answers
 * were lost (and whose lookups failed too) are held at their worst case; once their deadline has
 * passed, the scheduled handler looks each up at the fake and adopts the one Replicate made (its
 * images stored, its true cost into the book and the ledger) and releases the one it never made.
 * A sweep that dies after storing (the ledger is down) and runs again stores nothing twice; an
 * adopted prediction whose outputs Replicate has deleted is charged all the same, its images
 * logged as lost. Its own file: the sweep walks every caller of the test storage, which vitest
 * isolates per file.
 */
import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Env } from "../../src/env";
import { callerGuard } from "../../src/guard/durable-guard";
import { handleScheduled } from "../../src/worker-events";
import { eventually, newToken, requestsOf, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, bearer, postJson } from "../helpers/world";

const fakes = inject("fakes");
const page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
const sweepNow = (sweepEnv: Env) => handleScheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), sweepEnv);

/** A caller with a key and a 1 s Replicate instance on the fake, whose creates' answers get lost as `scenario` says. */
async function world(scenario: Record<string, unknown>) {
  const caller = `sweep-${crypto.randomUUID().slice(0, 8)}`;
  const token = newToken();
  await setScenario(fakes.replicate!, token, { starting_ms: 10, processing_ms: 30, finalize_ms: 0, ...scenario });
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
  const listed = async () => (await (await app.call("/v1/images?limit=50", { headers: bearer(key) })).json<any>()).images as any[];
  const generate = async (prompt: string, seed: number) => {
    const answer = await app.call("/v1/images", postJson("/v1/images", key, { prompt, seed, size: "512x512", backend: "flux" }));
    expect(answer.status).toBeGreaterThanOrEqual(500);
    return (await answer.json<any>()).request_id as string;
  };
  const sweepEnv = { ...env, ...secrets, IMAGEN_CONFIG: config } as Env;
  /** The scheduled handler, as the frequent cron runs it, until nothing is held any more. */
  const sweepUntilSettled = () =>
    eventually(
      async () => {
        await sweepNow(sweepEnv);
        const read = await budget();
        return read.reserved_usd === 0 ? read : undefined;
      },
      { withinMs: 60_000, everyMs: 250 },
    );
  return { caller, app, key, token, budget, listed, generate, sweepEnv, sweepUntilSettled };
}

/** The caller's book row of one attempt, as its object's SQLite has it. */
function bookRow(caller: string, requestId: string): Promise<Record<string, unknown> | undefined> {
  return runInDurableObject(
    callerGuard(env.GUARDS, caller),
    (_, state) => state.storage.sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM spend_attempts WHERE request_id = ?", requestId).toArray()[0],
  );
}

/** The objects a request stored, by their metadata (an image and its sidecar carry the same). */
async function objectsOf(requestId: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.IMAGES.list({ include: ["customMetadata"], ...(cursor && { cursor }) });
    keys.push(...page.objects.filter((object) => object.customMetadata?.request_id === requestId).map((object) => object.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.sort();
}

describe("the cron reconciles sync attempts of unknown cost", () => {
  it("two lost creates held at $0.006: the sweep stores the image of the prediction Replicate made and adopts it ($0.003, ledgered), releases the one it never made; a sweep that died after storing stores nothing twice; no create is sent again", async () => {
    const { caller, app, key, token, budget, listed, generate, sweepEnv, sweepUntilSettled } = await world({
      // The first create made a prediction before its answer was lost; the second never took.
      next_create: [
        { status: 502, html: page, after_create: true },
        { status: 502, html: page },
      ],
      // Each create's own lookup fails (a read and its one retry), so neither can be settled then.
      next_list: Array.from({ length: 4 }, () => ({ status: 500 })),
    });
    const requestIds = [await generate("a fox made", 300), await generate("a fox never made", 301)];
    expect(await budget()).toMatchObject({ spent_usd: 0, reserved_usd: 0.006, remaining_usd: 0 });
    for (const requestId of requestIds) {
      expect((await ledgerRows(requestId, 1))[0]).toMatchObject({ cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create" });
    }
    expect(await listed()).toEqual([]);

    // Sweeps that die after storing: the ledger refuses the correction, so nothing is settled.
    const ledgerDown = new Proxy(env.LEDGER, {
      get(target, property) {
        if (property === "batch") return () => Promise.reject(new Error("the ledger is down"));
        const value = Reflect.get(target, property) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const dying = { ...sweepEnv, LEDGER: ledgerDown } as Env;
    const failures = new Set<string>();
    await eventually(
      async () => {
        // Before the deadline a sweep only looks (and succeeds); once it adopts, the cron run fails at the ledger.
        await sweepNow(dying).catch((error: unknown) => void failures.add(String(error)));
        return (await listed()).length > 0 || undefined;
      },
      { withinMs: 60_000, everyMs: 250 },
    );
    await expect(sweepNow(dying)).rejects.toThrow(/the ledger is down/);
    expect([...failures]).toEqual([expect.stringContaining("the ledger is down")]);
    expect(await budget()).toMatchObject({ spent_usd: 0, reserved_usd: 0.006 });
    expect((await ledgerRows(requestIds[0]!, 1))[0]).toMatchObject({ cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create" });

    // The sweeps that follow complete what those began.
    const settled = await sweepUntilSettled();
    // The difference between the worst case held ($0.006) and what Replicate billed ($0.003) is free again.
    expect(settled).toMatchObject({ spent_usd: 0.003, reserved_usd: 0, remaining_usd: 0.003 });

    // The made one's image, stored once (by three sweeps) under the naming template, with its sidecar, listed for its caller.
    const images = await listed();
    expect(images).toHaveLength(1);
    const [image] = images;
    expect(image).toMatchObject({ caller: expect.stringMatching(/^sweep-/), backend: "flux", seed: 300, width: 512, height: 512, cost_usd_estimate: 0.003 });
    expect(await objectsOf(requestIds[0]!)).toEqual([image.key, `${image.key}.json`].sort());
    const stored = await env.IMAGES.get(image.key);
    expect(stored?.size).toBeGreaterThan(0);
    await stored?.arrayBuffer();
    const sidecar = await (await env.IMAGES.get(`${image.key}.json`))!.json<any>();
    expect(sidecar).toMatchObject({
      key: image.key,
      request_id: requestIds[0],
      request: { prompt: "a fox made", seed: 300, size: "512x512", n: 1 },
      backend: { instance: "flux", seed: 300, external_id: expect.any(String) },
      cost: { usd_estimate: 0.003 },
    });
    const fetched = await app.call(`/v1/images/${encodeURIComponent(image.key)}`, { headers: bearer(key) });
    expect(fetched.status).toBe(200);
    await fetched.arrayBuffer();

    const [made] = await ledgerRows(requestIds[0]!, 1);
    expect(made).toMatchObject({
      success: 0,
      cost_usd_estimate: 0.003,
      cost_unknown_reason: null,
      images_produced: 1,
      external_id: sidecar.backend.external_id,
    });
    expect(String(made!.error_message)).toMatch(/reconciled: its work \w+ succeeded at the provider; its 1 image\(s\) were stored/);
    // The prompt is the sidecar's; the ledger row never has it.
    expect(JSON.stringify(made)).not.toContain("a fox made");
    const [never] = await ledgerRows(requestIds[1]!, 1);
    expect(never).toMatchObject({ success: 0, cost_usd_estimate: 0, cost_unknown_reason: null });
    expect(String(never!.error_message)).toContain("reconciled: the provider lists no work for it past its deadline");
    expect(await objectsOf(requestIds[1]!)).toEqual([]);

    // Guard and ledger agree, and the provider saw exactly the two creates the requests sent.
    const summary = await (await app.call("/v1/usage/summary", { headers: bearer(key) })).json<any>();
    expect(summary.totals.cost_usd).toBe(0.003);
    const creates = (await requestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(creates).toHaveLength(2);

    // Settled, the book no longer keeps the prompt.
    expect(await bookRow(caller, requestIds[0]!)).toMatchObject({ state: "settled", reconcile: null });

    // Another sweep changes nothing: both are settled.
    await sweepNow(sweepEnv);
    expect(await budget()).toMatchObject({ spent_usd: 0.003, reserved_usd: 0 });
    expect(await listed()).toHaveLength(1);
  }, 180_000);

  it("a lost create whose outputs Replicate has deleted by the sweep: its cost is adopted ($0.003, images_produced 1), its image is not stored, and the sweep logs which", async () => {
    const lines: string[] = [];
    const spies = (["log", "warn", "error"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" "))),
    );
    try {
      const { budget, listed, generate, sweepUntilSettled } = await world({
        next_create: [{ status: 502, html: page, after_create: true }],
        next_list: Array.from({ length: 2 }, () => ({ status: 500 })),
        // Deleted long before the attempt's 1 s deadline, when the sweep may first look.
        output_ttl_ms: 50,
      });
      const requestId = await generate("a fox whose image expired", 400);
      expect(await budget()).toMatchObject({ spent_usd: 0, reserved_usd: 0.003 });

      expect(await sweepUntilSettled()).toMatchObject({ spent_usd: 0.003, reserved_usd: 0 });
      const [row] = await ledgerRows(requestId, 1);
      expect(row).toMatchObject({ success: 0, cost_usd_estimate: 0.003, cost_unknown_reason: null, images_produced: 1 });
      expect(String(row!.error_message)).toMatch(/reconciled: its work (\w+) was billed for 1 image\(s\) it made .*; its 1 image\(s\) could not be stored/);
      expect(await listed()).toEqual([]);
      expect(await objectsOf(requestId)).toEqual([]);
      const logged = lines.find((line) => line.includes("images of adopted work could not be stored"));
      expect(logged).toBeDefined();
      expect(logged).toContain(requestId);
      expect(logged).toContain(String(row!.external_id));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }, 180_000);

  it("the book keeps what storing needs (the prompt too) only while the cost is unknown; an attempt held by a version that kept no store inputs is adopted at its cost, its image not stored", async () => {
    const { caller, budget, listed, generate, sweepUntilSettled } = await world({
      next_create: [{ status: 502, html: page, after_create: true }],
      next_list: Array.from({ length: 2 }, () => ({ status: 500 })),
    });
    const requestId = await generate("a fox held by older code", 500);
    // Settled after the answer, possibly: read once it is held.
    const held = await eventually(async () => {
      const row = await bookRow(caller, requestId);
      return row?.state === "unknown" ? row : undefined;
    });
    const hint = JSON.parse(String(held!.reconcile));
    expect(hint.store).toMatchObject({ work: { requestId, request: { prompt: "a fox held by older code" } }, output: { naming: expect.any(String) } });

    // As the code before store inputs wrote it: the same hint without them.
    const { store: _dropped, ...older } = hint;
    await runInDurableObject(callerGuard(env.GUARDS, caller), (_, state) => {
      state.storage.sql.exec("UPDATE spend_attempts SET reconcile = ? WHERE request_id = ?", JSON.stringify(older), requestId);
    });

    expect(await sweepUntilSettled()).toMatchObject({ spent_usd: 0.003, reserved_usd: 0 });
    const [row] = await ledgerRows(requestId, 1);
    expect(row).toMatchObject({ cost_usd_estimate: 0.003, cost_unknown_reason: null, images_produced: 1 });
    expect(String(row!.error_message)).toContain("succeeded at the provider; its images were not stored (held without store inputs)");
    expect(await listed()).toEqual([]);
    expect(await objectsOf(requestId)).toEqual([]);
    // Settled: the hint (and the prompt in it) is gone from the book.
    expect(await bookRow(caller, requestId)).toMatchObject({ state: "settled", charged_units: expect.any(Number), reconcile: null });
    expect(await budget()).toMatchObject({ spent_usd: 0.003 });
  }, 180_000);
});
