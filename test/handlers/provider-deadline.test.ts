/**
 * Every provider call has its own deadline: a Replicate create or poll whose answer never comes
 * ends with the attempt's `timeout_s` (plus a few seconds' grace), not when the provider lets go.
 * Through the real app against the fake Replicate holding its answer for a minute, and a fake
 * ComfyUI box whose tunnel takes connections and never answers. The bounds are
 * hang detectors (the answer comes well before the fake lets go), not speed checks.
 */
import { describe, expect, inject, it } from "vitest";
import { createBox } from "../fakes/comfyui/control";
import type { Scenario } from "../fakes/replicate/control";
import { eventually, newToken, requestsOf, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, postJson, seedKey } from "../helpers/world";

const FAKE = inject("fakes").replicate!;
const COMFY = inject("fakes").comfyui!;
/** How long the fake holds an answer; every request here must be answered long before. */
const HANG_MS = 60_000;
/** A hang detector: the attempt's timeout plus grace is seconds, the fake's hang a minute. */
const WELL_BEFORE_THE_HANG_ENDS_MS = HANG_MS - 10_000;

async function world(instance: Record<string, unknown>, scenario: Scenario) {
  const token = newToken();
  await setScenario(FAKE, token, scenario);
  const app = appWithConfig(
    testConfig({
      backends: {
        ...testConfig().backends,
        flux: { type: "replicate", model: "black-forest-labs/flux-schnell", base_url: `${FAKE}/v1`, delivery_hosts: ["127.0.0.1"], ...instance },
      },
    }),
    { REPLICATE_API_TOKEN: token },
  );
  const key = await seedKey("deadline");
  return {
    generate: () => app.call("/v1/images", postJson("/v1/images", key, { prompt: "a fox", backend: "flux", size: "1024x1024", seed: 3 })),
    requests: () => requestsOf(FAKE, token),
  };
}

describe("a Replicate call that never answers", () => {
  it("a held create ends by timeout_s + grace: 502, said to be ambiguous, ledgered, its prediction found and canceled, not sent again", {
    timeout: HANG_MS + 30_000,
  }, async () => {
    const w = await world({ timeout_s: 2 }, { next_create: [{ after_create: true, hang_ms: HANG_MS }] });
    const started = Date.now();
    const res = await w.generate();
    expect(Date.now() - started).toBeLessThan(WELL_BEFORE_THE_HANG_ENDS_MS);

    expect(res.status).toBe(502);
    const body = await res.json<any>();
    expect(body.detail).toMatch(/did not answer the prediction create within \d+ ms .*it made prediction \w+, which was found and canceled; not sent again/);
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ success: 0, error_code: "unavailable", backend: "flux", external_id: body.external_id });
    const requests = await w.requests();
    const creates = requests.filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(creates).toHaveLength(1);
    // Found by its input and canceled; had it not been found, Replicate's Cancel-After stops it.
    expect(requests.filter((r) => r.method === "POST" && r.path === `/v1/predictions/${body.external_id}/cancel`)).toHaveLength(1);
    expect(creates[0]!.headers["cancel-after"]).toBe("5s");
  });

  it("a held poll ends by timeout_s + grace: 504, ledgered, the prediction canceled", { timeout: HANG_MS + 30_000 }, async () => {
    const w = await world({ timeout_s: 3, wait_s: 1, poll_interval_ms: 100 }, { outcome: "hang", next_get: [{ hang_ms: HANG_MS }] });
    const started = Date.now();
    const res = await w.generate();
    expect(Date.now() - started).toBeLessThan(WELL_BEFORE_THE_HANG_ENDS_MS);

    expect(res.status).toBe(504);
    const body = await res.json<any>();
    expect(body.detail).toMatch(/did not finish before its deadline \(it could not be asked: Replicate did not answer GET \/predictions\/\w+ within \d+ ms\)/);
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ success: 0, error_code: "timeout", backend: "flux", external_id: body.external_id });
    const requests = await w.requests();
    expect(requests.filter((r) => r.method === "GET" && r.path === `/v1/predictions/${body.external_id}`)).toHaveLength(1);
    expect(requests.filter((r) => r.method === "POST" && r.path === `/v1/predictions/${body.external_id}/cancel`)).toHaveLength(1);
  });
});

describe("a ComfyUI box whose tunnel takes the connection and never answers", () => {
  async function comfyWorld(options: { paused?: boolean; tunnel?: "hang" }) {
    const box = await createBox(COMFY, options);
    const app = appWithConfig(
      testConfig({ backends: { ...testConfig().backends, home: { type: "comfyui", base_url: box.url, timeout_s: 3, poll_interval_ms: 50, cooldown_s: 0 } } }),
    );
    const key = await seedKey("deadline-home");
    return { box, generate: () => app.call("/v1/images", postJson("/v1/images", key, { prompt: "a fox", backend: "home", size: "64x64", seed: 4 })) };
  }

  it("a held POST /prompt ends by timeout_s + grace: 504, ledgered", { timeout: HANG_MS + 30_000 }, async () => {
    const { generate } = await comfyWorld({ tunnel: "hang" });
    const started = Date.now();
    const res = await generate();
    expect(Date.now() - started).toBeLessThan(WELL_BEFORE_THE_HANG_ENDS_MS);

    expect(res.status).toBe(504);
    const body = await res.json<any>();
    expect(body.detail).toMatch(/^ComfyUI did not answer POST \/prompt within \d+ ms; the prompt was dropped from its queue/);
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ success: 0, error_code: "timeout", backend: "home" });
  });

  it("a held poll ends by timeout_s + grace: 504, ledgered", { timeout: HANG_MS + 30_000 }, async () => {
    const { box, generate } = await comfyWorld({ paused: true });
    const started = Date.now();
    const answer = generate();
    // Queued (the box is paused), then the tunnel wedges: every later poll is held.
    await eventually(async () => ((await box.state()).pending.length === 1 ? true : undefined));
    await box.configure({ tunnel: "hang" });
    const res = await answer;
    expect(Date.now() - started).toBeLessThan(WELL_BEFORE_THE_HANG_ENDS_MS);

    expect(res.status).toBe(504);
    const body = await res.json<any>();
    expect(body.detail).toMatch(
      /^home did not finish before its deadline \(it could not be asked: ComfyUI did not answer a poll of prompt \S+ within \d+ ms\)/,
    );
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ success: 0, error_code: "timeout", backend: "home", external_id: body.external_id });
  });
});
