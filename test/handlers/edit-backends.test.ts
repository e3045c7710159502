/**
 * Edits on FLUX.1 Kontext (Replicate, Together) and ComfyUI image-to-image through the real app:
 * `POST /v1/images` with `reference_images` (and OpenAI's `POST /v1/images/edits`), the fakes
 * reached at one `base_url` per provider. Replicate and Together fetch the input from a signed
 * link on the deployment's `public_base_url`, which a loopback tunnel serves from this app; each
 * fake records the bytes it got, whose sha-256 must be the upload's. One ledger row per attempt,
 * priced from the price table.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it } from "vitest";
import { sniffImage } from "../../src/backends/image-size";
import { encodeCellPng } from "../../src/backends/mock/png";
import { toBase64 } from "../../src/lib/base64";
import { sha256HexOfBytes } from "../../src/lib/hash";
import { createBox, type FakeComfyBox } from "../fakes/comfyui/control";
import { creates, newKey, requestsOf } from "../fakes/openai-style/control";
import { inputsOf, newToken, requestsOf as replicateRequestsOf, setScenario } from "../fakes/replicate/kit";
import { testConfig } from "../helpers/config";
import { ledgerRows, priceRow } from "../helpers/ledger";
import { openTunnel, type OpenTunnel } from "../helpers/tunnel";
import { appWithConfig, postJson, seedKey } from "../helpers/world";

const fakes = inject("fakes");

const tunnels: OpenTunnel[] = [];
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((tunnel) => tunnel.close()));
});

/** A 96x64 (3:2) PNG whose colours depend on `salt`. */
function sourcePng(salt: number): Uint8Array {
  return encodeCellPng(96, 64, 8, (x, y) => [(x * 30 + salt) & 0xff, (y * 50 + salt) & 0xff, (salt * 7) & 0xff]);
}

/**
 * The app with the editing backends on the fakes, its `public_base_url` a tunnel it serves itself
 * (so the fakes can fetch its signed links), and the provider secrets.
 */
async function editApp(box: FakeComfyBox, secrets: Record<string, string>) {
  let app: ReturnType<typeof appWithConfig> | undefined;
  const tunnel = await openTunnel(fakes.tunnel!, (path, init) => app!.call(path, init));
  tunnels.push(tunnel);
  const config = testConfig({
    public_base_url: tunnel.url,
    providers: { replicate: { base_url: `${fakes.replicate}/v1` }, together: { base_url: `${fakes.together}/v1` } },
    backends: {
      mock: { type: "mock" },
      "flux-kontext-replicate": { type: "replicate", model: "black-forest-labs/flux-kontext-pro", delivery_hosts: ["127.0.0.1"], poll_interval_ms: 50 },
      "flux-kontext-together": { type: "together", model: "black-forest-labs/FLUX.1-kontext-pro" },
      "img2img-local": { type: "comfyui", base_url: box.url, workflow: "flux-schnell-img2img", timeout_s: 600, poll_interval_ms: 50 },
    },
    chains: { "edit-any": { backends: ["flux-kontext-replicate", "img2img-local"] } },
  });
  app = appWithConfig(config, secrets);
  return { app, tunnel, post: (key: string, body: unknown) => app!.call("/v1/images", postJson("/v1/images", key, body)) };
}

async function storedImage(key: string) {
  return sniffImage(new Uint8Array(await (await env.IMAGES.get(key))!.arrayBuffer()));
}

describe("POST /v1/images with reference_images on the Kontext and image-to-image backends", () => {
  it("Replicate: Kontext fetches the upload from a signed link on public_base_url; one ledger row at $0.04 an image", async () => {
    const token = newToken();
    const { tunnel, post } = await editApp(await createBox(fakes.comfyui!), { REPLICATE_API_TOKEN: token });
    const key = await seedKey("kontext/editor");
    const source = sourcePng(1);
    const response = await post(key, {
      prompt: "make it dusk",
      backend: "flux-kontext-replicate",
      size: "96x64",
      seed: 8,
      reference_images: [{ b64_json: toBase64(source) }],
    });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    expect(body).toMatchObject({ backend: "flux-kontext-replicate", model: "black-forest-labs/flux-kontext-pro", seed: 8, cost_usd_estimate: 0.04 });
    expect(await storedImage(body.images[0].key)).toEqual({ mimeType: "image/png", width: 1248, height: 832 });

    const sha256 = await sha256HexOfBytes(source);
    const [input] = await inputsOf(fakes.replicate!, token);
    expect(input).toMatchObject({ source: "url", status: 200, sha256, width: 96, height: 64 });
    expect(input!.url!.startsWith(`${tunnel.url}/v1/images/`)).toBe(true);
    const served = await tunnel.log();
    expect(served).toHaveLength(1);
    expect(served[0]).toMatchObject({ method: "GET", status: 200 });

    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ caller: "kontext/editor", backend: "flux-kontext-replicate", success: 1, images_produced: 1, cost_usd_estimate: 0.04 });
    expect(await priceRow(row!.price_id)).toMatchObject({ provider: "replicate", model: "black-forest-labs/flux-kontext-pro", unit: "image", usd_rate: 0.04 });
  });

  it("Replicate: an edit that names no size is sent as match_input_image and comes back in the input's ratio", async () => {
    const token = newToken();
    const { post } = await editApp(await createBox(fakes.comfyui!), { REPLICATE_API_TOKEN: token });
    const key = await seedKey("kontext/sizer");
    const source = encodeCellPng(768, 512, 8, (x, y) => [(x * 9) & 0xff, (y * 13) & 0xff, 40]);
    const response = await post(key, {
      prompt: "keep its shape",
      backend: "flux-kontext-replicate",
      seed: 3,
      reference_images: [{ b64_json: toBase64(source) }],
    });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    const made = (await replicateRequestsOf(fakes.replicate!, token)).filter((r) => r.method === "POST" && r.path.endsWith("/predictions"));
    expect(made).toHaveLength(1);
    expect((made[0]!.body as { input: Record<string, unknown> }).input.aspect_ratio).toBe("match_input_image");
    // The fake sizes Kontext's output as Replicate does: about a megapixel in the input's 3:2.
    expect(await storedImage(body.images[0].key)).toMatchObject({ width: 1248, height: 832 });
  });

  it("Together: Kontext gets image_url, fetched from the signed link; priced per megapixel produced", async () => {
    const togetherKey = newKey("together");
    const { post } = await editApp(await createBox(fakes.comfyui!), { TOGETHER_API_KEY: togetherKey });
    const key = await seedKey("kontext/together");
    const source = sourcePng(2);
    const response = await post(key, {
      prompt: "watercolour",
      backend: "flux-kontext-together",
      size: "768x512",
      reference_images: [{ b64_json: toBase64(source) }],
    });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    // 0.04 $/MP × 0.393216 MP
    expect(body).toMatchObject({ backend: "flux-kontext-together", cost_usd_estimate: 0.0157 });
    const [create] = creates(await requestsOf(fakes.together!, togetherKey));
    expect(create!.inputs).toEqual([expect.objectContaining({ field: "image_url", status: 200, sha256: await sha256HexOfBytes(source) })]);
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ backend: "flux-kontext-together", success: 1, cost_usd_estimate: 0.0157 });
    expect(await priceRow(row!.price_id)).toMatchObject({
      provider: "together",
      model: "black-forest-labs/flux.1-kontext-pro",
      unit: "megapixel",
      usd_rate: 0.04,
    });
  });

  it("ComfyUI: the upload's bytes go to /upload/image and the template loads them; free", async () => {
    const box = await createBox(fakes.comfyui!);
    const { post } = await editApp(box, {});
    const key = await seedKey("kontext/home");
    const source = sourcePng(3);
    const response = await post(key, {
      prompt: "pencil sketch",
      backend: "img2img-local",
      size: "96x64",
      n: 2,
      reference_images: [{ b64_json: toBase64(source) }],
    });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    expect(body).toMatchObject({ backend: "img2img-local", cost_usd_estimate: 0 });
    expect(body.images).toHaveLength(2);
    expect(await storedImage(body.images[0].key)).toEqual({ mimeType: "image/png", width: 96, height: 64 });
    expect((await box.uploads()).map((u) => u.sha256)).toEqual([await sha256HexOfBytes(source)]);
    const [row] = await ledgerRows(body.request_id, 1);
    expect(row).toMatchObject({ backend: "img2img-local", success: 1, images_produced: 2, cost_usd_estimate: 0 });
  });

  it("a chain falls back from Kontext on Replicate (rate limited) to ComfyUI, which gets the same input; two ledger rows", async () => {
    const token = newToken();
    await setScenario(fakes.replicate!, token, { next_create: [0, 1, 2, 3].map(() => ({ status: 429, retry_after: 0 })) });
    const box = await createBox(fakes.comfyui!);
    const { post } = await editApp(box, { REPLICATE_API_TOKEN: token });
    const key = await seedKey("kontext/chain");
    const source = sourcePng(4);
    const response = await post(key, { prompt: "p", backend: "edit-any", size: "96x64", reference_images: [{ b64_json: toBase64(source) }] });
    expect(response.status).toBe(201);
    const body = await response.json<any>();
    expect(body.backend).toBe("img2img-local");
    const rows = await ledgerRows(body.request_id, 2);
    expect(rows.map((r) => [r.backend, r.success, r.error_code, r.cost_usd_estimate])).toEqual([
      ["flux-kontext-replicate", 0, "rate_limited", 0],
      ["img2img-local", 1, null, 0],
    ]);
    expect((await box.uploads()).map((u) => u.sha256)).toEqual([await sha256HexOfBytes(source)]);
    // Replicate refused the work before fetching anything.
    expect(await inputsOf(fakes.replicate!, token)).toEqual([]);
  });
});

describe("GET /v1/backends on the editing backends", () => {
  it("says each edits one image without a mask, and that the chain edits", async () => {
    const { app } = await editApp(await createBox(fakes.comfyui!), {});
    const response = await app.call("/v1/backends", { headers: { authorization: `Bearer ${await seedKey("kontext/lister")}` } });
    const body = await response.json<any>();
    const edits = Object.fromEntries(body.backends.map((b: any) => [b.name, b.edits]));
    expect(edits).toMatchObject({
      "flux-kontext-replicate": { max_images: 1, mask: false },
      "flux-kontext-together": { max_images: 1, mask: false },
      "img2img-local": { max_images: 1, mask: false },
    });
    expect(body.chains.find((c: any) => c.name === "edit-any").edits).toBe(true);
  });
});

describe("POST /v1/images/edits (OpenAI's shape) on Kontext", () => {
  it("answers in OpenAI's shape with the edited image; Replicate got the uploaded bytes", async () => {
    const token = newToken();
    const { app } = await editApp(await createBox(fakes.comfyui!), { REPLICATE_API_TOKEN: token });
    const key = await seedKey("kontext/sdk");
    const source = sourcePng(5);
    const form = new FormData();
    form.set("image", new File([source], "source.png", { type: "image/png" }));
    form.set("prompt", "add a moon");
    form.set("model", "flux-kontext-replicate");
    const response = await app.call("/v1/images/edits", { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form });
    expect(response.status).toBe(200);
    const body = await response.json<any>();
    expect(body.data).toHaveLength(1);
    expect(sniffImage(Uint8Array.from(atob(body.data[0].b64_json), (c) => c.charCodeAt(0)))).toMatchObject({ mimeType: "image/png" });
    expect(await inputsOf(fakes.replicate!, token)).toMatchObject([{ source: "url", status: 200, sha256: await sha256HexOfBytes(source) }]);
  });
});
