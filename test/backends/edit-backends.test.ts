/**
 * Edits on the hosted and home backends, through the pipeline against the fakes: FLUX.1 Kontext on
 * Replicate (`input_image`: a signed link the fake fetches from the Worker over a loopback tunnel,
 * or a data URI when there is no public origin), Kontext on Together (`image_url`, signed link),
 * and ComfyUI image-to-image (`/upload/image`, then the template's LoadImage). Each fake records the
 * bytes it got; their hash must be the reference's. A chain falls back between members that edit.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { ReferenceImage } from "../../src/backends/backend";
import { sniffImage } from "../../src/backends/image-size";
import { encodeCellPng } from "../../src/backends/mock/png";
import { generate } from "../../src/core/generate";
import { systemClock } from "../../src/lib/clock";
import { r2ReferenceInputs } from "../../src/storage/reference-store";
import { urlSignerFromEnv } from "../../src/storage/signed-urls";
import { createBox, type FakeComfyBox } from "../fakes/comfyui/control";
import { creates, newKey, requestsOf } from "../fakes/openai-style/control";
import { inputsOf, newToken, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { pipelineWorld } from "../helpers/pipeline";
import { storedReference } from "../helpers/reference-images";
import { openTunnel, type OpenTunnel } from "../helpers/tunnel";
import { appWithConfig } from "../helpers/world";

const fakes = inject("fakes");
const caller = { name: "edit-tests", role: "user" } as const;

const tunnels: OpenTunnel[] = [];
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((tunnel) => tunnel.close()));
});

/** A 96x64 PNG (3:2) whose colours depend on `tint`, stored as the caller's upload. */
async function reference(tint: number): Promise<ReferenceImage> {
  return storedReference(
    encodeCellPng(96, 64, 8, (x, y) => [(x * 20 + tint) % 256, (y * 30 + tint) % 256, tint % 256]),
    caller.name,
  );
}

function editConfig(box: FakeComfyBox | null, publicBaseUrl?: string) {
  return testConfig({
    ...(publicBaseUrl !== undefined && { public_base_url: publicBaseUrl }),
    backends: {
      mock: { type: "mock" },
      "mock-text-only": { type: "mock", edits: false },
      "kontext-replicate": {
        type: "replicate",
        model: "black-forest-labs/flux-kontext-pro",
        base_url: `${fakes.replicate}/v1`,
        delivery_hosts: ["127.0.0.1"],
        poll_interval_ms: 50,
      },
      "kontext-together": { type: "together", model: "black-forest-labs/FLUX.1-kontext-pro", base_url: `${fakes.together}/v1` },
      ...(box && { "img2img-local": { type: "comfyui", base_url: box.url, workflow: "flux-schnell-img2img", timeout_s: 600, poll_interval_ms: 50 } }),
    },
    chains: box ? { "edit-anywhere": { backends: ["kontext-replicate", "mock-text-only", "img2img-local"] } } : {},
  });
}

/** The pipeline, with the Worker's signed input links on `origin` (none: no public origin). */
function world(config: ReturnType<typeof testConfig>, secrets: Record<string, string>, origin: string | undefined) {
  const built = pipelineWorld(config, { secrets });
  const inputs = r2ReferenceInputs(env.IMAGES, {
    origin,
    allowedHosts: new Set(["127.0.0.1"]),
    ttlSeconds: 300,
    signer: () => urlSignerFromEnv(env, { secret_env: "IMAGEN_URL_SECRET", ttl_s: 3600 }, systemClock),
  });
  return { ...built, deps: { ...built.deps, inputs } };
}

/** A loopback origin for the Worker, served by the real app (it answers the signed links). */
async function tunnelTo(config: ReturnType<typeof testConfig>): Promise<OpenTunnel> {
  const app = appWithConfig(config);
  const tunnel = await openTunnel(fakes.tunnel!, (path, init) => app.call(path, init));
  tunnels.push(tunnel);
  return tunnel;
}

async function storedSize(key: string) {
  const object = await env.IMAGES.get(key);
  return sniffImage(new Uint8Array(await object!.arrayBuffer()));
}

describe("FLUX.1 Kontext on Replicate", () => {
  it("hands Replicate a short-lived signed link that it fetches from the Worker: the bytes it got are the reference's; $0.04 an image", async () => {
    const token = newToken();
    const tunnel = await tunnelTo(editConfig(null));
    const config = editConfig(null, tunnel.url);
    const ref = await reference(1);
    const { deps, events } = world(config, { REPLICATE_API_TOKEN: token }, tunnel.url);

    const outcome = await generate(
      { prompt: "make it dusk", backend: "kontext-replicate", n: 1, seed: 11, size: { width: 96, height: 64 }, references: [ref] },
      caller,
      "req-kontext-link",
      deps,
    );

    expect(outcome).toMatchObject({ backend: "kontext-replicate", model: "black-forest-labs/flux-kontext-pro", cost_usd_estimate: 0.04 });
    const [input] = await inputsOf(fakes.replicate!, token);
    expect(input).toMatchObject({ source: "url", status: 200, sha256: ref.sha256 });
    const link = new URL(input!.url!);
    expect(link.origin).toBe(tunnel.url);
    expect(link.pathname).toBe(`/v1/images/${encodeURIComponent(ref.key)}`);
    expect([...link.searchParams.keys()].sort()).toEqual(["exp", "sig"]);
    // Valid for the configured five minutes, not the hour answers' links get.
    expect(Number(link.searchParams.get("exp")) * 1000 - Date.now()).toBeLessThanOrEqual(300_000);
    expect(await tunnel.log()).toEqual([{ method: "GET", path: `${link.pathname}${link.search}`, status: 200 }]);

    const [create] = (await (await fetch(`${fakes.replicate}/__fake/requests?token=${token}`)).json<any[]>()).filter((r) => r.method === "POST");
    // The input keeps the reference's 3:2 ratio.
    expect(create.body.input).toMatchObject({ prompt: "make it dusk", seed: 11, aspect_ratio: "match_input_image", output_format: "png" });
    expect(await storedSize(outcome.images[0]!.key)).toEqual({ mimeType: "image/png", width: 1248, height: 832 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ backend: "kontext-replicate", success: true, images_produced: 1, cost_usd_estimate: 0.04 });
  });

  it("sends a small image as a data URI when the deployment has no public origin", async () => {
    const token = newToken();
    const ref = await reference(2);
    const { deps } = world(editConfig(null), { REPLICATE_API_TOKEN: token }, undefined);
    const outcome = await generate(
      { prompt: "p", backend: "kontext-replicate", n: 1, seed: 12, size: { width: 1024, height: 1024 }, references: [ref] },
      caller,
      "req-kontext-data",
      deps,
    );
    expect(outcome.backend).toBe("kontext-replicate");
    expect(await inputsOf(fakes.replicate!, token)).toMatchObject([{ source: "data_uri", sha256: ref.sha256 }]);
    const [create] = (await (await fetch(`${fakes.replicate}/__fake/requests?token=${token}`)).json<any[]>()).filter((r) => r.method === "POST");
    // A square size asked of a 3:2 input: Kontext's nearest listed ratio instead of the input's.
    expect(create.body.input.aspect_ratio).toBe("1:1");
    expect(create.body.input.input_image).toMatch(/^data:image\/png;base64,/);
  });

  it("refuses n > 1 before calling Replicate: Kontext makes one image per prediction", async () => {
    const token = newToken();
    const ref = await reference(3);
    const { deps, events } = world(editConfig(null), { REPLICATE_API_TOKEN: token }, undefined);
    await expect(
      generate({ prompt: "p", backend: "kontext-replicate", n: 2, seed: 1, references: [ref] }, caller, "req-kontext-n", deps),
    ).rejects.toMatchObject({ last: { kind: "invalid_request" } });
    expect(events[0]).toMatchObject({ success: false, error_code: "invalid_request" });
    expect(await inputsOf(fakes.replicate!, token)).toEqual([]);
  });
});

describe("FLUX.1 Kontext on Together", () => {
  it("sends image_url, a signed link Together fetches from the Worker; priced per megapixel produced", async () => {
    const key = newKey("together");
    const tunnel = await tunnelTo(editConfig(null));
    const ref = await reference(4);
    const { deps, events } = world(editConfig(null, tunnel.url), { TOGETHER_API_KEY: key }, tunnel.url);
    const outcome = await generate(
      { prompt: "watercolour", backend: "kontext-together", n: 1, seed: 5, size: { width: 768, height: 512 }, references: [ref] },
      caller,
      "req-together-edit",
      deps,
    );
    // 0.04 $/MP × 0.393216 MP = 0.0157
    expect(outcome).toMatchObject({ backend: "kontext-together", cost_usd_estimate: 0.0157 });
    const [create] = creates(await requestsOf(fakes.together!, key));
    expect(create!.inputs).toEqual([expect.objectContaining({ field: "image_url", source: "url", status: 200, sha256: ref.sha256 })]);
    expect((create!.body as { image_url: string }).image_url.startsWith(`${tunnel.url}/v1/images/`)).toBe(true);
    expect(await storedSize(outcome.images[0]!.key)).toEqual({ mimeType: "image/png", width: 768, height: 512 });
    expect(events[0]).toMatchObject({ backend: "kontext-together", success: true, cost_usd_estimate: 0.0157 });
  });

  it("refuses an edit when the deployment cannot hand Together a link, naming what to set; nothing is sent", async () => {
    const key = newKey("together");
    const ref = await reference(5);
    const { deps, events } = world(editConfig(null), { TOGETHER_API_KEY: key }, undefined);
    await expect(
      generate({ prompt: "p", backend: "kontext-together", n: 1, seed: 5, size: { width: 512, height: 512 }, references: [ref] }, caller, "req-t-none", deps),
    ).rejects.toMatchObject({ last: { kind: "not_configured" } });
    expect(events[0]!.error_message).toContain("public_base_url");
    expect(creates(await requestsOf(fakes.together!, key))).toEqual([]);
  });
});

describe("ComfyUI image-to-image", () => {
  it("uploads the reference with /upload/image, then runs the template with LoadImage on that file", async () => {
    const box = await createBox(fakes.comfyui!);
    const ref = await reference(6);
    const { deps, events } = world(editConfig(box), {}, undefined);
    const outcome = await generate(
      { prompt: "as a pencil sketch", backend: "img2img-local", n: 2, seed: 21, size: { width: 128, height: 96 }, references: [ref] },
      caller,
      "req-comfy-edit",
      deps,
    );
    expect(outcome).toMatchObject({ backend: "img2img-local", model: "flux1-schnell-fp8.safetensors", cost_usd_estimate: 0 });
    expect(outcome.images).toHaveLength(2);
    expect(await storedSize(outcome.images[1]!.key)).toEqual({ mimeType: "image/png", width: 128, height: 96 });
    expect(await box.uploads()).toEqual([
      { name: `${ref.sha256}.png`, subfolder: "imagen", type: "input", sha256: ref.sha256, byte_length: ref.bytes, content_type: "image/png" },
    ]);
    const prompt = (await box.requests()).find((r) => r.method === "POST" && r.path === "/prompt")!;
    const workflow = JSON.parse(prompt.body).prompt;
    expect(workflow["10"]).toMatchObject({ class_type: "LoadImage", inputs: { image: `imagen/${ref.sha256}.png` } });
    expect(workflow["11"].inputs).toMatchObject({ width: 128, height: 96 });
    expect(workflow["13"].inputs.amount).toBe(2);
    expect(workflow["31"].inputs).toMatchObject({ seed: 21, denoise: 0.75 });
    expect(workflow["6"].inputs.text).toBe("as a pencil sketch");
    expect(events[0]).toMatchObject({ backend: "img2img-local", success: true, images_produced: 2 });
  });

  it("sends the Access service token with the upload too", async () => {
    const box = await createBox(fakes.comfyui!, { access: { clientId: "edit-id", clientSecret: "edit-secret" } });
    const ref = await reference(7);
    const config = editConfig(box);
    const backends = config.backends as Record<string, Record<string, unknown>>;
    backends["img2img-local"] = { ...backends["img2img-local"], access_client_id_env: "EDIT_ACCESS_ID", access_client_secret_env: "EDIT_ACCESS_SECRET" };
    const { deps } = world(config, { EDIT_ACCESS_ID: "edit-id", EDIT_ACCESS_SECRET: "edit-secret" }, undefined);
    const outcome = await generate(
      { prompt: "p", backend: "img2img-local", n: 1, seed: 3, size: { width: 64, height: 64 }, references: [ref] },
      caller,
      "req-comfy-access",
      deps,
    );
    expect(outcome.backend).toBe("img2img-local");
    const upload = (await box.requests()).find((r) => r.path === "/upload/image")!;
    expect(upload.headers).toMatchObject({ "cf-access-client-id": "edit-id", "cf-access-client-secret": "edit-secret" });
    expect(upload.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
  });

  it("refuses a text-only request on the image-to-image template, sending nothing to the box", async () => {
    const box = await createBox(fakes.comfyui!);
    const { deps } = world(editConfig(box), {}, undefined);
    await expect(generate({ prompt: "p", backend: "img2img-local", n: 1, seed: 3 }, caller, "req-comfy-text", deps)).rejects.toMatchObject({
      last: { kind: "invalid_request" },
    });
    expect(await box.requests()).toEqual([]);
  });
});

describe("a chain of editing backends", () => {
  it("falls back from Replicate (rate limited) past a member that cannot edit to the home box, which gets the same input", async () => {
    const token = newToken();
    await setScenario(fakes.replicate!, token, { next_create: [0, 1, 2, 3].map(() => ({ status: 429, retry_after: 0 })) });
    const box = await createBox(fakes.comfyui!);
    const ref = await reference(8);
    const { deps, events } = world(editConfig(box), { REPLICATE_API_TOKEN: token }, undefined);
    const outcome = await generate(
      { prompt: "p", backend: "edit-anywhere", n: 1, seed: 4, size: { width: 96, height: 64 }, references: [ref] },
      caller,
      "req-chain-edit",
      deps,
    );
    expect(outcome.backend).toBe("img2img-local");
    expect(events.map((e) => [e.backend, e.success, e.error_code])).toEqual([
      ["kontext-replicate", false, "rate_limited"],
      ["img2img-local", true, null],
    ]);
    expect((await box.uploads()).map((u) => u.sha256)).toEqual([ref.sha256]);
  });
});
