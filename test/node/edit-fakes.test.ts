/**
 * The fakes' edit protocols, driven over HTTP as a provider client would: Replicate's Kontext
 * `input_image` and Together's `image_url` (fetched from a loopback URL or decoded from a data
 * URI, recorded with its sha-256), and ComfyUI's `/upload/image` feeding a `LoadImage` node.
 * The backends' own tests (test/handlers/edit-backends.test.ts) rely on these behaviours.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sniffImage } from "../../src/backends/image-size";
import { createBox } from "../fakes/comfyui/control";
import { start as startComfy } from "../fakes/comfyui/server";
import { creates, newKey, requestsOf } from "../fakes/openai-style/control";
import { encodePng } from "../fakes/png";
import { inputsOf, newToken } from "../fakes/replicate/kit";
import { start as startReplicate } from "../fakes/replicate/server";
import { start as startTogether } from "../fakes/together/server";

const SOURCE = encodePng(64, 32, () => [200, 40, 90]);
const OTHER = encodePng(64, 32, () => [10, 220, 30]);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let images: Server;
let imagesUrl = "";
const running: { close(): Promise<void> }[] = [];
let replicate = "";
let together = "";
let comfy = "";

beforeAll(async () => {
  // The "Worker" serving the input image: a loopback server with one file.
  images = createServer((req, res) => {
    if (req.url === "/source.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": String(SOURCE.length) });
      res.end(SOURCE);
      return;
    }
    res.writeHead(403, { "content-type": "text/plain" });
    res.end("signature expired");
  });
  await new Promise<void>((resolve) => images.listen(0, "127.0.0.1", resolve));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  const [r, t, c] = await Promise.all([startReplicate(), startTogether(), startComfy()]);
  running.push(r, t, c);
  [replicate, together, comfy] = [r.url, t.url, c.url];
});

afterAll(async () => {
  await Promise.all(running.map((fake) => fake.close()));
  await new Promise<void>((resolve) => images.close(() => resolve()));
});

async function predict(token: string, model: string, input: Record<string, unknown>) {
  const response = await fetch(`${replicate}/v1/models/black-forest-labs/${model}/predictions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", prefer: "wait=30" },
    body: JSON.stringify({ input }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe("fake Replicate, FLUX.1 Kontext", () => {
  it("fetches a loopback input_image URL when the prediction is made, records its hash, and edits in its ratio", async () => {
    const token = newToken();
    const { status, body } = await predict(token, "flux-kontext-pro", { prompt: "make it blue", input_image: `${imagesUrl}/source.png`, seed: 3 });
    expect(status).toBe(201);
    expect(typeof body.output).toBe("string");
    const [input] = await inputsOf(replicate, token);
    expect(input).toMatchObject({ field: "input_image", source: "url", status: 200, sha256: sha256(SOURCE), width: 64, height: 32, prediction_id: body.id });
    const output = new Uint8Array(await (await fetch(body.output)).arrayBuffer());
    // match_input_image (the default): 2:1 at about one megapixel, png by default on Kontext pro.
    expect(sniffImage(output)).toEqual({ mimeType: "image/png", width: 1440, height: 736 });
  });

  it("takes a data URI as it is", async () => {
    const token = newToken();
    const { body } = await predict(token, "flux-kontext-max", {
      prompt: "p",
      input_image: `data:image/png;base64,${OTHER.toString("base64")}`,
      aspect_ratio: "1:1",
    });
    // Prefer: wait answers once the output exists (the status may still say processing).
    expect(typeof body.output).toBe("string");
    expect(await inputsOf(replicate, token)).toMatchObject([{ source: "data_uri", sha256: sha256(OTHER) }]);
  });

  it("fails the prediction, fetching nothing, when input_image is on a host that is not loopback or answers an error", async () => {
    const token = newToken();
    const far = await predict(token, "flux-kontext-pro", { prompt: "p", input_image: "https://images.invalid/source.png" });
    expect(far.body).toMatchObject({ status: "failed", error: expect.stringContaining("loopback hosts only") });
    const refused = await predict(token, "flux-kontext-pro", { prompt: "p", input_image: `${imagesUrl}/expired.png` });
    expect(refused.body).toMatchObject({ status: "failed", error: "Failed to read input_image: HTTP 403" });
    expect((await inputsOf(replicate, token)).map((i) => [i.source, i.status ?? null, i.sha256 ?? null])).toEqual([
      ["url", null, null],
      ["url", 403, null],
    ]);
  });

  it("answers flux-kontext-dev without an input_image with a 422 naming it", async () => {
    const { status, body } = await predict(newToken(), "flux-kontext-dev", { prompt: "p" });
    expect(status).toBe(422);
    expect(body.invalid_fields).toEqual([{ type: "required", field: "input.input_image", description: "input_image is required" }]);
  });
});

describe("fake Together, FLUX.1 Kontext", () => {
  const generate = (key: string, body: Record<string, unknown>) =>
    fetch(`${together}/v1/images/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "p", width: 512, height: 256, response_format: "base64", output_format: "png", ...body }),
    });

  it("fetches image_url for a Kontext model and records what it took on the request", async () => {
    const key = newKey("together");
    const response = await generate(key, { model: "black-forest-labs/FLUX.1-kontext-pro", image_url: `${imagesUrl}/source.png` });
    expect(response.status).toBe(200);
    const image = Buffer.from(((await response.json()) as any).data[0].b64_json, "base64");
    expect(sniffImage(image)).toEqual({ mimeType: "image/png", width: 512, height: 256 });
    const [create] = creates(await requestsOf(together, key));
    expect(create?.inputs).toEqual([expect.objectContaining({ field: "image_url", source: "url", status: 200, sha256: sha256(SOURCE) })]);
  });

  it("answers image_url on a model that does not take it, or an image it cannot load, with a 400 naming image_url", async () => {
    const key = newKey("together");
    const schnell = await generate(key, { model: "black-forest-labs/FLUX.1-schnell", image_url: `${imagesUrl}/source.png` });
    expect(schnell.status).toBe(400);
    expect(((await schnell.json()) as any).error.param).toBe("image_url");
    const gone = await generate(key, { model: "black-forest-labs/FLUX.1-kontext-max", image_url: `${imagesUrl}/expired.png` });
    expect(gone.status).toBe(400);
    expect(((await gone.json()) as any).error).toMatchObject({ param: "image_url", message: "Failed to load image_url: HTTP 403" });
  });
});

describe("fake ComfyUI, /upload/image and LoadImage", () => {
  const upload = (url: string, bytes: Buffer, name: string, fields: Record<string, string> = {}) => {
    const form = new FormData();
    form.set("image", new File([bytes], name, { type: "image/png" }));
    for (const [field, value] of Object.entries(fields)) form.set(field, value);
    return fetch(`${url}/upload/image`, { method: "POST", body: form });
  };

  it("stores an upload in the input folder, renames a different file of the same name, reuses an identical one", async () => {
    const box = await createBox(comfy);
    expect(await (await upload(box.url, SOURCE, "ref.png")).json()).toEqual({ name: "ref.png", subfolder: "", type: "input" });
    expect(await (await upload(box.url, OTHER, "ref.png")).json()).toEqual({ name: "ref (1).png", subfolder: "", type: "input" });
    expect(await (await upload(box.url, SOURCE, "ref.png")).json()).toEqual({ name: "ref.png", subfolder: "", type: "input" });
    expect(await (await upload(box.url, OTHER, "ref.png", { overwrite: "true", subfolder: "imagen" })).json()).toEqual({
      name: "ref.png",
      subfolder: "imagen",
      type: "input",
    });
    expect((await upload(box.url, SOURCE, "x.png", { subfolder: "../escape" })).status).toBe(400);
    expect((await box.uploads()).map((u) => [u.name, u.subfolder, u.sha256])).toEqual([
      ["ref.png", "", sha256(SOURCE)],
      ["ref (1).png", "", sha256(OTHER)],
      ["ref.png", "", sha256(SOURCE)],
      ["ref.png", "imagen", sha256(OTHER)],
    ]);
  });

  const img2img = (image: string) => ({
    "1": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "flux1-schnell-fp8.safetensors" } },
    "2": { class_type: "LoadImage", inputs: { image } },
    "3": { class_type: "ImageScale", inputs: { image: ["2", 0], upscale_method: "lanczos", width: 0, height: 64, crop: "disabled" } },
    "4": { class_type: "VAEEncode", inputs: { pixels: ["3", 0], vae: ["1", 2] } },
    "5": { class_type: "RepeatLatentBatch", inputs: { samples: ["4", 0], amount: 2 } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: "p", clip: ["1", 1] } },
    "7": {
      class_type: "KSampler",
      inputs: {
        model: ["1", 0],
        seed: 5,
        steps: 2,
        cfg: 1,
        sampler_name: "euler",
        scheduler: "simple",
        positive: ["6", 0],
        negative: ["6", 0],
        latent_image: ["5", 0],
        denoise: 0.75,
      },
    },
    "8": { class_type: "VAEDecode", inputs: { samples: ["7", 0], vae: ["1", 2] } },
    "9": { class_type: "SaveImage", inputs: { images: ["8", 0], filename_prefix: "edit" } },
  });

  it("runs a LoadImage of an uploaded file: the output follows its size through ImageScale, batched by RepeatLatentBatch", async () => {
    const box = await createBox(comfy);
    await upload(box.url, SOURCE, "ref.png", { subfolder: "imagen" });
    const queued = await fetch(`${box.url}/prompt`, { method: "POST", body: JSON.stringify({ prompt: img2img("imagen/ref.png") }) });
    expect(queued.status).toBe(200);
    const { prompt_id: id } = (await queued.json()) as { prompt_id: string };
    let entry: any;
    for (let i = 0; i < 600 && !entry; i++) {
      entry = ((await (await fetch(`${box.url}/history/${id}`)).json()) as any)[id];
      if (!entry) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const images = entry.outputs["9"].images;
    expect(images).toHaveLength(2);
    const file = new Uint8Array(await (await fetch(`${box.url}/view?filename=${images[0].filename}&type=output`)).arrayBuffer());
    // 64x32 scaled to height 64 in its ratio.
    expect(sniffImage(file)).toMatchObject({ width: 128, height: 64 });
  });

  it("refuses a LoadImage of a file the input folder does not have, as ComfyUI's custom validation does", async () => {
    const box = await createBox(comfy);
    const refused = await fetch(`${box.url}/prompt`, { method: "POST", body: JSON.stringify({ prompt: img2img("missing.png") }) });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as any;
    expect(body.error.type).toBe("prompt_outputs_failed_validation");
    expect(body.node_errors["2"].errors).toEqual([
      {
        type: "custom_validation_failed",
        message: "Custom validation failed for node",
        details: "image - Invalid image file: missing.png",
        extra_info: { input_name: "image" },
      },
    ]);
  });
});
