/**
 * An edit as an async job on Replicate's FLUX.1 Kontext: the job's Durable Object builds its own
 * input links (from the config snapshot's public_base_url and the Worker's URL secret), Replicate
 * fetches the stored reference through them — over a loopback tunnel the test's app serves — and
 * the job polls the prediction to the end.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { encodeCellPng } from "../../src/backends/mock/png";
import { inputsOf, newToken, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { submitJob } from "../helpers/jobs";
import { storedReference } from "../helpers/reference-images";
import { openTunnel, type OpenTunnel } from "../helpers/tunnel";
import { appWithConfig } from "../helpers/world";

const fakes = inject("fakes");

const tunnels: OpenTunnel[] = [];
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((tunnel) => tunnel.close()));
});

describe("an edit as an async job on Kontext", () => {
  it("hands Replicate a signed link the job made; the prediction got the reference's bytes and the job succeeds", async () => {
    const token = newToken();
    await setScenario(fakes.replicate!, token, { starting_ms: 10, processing_ms: 30, finalize_ms: 0 });
    let app: ReturnType<typeof appWithConfig> | undefined;
    const tunnel = await openTunnel(fakes.tunnel!, (path, init) => app!.call(path, init));
    tunnels.push(tunnel);
    const config = testConfig({
      public_base_url: tunnel.url,
      default_backend: "kontext",
      backends: {
        mock: { type: "mock" },
        kontext: {
          type: "replicate",
          model: "black-forest-labs/flux-kontext-max",
          base_url: `${fakes.replicate}/v1`,
          delivery_hosts: ["127.0.0.1"],
          poll_interval_ms: 20,
        },
      },
    });
    app = appWithConfig(config);
    const reference = await storedReference(
      encodeCellPng(64, 64, 8, (x, y) => [x * 30, y * 30, 200]),
      "alice",
    );

    const job = await submitJob({
      config,
      request: { prompt: "add a moon", seed: 42, size: { width: 64, height: 64 }, references: [reference] },
      secrets: { REPLICATE_API_TOKEN: token },
    });
    const done = await job.until((d) => d.status === "succeeded", "succeeded");

    expect(done.result).toMatchObject({ backend: "kontext", model: "black-forest-labs/flux-kontext-max", cost_usd_estimate: 0.08 });
    const [input] = await inputsOf(fakes.replicate!, token);
    expect(input).toMatchObject({ source: "url", status: 200, sha256: reference.sha256 });
    expect(input!.url!.startsWith(`${tunnel.url}/v1/images/`)).toBe(true);
    expect(job.events.map((e) => [e.backend, e.success, e.cost_usd_estimate])).toEqual([["kontext", true, 0.08]]);
  });
});
