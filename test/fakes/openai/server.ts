/**
 * A fake OpenAI Images API (a real node:http server) for tests, local runs and the benchmark.
 *
 *   npx tsx test/fakes/openai/server.ts --port 9030   → base_url http://127.0.0.1:9030/v1
 *
 * As OpenAI answers (platform.openai.com/docs/api-reference/images/create):
 *  - Bearer keys shaped like OpenAI's (`sk-…`); each key is an account of its own. A missing key or
 *    any other: 401 `{"error": {message, type: "invalid_request_error", param: null, code}}`.
 *  - POST /v1/images/generations {model, prompt, n, size, quality, output_format, response_format}.
 *    GPT image models (`gpt-image-1.5`, `gpt-image-2`): sizes 1024x1024, 1024x1536, 1536x1024 or
 *    auto; quality low | medium | high | auto; output_format png | jpeg | webp; n 1..10; sending
 *    `response_format` is a 400 `unknown_parameter`; the answer is always base64 with `created`,
 *    `background`, `output_format`, `quality` (auto → medium), `size` and token `usage`.
 *    `dall-e-3`: n = 1, sizes 1024x1024, 1792x1024, 1024x1792, quality standard | hd,
 *    `response_format: "b64_json"` (this fake hosts no files, so `url` is refused), and every image
 *    carries a `revised_prompt`.
 *    Unknown model: 404 `model_not_found`; a bad value: 400 `invalid_value` naming the `param`.
 *  - POST /v1/images/edits, multipart/form-data (platform.openai.com/docs/api-reference/images/createEdit):
 *    GPT image models only (anything else: 400 `invalid_value` on `model`). One `image` file part or
 *    1..16 `image[]` parts, each PNG, JPEG or WebP by its bytes (else 400 `invalid_image_format`
 *    naming `image`); an optional `mask` part, a PNG with an alpha channel the size of the first
 *    image (else 400 `invalid_value` naming `mask`); `prompt`, `n`, `size`, `quality`,
 *    `output_format`, `input_fidelity` (high | low) as text fields, checked as for generations.
 *    The answer has the generations shape; `usage.input_tokens_details.image_tokens` counts the
 *    input images (this fake: 323 per image, 1,067 each at high input fidelity).
 *  - GET /v1/models: `{object: "list", data: [{id, object: "model", created, owned_by}]}`.
 *  - `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests`
 *    on every answer; a 429 carries `retry-after` when scripted with one.
 * Test knobs (POST /__fake/scenario, see ../openai-style/control.ts): fail the next creates with a
 * status, delay answers, drop the connection after reading a create.
 */
import { pathToFileURL } from "node:url";
import { type Answer, type FakeForm, type FakeProvider, type RunningFake, startImagesApi } from "../openai-style/server";
import { encodeImage, type Format } from "../replicate/images";

interface FakeModel {
  readonly sizes: readonly string[];
  readonly qualities: readonly string[];
  readonly maxN: number;
  readonly gpt: boolean;
}

const GPT_SIZES = ["1024x1024", "1024x1536", "1536x1024", "auto"];
const GPT: FakeModel = { sizes: GPT_SIZES, qualities: ["low", "medium", "high", "auto"], maxN: 10, gpt: true };
const MODELS: Record<string, FakeModel> = {
  "gpt-image-1.5": GPT,
  "gpt-image-2": GPT,
  "dall-e-3": { sizes: ["1024x1024", "1792x1024", "1024x1792"], qualities: ["standard", "hd"], maxN: 1, gpt: false },
};

/** Output tokens per image by quality at 1024x1024; other sizes scale by area. */
const OUTPUT_TOKENS: Record<string, number> = { low: 272, medium: 1056, high: 4160 };

const openai: FakeProvider = {
  keyPattern: /^sk-[A-Za-z0-9_-]{8,}$/,
  unauthorized: (key) =>
    key === null
      ? error(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          null,
          null,
        )
      : error(
          401,
          `Incorrect API key provided: ${mask(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          null,
          "invalid_api_key",
        ),
  failure(status, retryAfter) {
    if (status === 429) {
      const answer = error(
        429,
        "Rate limit reached for images per minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 12s.",
        null,
        "rate_limit_exceeded",
        "requests",
      );
      return retryAfter === undefined ? answer : { ...answer, headers: { "retry-after": String(retryAfter) } };
    }
    if (status === 401) return openai.unauthorized(null);
    if (status === 503) return error(503, "The engine is currently overloaded, please try again later.", null, null, "server_error");
    return error(status, "The server had an error while processing your request. Sorry about that!", null, null, "server_error");
  },
  models: () => ({
    status: 200,
    body: { object: "list", data: Object.keys(MODELS).map((id) => ({ id, object: "model", created: 1_730_000_000, owned_by: "system" })) },
  }),
  generate,
  edit,
  rateLimitHeaders: () => ({ "x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "4", "x-ratelimit-reset-requests": "12s" }),
};

function generate(raw: unknown): Answer {
  if (typeof raw !== "object" || raw === null) {
    return error(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", null, null);
  }
  const body = raw as Record<string, unknown>;
  const name = typeof body.model === "string" ? body.model : "dall-e-2";
  const model = MODELS[name];
  if (!model) return error(404, `The model \`${name}\` does not exist or you do not have access to it.`, null, "model_not_found");
  if (typeof body.prompt !== "string" || body.prompt === "") return error(400, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
  const n = body.n ?? 1;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > model.maxN) {
    return error(400, `Invalid 'n': integer must be between 1 and ${model.maxN}.`, "n", "invalid_value");
  }
  const size = body.size ?? (model.gpt ? "auto" : "1024x1024");
  if (typeof size !== "string" || !model.sizes.includes(size)) return invalidValue("size", size, model.sizes);
  const quality = body.quality ?? (model.gpt ? "auto" : "standard");
  if (typeof quality !== "string" || !model.qualities.includes(quality)) return invalidValue("quality", quality, model.qualities);
  let format: Format = "png";
  if (model.gpt) {
    if (body.response_format !== undefined) return error(400, "Unknown parameter: 'response_format'.", "response_format", "unknown_parameter");
    const outputFormat = body.output_format ?? "png";
    if (outputFormat !== "png" && outputFormat !== "jpeg" && outputFormat !== "webp")
      return invalidValue("output_format", outputFormat, ["png", "jpeg", "webp"]);
    format = outputFormat === "jpeg" ? "jpg" : outputFormat;
  } else {
    if (body.output_format !== undefined) return error(400, "Unknown parameter: 'output_format'.", "output_format", "unknown_parameter");
    if (body.response_format !== "b64_json") return error(400, 'this fake hosts no files; send response_format "b64_json"', "response_format", "invalid_value");
  }

  const [width, height] = (size === "auto" ? "1024x1024" : size).split("x").map(Number) as [number, number];
  const made = quality === "auto" ? "medium" : quality;
  const data = Array.from({ length: n }, (_, index) => ({
    b64_json: encodeImage(format, width, height, [40 + index * 60, 90, 160]).toString("base64"),
    ...(model.gpt ? {} : { revised_prompt: `A detailed rendering of: ${body.prompt as string}` }),
  }));
  const created = Math.floor(Date.now() / 1000);
  if (!model.gpt) return { status: 200, body: { created, data } };
  const textTokens = Math.ceil((body.prompt as string).length / 4);
  const outputTokens = Math.round(((OUTPUT_TOKENS[made] ?? 1056) * width * height) / (1024 * 1024)) * n;
  return {
    status: 200,
    body: {
      created,
      background: "opaque",
      data,
      output_format: format === "jpg" ? "jpeg" : format,
      quality: made,
      size: `${width}x${height}`,
      usage: {
        input_tokens: textTokens,
        input_tokens_details: { image_tokens: 0, text_tokens: textTokens },
        output_tokens: outputTokens,
        total_tokens: textTokens + outputTokens,
      },
    },
  };
}

/** Input image tokens per image, by input fidelity (this fake's own figures). */
const IMAGE_TOKENS = { low: 323, high: 1067 } as const;

function edit(form: FakeForm): Answer {
  const { fields, files } = form;
  const name = fields.model ?? "gpt-image-1.5";
  const model = MODELS[name];
  if (!model) return error(404, `The model \`${name}\` does not exist or you do not have access to it.`, null, "model_not_found");
  if (!model.gpt) return error(400, `Invalid value: '${name}'. Image edits take a GPT image model.`, "model", "invalid_value");
  const images = [...(files.image ?? []), ...(files["image[]"] ?? [])];
  if (images.length === 0) return error(400, "Missing required parameter: 'image'.", "image", "missing_required_parameter");
  if (images.length > 16) return error(400, "Invalid 'image': at most 16 images.", "image", "invalid_value");
  for (const image of images) {
    if (!imageType(image.bytes)) {
      return error(400, "Invalid image file or mode for image 1, please check your image file.", "image", "invalid_image_format");
    }
  }
  const mask = files.mask?.[0];
  if (mask) {
    const maskSize = pngSize(mask.bytes);
    const firstSize = pngSize(images[0]!.bytes);
    if (!maskSize?.alpha) return error(400, "Invalid mask: a PNG with an alpha channel is required.", "mask", "invalid_value");
    if (firstSize && (maskSize.width !== firstSize.width || maskSize.height !== firstSize.height)) {
      return error(400, "Invalid mask image: the mask and the image must have the same dimensions.", "mask", "invalid_value");
    }
  }
  const fidelity = fields.input_fidelity ?? "low";
  if (fidelity !== "low" && fidelity !== "high") return invalidValue("input_fidelity", fidelity, ["high", "low"]);
  const answer = generate({
    model: name,
    prompt: fields.prompt,
    ...(fields.n !== undefined && { n: Number(fields.n) }),
    ...(fields.size !== undefined && { size: fields.size }),
    ...(fields.quality !== undefined && { quality: fields.quality }),
    ...(fields.output_format !== undefined && { output_format: fields.output_format }),
    ...(fields.response_format !== undefined && { response_format: fields.response_format }),
  });
  if (answer.status !== 200) return answer;
  const body = answer.body as { usage: { input_tokens: number; total_tokens: number; input_tokens_details: { image_tokens: number; text_tokens: number } } };
  const imageTokens = IMAGE_TOKENS[fidelity] * images.length;
  const usage = {
    ...body.usage,
    input_tokens: body.usage.input_tokens + imageTokens,
    total_tokens: body.usage.total_tokens + imageTokens,
    input_tokens_details: { ...body.usage.input_tokens_details, image_tokens: imageTokens },
  };
  return { status: 200, body: { ...body, usage } };
}

function imageType(bytes: Buffer): string | null {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP") return "webp";
  return null;
}

/** A PNG's size from its header, and whether its colour type carries alpha (4, 6) or it has a tRNS chunk. */
function pngSize(bytes: Buffer): { width: number; height: number; alpha: boolean } | null {
  if (imageType(bytes) !== "png") return null;
  const colourType = bytes[25];
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), alpha: colourType === 4 || colourType === 6 || bytes.includes("tRNS") };
}

function invalidValue(param: string, value: unknown, allowed: readonly string[]): Answer {
  const choices = allowed.map((a) => `'${a}'`);
  const list = choices.length > 1 ? `${choices.slice(0, -1).join(", ")}, and ${choices.at(-1)}` : choices.join("");
  return error(400, `Invalid value: '${String(value)}'. Supported values are: ${list}.`, param, "invalid_value");
}

function error(status: number, message: string, param: string | null, code: string | null, type = "invalid_request_error"): Answer {
  return { status, body: { error: { message, type, param, code } } };
}

function mask(key: string): string {
  return `${key.slice(0, 7)}${"*".repeat(8)}${key.slice(-4)}`;
}

export function start(options: { port?: number } = {}): Promise<RunningFake> {
  return startImagesApi(openai, options);
}

// Standalone: npx tsx test/fakes/openai/server.ts --port 9030
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const portFlag = process.argv.indexOf("--port");
  start({ port: portFlag > 0 ? Number(process.argv[portFlag + 1]) : 9030 }).then((fake) => {
    console.log(`fake OpenAI on ${fake.url} (base_url ${fake.url}/v1); any sk-… key works`);
  });
}
