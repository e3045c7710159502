/**
 * A fake Together AI images API (a real node:http server) for tests and local runs.
 *
 *   npx tsx test/fakes/together/server.ts --port 9020   → base_url http://127.0.0.1:9020/v1
 *
 * As Together answers (docs.together.ai, images/generations):
 *  - Bearer keys shaped like Together's (`tgp_v1_…`); each key is an account of its own. Others:
 *    401 `{"id", "error": {message, type: "invalid_request_error", param: null, code: "invalid_api_key"}}`.
 *  - POST /v1/images/generations {model, prompt, width, height, steps, n, seed, negative_prompt,
 *    response_format: "base64", output_format: "jpeg" | "png" (default jpeg)} →
 *    200 `{id, model, object: "list", data: [{index, type: "b64_json", b64_json}]}` — real images of
 *    the requested size; no `created`, no usage. Errors as `{"id", "error": {message, type, param, code}}`:
 *    unknown model 404 `model_not_available`; width/height outside 256..1792 or not a multiple of
 *    16, steps or n out of range, a missing prompt: 400 naming the `param`. (`response_format: "url"`
    is Together's default, but this fake hosts no files: it answers that with a 400 saying so.)
 *  - FLUX.1 Kontext (`black-forest-labs/FLUX.1-kontext-pro` / `-max` / `-dev`) edit the image named by
 *    `image_url` (docs.together.ai, "Image-to-image generation"): the fake fetches it (loopback
 *    hosts only, see ../input-images.ts) or decodes a data URI, and records what it took on the
 *    request; one it cannot take is a 400 naming `image_url`. Other models answer `image_url`
 *    with a 400 too (only Kontext and FLUX.2 take it; this fake knows no FLUX.2).
 *  - GET /v1/models: a JSON array of models (Together's shape, not OpenAI's `{data: [...]}`).
 *  - `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` on every answer;
 *    `retry-after` on a 429.
 * Test knobs (POST /__fake/scenario, see ../openai-style/control.ts): fail the next creates with a
 * status, delay answers, drop the connection after reading a create.
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { takeInputImage } from "../input-images";
import { type Answer, type FakeProvider, type RunningFake, startImagesApi } from "../openai-style/server";
import { encodeImage } from "../replicate/images";

/** Model → the most steps it takes. */
const MODELS: Record<string, number> = {
  "black-forest-labs/FLUX.1-schnell": 12,
  "black-forest-labs/FLUX.1-schnell-Free": 4,
  "black-forest-labs/FLUX.1-dev": 50,
  "black-forest-labs/FLUX.1.1-pro": 50,
  "black-forest-labs/FLUX.1-kontext-pro": 50,
  "black-forest-labs/FLUX.1-kontext-max": 50,
  "black-forest-labs/FLUX.1-kontext-dev": 50,
};

/** The models that take `image_url` (the image to edit). */
const TAKES_IMAGE_URL = new Set(["black-forest-labs/FLUX.1-kontext-pro", "black-forest-labs/FLUX.1-kontext-max", "black-forest-labs/FLUX.1-kontext-dev"]);

const KEY = /^tgp_v1_[A-Za-z0-9_-]{8,}$/;

const together: FakeProvider = {
  keyPattern: KEY,
  unauthorized: () => error(401, "Invalid API key provided. You can find your API key at https://api.together.ai/settings/api-keys.", null, "invalid_api_key"),
  failure(status, retryAfter) {
    if (status === 429) {
      const answer = error(429, "You have exceeded the rate limit for this model. Please slow down and try again.", null, "rate_limit_exceeded", "rate_limit");
      return retryAfter === undefined ? answer : { ...answer, headers: { "retry-after": String(retryAfter) } };
    }
    if (status === 401) return together.unauthorized(null);
    if (status === 402) return error(402, "Credit limit exceeded. Please add a payment method or purchase credits.", null, "credit_limit", "credit_limit");
    return error(status, status === 503 ? "The server is overloaded or not ready yet." : "Internal server error", null, null, "server_error");
  },
  models: () => ({
    status: 200,
    body: Object.keys(MODELS).map((id) => ({
      id,
      object: "model",
      created: 1_730_000_000,
      type: "image",
      display_name: id.split("/")[1],
      organization: "Black Forest Labs",
    })),
  }),
  generate,
  rateLimitHeaders: () => ({ "x-ratelimit-limit": "10", "x-ratelimit-remaining": "9", "x-ratelimit-reset": "6" }),
};

async function generate(raw: unknown): Promise<Answer> {
  if (typeof raw !== "object" || raw === null) return error(400, "Invalid request body: expected a JSON object", null);
  const body = raw as Record<string, unknown>;
  const model = body.model;
  if (typeof model !== "string") return error(400, "model is required", "model");
  const maxSteps = MODELS[model];
  if (maxSteps === undefined) {
    return error(
      404,
      `Unable to access model ${model}. Please visit https://api.together.ai/models to view the list of supported models.`,
      null,
      "model_not_available",
    );
  }
  if (typeof body.prompt !== "string" || body.prompt === "") return error(400, "prompt is required", "prompt");
  const width = body.width ?? 1024;
  const height = body.height ?? 768;
  for (const [param, side] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (typeof side !== "number" || !Number.isInteger(side) || side < 256 || side > 1792 || side % 16 !== 0) {
      return error(400, `${param} must be a multiple of 16 between 256 and 1792, got ${String(side)}`, param);
    }
  }
  const n = body.n ?? 1;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 4) return error(400, "n must be between 1 and 4", "n");
  const steps = body.steps ?? Math.min(maxSteps, 28);
  if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1 || steps > maxSteps) {
    return error(400, `steps must be between 1 and ${maxSteps} for ${model}`, "steps");
  }
  const format = body.output_format ?? "jpeg";
  if (format !== "jpeg" && format !== "png") return error(400, "output_format must be one of jpeg, png", "output_format");
  const responseFormat = body.response_format ?? "url";
  if (responseFormat !== "base64" && responseFormat !== "url") return error(400, "response_format must be one of base64, url", "response_format");
  if (responseFormat === "url") return error(400, 'this fake serves base64 only; send response_format "base64"', "response_format");

  let tint = 0;
  const inputs = [];
  if (body.image_url !== undefined) {
    if (!TAKES_IMAGE_URL.has(model)) return error(400, `image_url is not supported by ${model}`, "image_url");
    if (typeof body.image_url !== "string") return error(400, "image_url must be a string", "image_url");
    const taken = await takeInputImage("image_url", body.image_url);
    inputs.push(taken.record);
    if (!taken.image) return { ...error(400, `Failed to load image_url: ${taken.record.error}`, "image_url"), inputs };
    // An edit's colour follows its input, so a different input gives a different output.
    tint = taken.image.bytes.reduce((sum, byte) => (sum + byte) % 256, 0);
  }

  const seed = typeof body.seed === "number" ? body.seed : 0;
  const data = Array.from({ length: n }, (_, index) => ({
    index,
    type: "b64_json",
    b64_json: encodeImage(format === "png" ? "png" : "jpg", width as number, height as number, colourFor(seed + tint, index)).toString("base64"),
  }));
  return { status: 200, body: { id: generationId(), model, object: "list", data }, ...(inputs.length > 0 && { inputs }) };
}

function error(status: number, message: string, param: string | null, code: string | null = null, type = "invalid_request_error"): Answer {
  return { status, body: { id: generationId(), error: { message, type, param, code } } };
}

function colourFor(seed: number, index: number): [number, number, number] {
  return [(seed * 37 + index * 90) % 256, (seed * 11 + 60) % 256, (index * 70 + 120) % 256];
}

function generationId(): string {
  return `${randomBytes(8).toString("hex")}-${randomBytes(4).toString("hex")}`;
}

export function start(options: { port?: number } = {}): Promise<RunningFake> {
  return startImagesApi(together, options);
}

// Standalone: npx tsx test/fakes/together/server.ts --port 9020
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const portFlag = process.argv.indexOf("--port");
  start({ port: portFlag > 0 ? Number(process.argv[portFlag + 1]) : 9020 }).then((fake) => {
    console.log(`fake Together on ${fake.url} (base_url ${fake.url}/v1); any tgp_v1_… key works`);
  });
}
