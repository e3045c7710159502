/**
 * Fallback along a chain: which failures move on (per chain `fallback_on`), which never do, and
 * the cooldown that skips a backend which just failed as unreachable — on an injected clock.
 */
import { describe, expect, it } from "vitest";
import { CooldownBook } from "../../src/core/cooldown";
import { GenerationFailedError } from "../../src/core/errors";
import { generate } from "../../src/core/generate";
import { testConfig } from "../helpers/config";
import { manualClock, pipelineWorld } from "../helpers/pipeline";

const owner = { name: "owner", role: "admin" } as const;
const SMALL = { width: 64, height: 64 } as const;
const request = (backend: string) => ({ prompt: "a lighthouse", n: 1, seed: 5, size: SMALL, backend });

/** The home box (switched off, or back on) → the mock, as the chain `any`. */
function homeChain(home: "off" | "on", chain: Record<string, unknown> = {}) {
  return testConfig({
    backends: {
      mock: { type: "mock" },
      home:
        home === "off"
          ? { type: "mock", model: "home", failure_rate: 1, failure_kind: "unavailable", cooldown_s: 60 }
          : { type: "mock", model: "home", cooldown_s: 60 },
      busy: { type: "mock", model: "busy", failure_rate: 1, failure_kind: "rate_limited" },
    },
    chains: { any: { backends: ["home", "mock"], ...chain }, "busy-then-mock": { backends: ["busy", "mock"], fallback_on: ["unreachable"] } },
  });
}

async function failure(promise: Promise<unknown>): Promise<GenerationFailedError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GenerationFailedError);
  return error as GenerationFailedError;
}

describe("a chain whose first backend is unreachable", () => {
  it("falls back, then skips the backend while it cools down: no attempt and no usage row, failed_attempts says until when", async () => {
    const clock = manualClock("2026-05-08T14:30:00Z");
    const world = pipelineWorld(homeChain("off"), { clock });

    const first = await generate(request("any"), owner, "req-1", world.deps);
    expect(first.backend).toBe("mock");
    expect(first.failed_attempts).toMatchObject([{ backend: "home", kind: "unavailable" }]);

    clock.advance(30_000);
    const second = await generate(request("any"), owner, "req-2", world.deps);
    expect(second.backend).toBe("mock");
    expect(second.failed_attempts).toEqual([
      {
        backend: "home",
        kind: "skipped",
        detail: expect.stringMatching(/^skipped: cooling down until 2026-05-08T14:31:00\.000Z \(home was unreachable: /),
        latency_ms: 0,
        cost_exposure: "none",
      },
    ]);
    expect(world.events.map((e) => [e.request_id, e.backend, e.success])).toEqual([
      ["req-1", "home", false],
      ["req-1", "mock", true],
      ["req-2", "mock", true],
    ]);
  });

  it("lets one request probe after the cooldown; the box back on closes it", async () => {
    const clock = manualClock("2026-05-08T14:30:00Z");
    const cooldowns = new CooldownBook();
    const off = pipelineWorld(homeChain("off"), { clock });
    await generate(request("any"), owner, "req-off", { ...off.deps, cooldowns });

    clock.advance(60_000);
    const on = pipelineWorld(homeChain("on"), { clock });
    const probe = await generate(request("any"), owner, "req-probe", { ...on.deps, cooldowns });
    const after = await generate(request("any"), owner, "req-after", { ...on.deps, cooldowns });

    expect([probe.backend, probe.failed_attempts]).toEqual(["home", []]);
    expect([after.backend, after.failed_attempts]).toEqual(["home", []]);
  });

  it("cools down again when the probe finds it still switched off", async () => {
    const clock = manualClock("2026-05-08T14:30:00Z");
    const world = pipelineWorld(homeChain("off"), { clock });
    await generate(request("any"), owner, "req-1", world.deps);

    clock.advance(60_000);
    const probe = await generate(request("any"), owner, "req-probe", world.deps);
    const next = await generate(request("any"), owner, "req-next", world.deps);

    expect(probe.failed_attempts).toMatchObject([{ backend: "home", kind: "unavailable" }]);
    expect(next.failed_attempts).toMatchObject([{ backend: "home", kind: "skipped", detail: expect.stringContaining("until 2026-05-08T14:32:00.000Z") }]);
  });

  it("is still tried when it is the last backend left: a skip never fails a request on its own", async () => {
    const clock = manualClock();
    const world = pipelineWorld(homeChain("off"), { clock });
    await generate(request("any"), owner, "req-1", world.deps);

    const error = await failure(generate(request("home"), owner, "req-alone", world.deps));

    expect(error.attempts).toMatchObject([{ backend: "home", kind: "unavailable" }]);
  });
});

describe("fallback triggers", () => {
  it("a chain moves on only on the failures it lists: rate-limited stays an answer when fallback_on omits it", async () => {
    const world = pipelineWorld(homeChain("off"));

    const error = await failure(generate(request("busy-then-mock"), owner, "req-busy", world.deps));

    expect(error.last.kind).toBe("rate_limited");
    expect(world.events.map((e) => [e.backend, e.success])).toEqual([["busy", false]]);
  });

  it("an unreachable first backend is not retried elsewhere when the chain does not list unreachable", async () => {
    const world = pipelineWorld(homeChain("off", { fallback_on: ["rate_limited"] }));

    const error = await failure(generate(request("any"), owner, "req-strict", world.deps));

    expect(error.attempts.map((a) => [a.backend, a.kind])).toEqual([["home", "unavailable"]]);
  });
});
