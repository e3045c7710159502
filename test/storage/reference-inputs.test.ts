/**
 * How a backend reaches an edit's inputs (src/storage/reference-store.ts, wired in
 * src/deps/pipeline.ts): the stored bytes, checked against the hash taken at acceptance, or a
 * short-lived signed link — only on the configured public origin, only to hosts the config names.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BackendError } from "../../src/backends/errors";
import { encodeCellPng } from "../../src/backends/mock/png";
import { parseConfig } from "../../src/config/load";
import { pipelineDepsFor } from "../../src/deps/pipeline";
import type { Env } from "../../src/env";
import { silentLogger } from "../../src/lib/log";
import { testConfig } from "../helpers/config";
import { storedReference } from "../helpers/reference-images";

const png = () => encodeCellPng(64, 64, 8, (cx, cy) => [cx * 30, cy * 30, 77]);

function inputsFor(overrides: Record<string, unknown> = {}, secrets: Record<string, unknown> = {}) {
  const config = parseConfig(
    testConfig({
      backends: { ...testConfig().backends, hosted: { type: "openai", model: "gpt-image-1.5", base_url: "https://images.provider.test/v1" } },
      ...overrides,
    }),
  );
  return pipelineDepsFor(config, { ...env, ...secrets } as Env, silentLogger).inputs;
}

async function refusal(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

describe("reference inputs", () => {
  it("reads the stored bytes, and refuses an object that changed since it was accepted", async () => {
    const bytes = png();
    const reference = await storedReference(bytes, "inputs-reader");
    const inputs = inputsFor();
    expect(await inputs.bytes(reference)).toEqual(bytes);
    const changed = await refusal(inputs.bytes({ ...reference, sha256: "f".repeat(64) }));
    expect(changed.kind).toBe("failed");
    const gone = await refusal(inputs.bytes({ ...reference, key: "inputs-reader/inputs/none.png" }));
    expect(gone.detail).toMatch(/no longer stored/);
  });

  it("hands a signed link on public_base_url to a backend's own host, which opens the image without a key", async () => {
    const reference = await storedReference(png(), "inputs-linker");
    const before = Math.floor(Date.now() / 1000);
    const url = await inputsFor().signedUrl(reference, "https://images.provider.test/v1/predictions");
    const after = Math.floor(Date.now() / 1000);
    expect(url).toMatch(/^http:\/\/imagen\.test\/v1\/images\/inputs-linker%2Finputs%2F[0-9a-f]{64}\.png\?exp=\d+&sig=/);
    const exp = Number(new URL(url).searchParams.get("exp"));
    // [edits] input_url_ttl_s (300 s by default) from when it was signed, not the hour of answer links.
    expect(exp).toBeGreaterThanOrEqual(before + 300);
    expect(exp).toBeLessThanOrEqual(after + 300);
    const opened = await exports.default.fetch(new Request(url));
    expect(opened.status).toBe(200);
    expect(new Uint8Array(await opened.arrayBuffer())).toEqual(png());
  });

  it("takes hosts listed in [edits] input_url_hosts too", async () => {
    const reference = await storedReference(png(), "inputs-listed");
    const inputs = inputsFor({ edits: { input_url_hosts: ["fetcher.example.test"] } });
    expect(await inputs.signedUrl(reference, "https://fetcher.example.test/run")).toMatch(/sig=/);
  });

  it("refuses a host the config does not name, a deployment without public_base_url, and one without a signing secret", async () => {
    const reference = await storedReference(png(), "inputs-refused");
    const stranger = await refusal(inputsFor().signedUrl(reference, "https://elsewhere.test/fetch"));
    expect(stranger).toMatchObject({ kind: "not_configured" });
    expect(stranger.detail).toMatch(/add "elsewhere\.test" to \[edits\] input_url_hosts/);
    const noOrigin = await refusal(inputsFor({ public_base_url: undefined }).signedUrl(reference, "https://images.provider.test/v1"));
    expect(noOrigin.detail).toMatch(/set public_base_url/);
    const noSecret = await refusal(inputsFor({}, { IMAGEN_URL_SECRET: "" }).signedUrl(reference, "https://images.provider.test/v1"));
    expect(noSecret.detail).toMatch(/IMAGEN_URL_SECRET is not set/);
  });
});
