/**
 * A cooldown skip is a fallback taken early: a chain whose `fallback_on` leaves out `unreachable`
 * may not skip a cooling backend to pay the next one. Through the real app, with the home box a
 * fake ComfyUI behind a tunnel that is down and the next member the fake Together API.
 */
import { describe, expect, inject, it } from "vitest";
import { creates, newKey, requestsOf } from "../fakes/openai-style/control";
import { createBox } from "../fakes/comfyui/control";
import { testConfig } from "../helpers/config";
import { ledgerRows } from "../helpers/ledger";
import { appWithConfig, bearer, postJson, seedKey } from "../helpers/world";

const fakes = inject("fakes");

async function world(fallbackOn: readonly string[]) {
  const box = await createBox(fakes.comfyui!, { tunnel: "down" });
  const togetherKey = newKey("together");
  const app = appWithConfig(
    testConfig({
      providers: { together: { base_url: `${fakes.together}/v1` } },
      backends: {
        ...testConfig().backends,
        home: { type: "comfyui", base_url: box.url, cooldown_s: 300 },
        together: { type: "together", model: "black-forest-labs/FLUX.1-schnell", default_steps: 4 },
      },
      chains: { "home-then-together": { backends: ["home", "together"], fallback_on: fallbackOn } },
    }),
    { TOGETHER_API_KEY: togetherKey },
  );
  const key = await seedKey("cooldown-chain");
  const generate = () => app.call("/v1/images", postJson("/v1/images", key, { prompt: "a fox", backend: "home-then-together", size: "512x512" }));
  const chainStatus = async () => (await (await app.call("/v1/backends", { headers: bearer(key) })).json<any>()).chains[0].status as string;
  return { generate, togetherCreates: async () => creates(await requestsOf(fakes.together!, togetherKey)).length, box, chainStatus };
}

describe("a backend cooling down on a chain that does not fall back on unreachable", () => {
  it("fails every request as the unreachable backend did, with Retry-After, and never pays the next member", async () => {
    const { generate, togetherCreates, box, chainStatus } = await world(["server_error", "timeout"]);

    const first = await generate();
    expect(first.status).toBe(502);
    const firstBody = await first.json<any>();
    expect(firstBody.attempts).toMatchObject([{ backend: "home", kind: "unavailable" }]);
    expect(Number(first.headers.get("retry-after"))).toBe(300);
    await ledgerRows(firstBody.request_id, 1);

    const second = await generate();
    expect(second.status).toBe(502);
    const secondBody = await second.json<any>();
    expect(secondBody.type).toBe("urn:imagen-edge:problem:backend-unavailable");
    expect(secondBody.detail).toMatch(/^home is cooling down until \S+Z \(home was unreachable: .*\); this chain does not fall back on unreachable/);
    expect(secondBody.attempts).toEqual([expect.objectContaining({ backend: "home", kind: "skipped", latency_ms: 0 })]);
    const retryAfter = Number(second.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);

    // The skip asked nothing of the box (no new request through the tunnel) and nothing of Together.
    const boxRequests = (await box.requests()).length;
    expect((await generate()).status).toBe(502);
    expect((await box.requests()).length).toBe(boxRequests);
    expect(await togetherCreates()).toBe(0);
    // The status page says the same: not "ok via together".
    expect(await chainStatus()).toMatch(/^unavailable \(home: skipped: cooling down until \S+ .*\); this chain does not fall back on unreachable\)$/);
  });

  it("skips it and pays the next member when the chain falls back on unreachable", async () => {
    const { generate, togetherCreates, chainStatus } = await world(["unreachable"]);
    expect((await generate()).status).toBe(201);
    const skipped = await generate();
    expect(skipped.status).toBe(201);
    expect((await skipped.json<any>()).failed_attempts).toEqual([expect.objectContaining({ backend: "home", kind: "skipped" })]);
    expect(await togetherCreates()).toBe(2);
    expect(await chainStatus()).toMatch(/^ok via together \(home: skipped: cooling down until /);
  });
});
