/**
 * The OpenAI backend: OpenAI's Images API (GPT image models, or DALL·E where still served), one
 * call per attempt (`POST {base_url}/images/generations`, images back as base64). Edits (a spec
 * with reference images) go to `POST {base_url}/images/edits` as multipart, the input images'
 * bytes read from storage (GPT image models: up to 16 images and a mask). The model is
 * configuration, never code. Priced per image by quality × size from the price table (provider
 * `openai`): the result carries the quality the answer reports (else the configured one), the
 * price dimension besides size. `revised_prompt` and token `usage` are passed on in the result.
 * The wire format is in ./openai/protocol.ts, auth, retries and error mapping in ./openai-style.ts.
 */
import { z } from "zod";
import { nearestSize, parseSize, sizeField, type Size } from "../lib/size";
import { type AttemptContext, defineBackendType, type EditSpec, type GenerationSpec, isEdit, oneShot, type OutputFormat, referenceInputs } from "./backend";
import { BackendError } from "./errors";
import { baseInstanceFields } from "./instance-base";
import {
  isDallE,
  OPENAI_EDITS_PATH,
  OPENAI_IMAGES_PATH,
  openAiEditForm,
  openAiEditSupport,
  openAiImageRequest,
  openAiOutputFormats,
  openAiQualities,
  parseOpenAiImages,
} from "./openai/protocol";
import { createImages, openAiStyleAccess, openAiStyleFields } from "./openai-style";

export const openAiConfigSchema = z.strictObject({
  type: z.literal("openai"),
  ...baseInstanceFields,
  /** e.g. `gpt-image-1.5`, `gpt-image-2`; whatever OpenAI currently serves. */
  model: z.string().min(1).max(200),
  ...openAiStyleFields({ keyEnv: "OPENAI_API_KEY", baseUrl: "https://api.openai.com/v1", timeoutS: 120 }),
  /** Sent as `quality`; unset lets OpenAI choose (`auto`). */
  quality: z.enum(openAiQualities).optional(),
  /** GPT image models only; DALL·E answers PNG. */
  output_format: z.enum(openAiOutputFormats).default("png"),
  /**
   * The sizes this model accepts ("WxH"). When set, any other size is refused before anything is
   * sent (a 400 naming the choices); unset, OpenAI's own 400 answers it.
   */
  sizes: z.array(sizeField).min(1).optional(),
});

export const openAiBackendType = defineBackendType({
  type: "openai",
  configSchema: openAiConfigSchema,
  create(name, config, runtime) {
    const access = openAiStyleAccess("OpenAI", config, runtime);
    const edits = openAiEditSupport(config.model);
    return {
      name,
      type: "openai",
      model: config.model,
      provider: "openai",
      ...(config.quality !== undefined && { quality: config.quality }),
      defaultSize: { width: 1024, height: 1024 },
      fitSize: (wanted) => nearestSize(sizeChoices(config), wanted) ?? wanted,
      ...(edits && { edits }),
      status: () => access.status(),
      checkSpec: (spec) => void checkedChoices(config, spec),
      protocol: oneShot(async (spec, ctx) => {
        const choice = checkedChoices(config, spec);
        const api = access.require();
        const wanted = choice.quality ?? config.quality;
        const body = openAiImageRequest(spec, {
          model: config.model,
          ...(wanted !== undefined && { quality: wanted }),
          outputFormat: choice.outputFormat ?? config.output_format,
        });
        const call = { clock: ctx.clock, signal: ctx.signal, timeoutMs: config.timeout_s * 1000 };
        const answer = isEdit(spec)
          ? await createImages(api, OPENAI_EDITS_PATH, await editForm(body, spec, ctx), call)
          : await createImages(api, OPENAI_IMAGES_PATH, body, call);
        const made = parseOpenAiImages(answer);
        ctx.log.info("openai images made", { backend: name, images: made.images.length, quality: made.quality ?? wanted ?? "auto" });
        const quality = made.quality ?? wanted;
        return {
          images: made.images,
          providerImageCount: made.images.length,
          model: config.model,
          // OpenAI takes no seed: the one we drew is recorded so the row is complete, not reproducible.
          seed: spec.seed,
          ...(quality !== undefined && { quality }),
          ...(made.usage !== undefined && { tokenUsage: made.usage }),
        };
      }),
    };
  },
});

type OpenAiConfig = z.infer<typeof openAiConfigSchema>;

/** The edit as OpenAI's multipart request: the generation's fields, the input images' bytes and the mask. */
async function editForm(body: Parameters<typeof openAiEditForm>[0], spec: EditSpec, ctx: AttemptContext): Promise<FormData> {
  const inputs = referenceInputs(ctx);
  const images = await Promise.all(spec.references.map(async (image) => ({ bytes: await inputs.bytes(image), mimeType: image.mimeType })));
  const mask = spec.mask && { bytes: await inputs.bytes(spec.mask), mimeType: spec.mask.mimeType };
  // GPT image models take input_fidelity; DALL·E 2 does not.
  const fidelity = spec.inputFidelity !== undefined && !isDallE(body.model) ? { input_fidelity: spec.inputFidelity } : {};
  return openAiEditForm({ ...body, ...fidelity }, images, mask);
}

/** OpenAI's documented edit sizes: GPT image models three shapes, DALL·E 2 squares only. */
const EDIT_SIZES = {
  gptImage: [
    { width: 1024, height: 1024 },
    { width: 1536, height: 1024 },
    { width: 1024, height: 1536 },
  ],
  dallE: [
    { width: 256, height: 256 },
    { width: 512, height: 512 },
    { width: 1024, height: 1024 },
  ],
} as const satisfies Record<string, readonly Size[]>;

/** The sizes this instance may be sent: its configured list, else the model's documented ones. */
function sizeChoices(config: OpenAiConfig): readonly Size[] {
  if (config.sizes) return config.sizes.map((size) => parseSize(size)!);
  return isDallE(config.model) ? EDIT_SIZES.dallE : EDIT_SIZES.gptImage;
}

/** The caller's quality and format for this instance; a size it does not make is a 400 naming `size`. */
function checkedChoices(config: OpenAiConfig, spec: GenerationSpec): { quality?: OpenAiQuality; outputFormat?: OutputFormat } {
  const size = `${spec.width}x${spec.height}`;
  if (config.sizes && !config.sizes.includes(size)) {
    throw new BackendError("invalid_request", `${config.model} makes ${config.sizes.join(", ")}; ${size} is not one of them`, {
      invalidFields: [{ field: "size", message: `one of ${config.sizes.join(", ")}` }],
    });
  }
  return requestedChoices(config.model, spec);
}

/** DALL·E speaks standard | hd and answers PNG; GPT image models speak low … max and choose formats. */
const QUALITIES = { dallE: ["standard", "hd", "auto"], gptImage: ["low", "medium", "high", "xhigh", "max", "auto"] } as const satisfies Record<
  string,
  readonly OpenAiQuality[]
>;

/** The caller's quality and format, checked against what this model takes (a 400 naming the field otherwise). */
function requestedChoices(model: string, spec: GenerationSpec): { quality?: OpenAiQuality; outputFormat?: OutputFormat } {
  const dallE = isDallE(model);
  const allowed: readonly string[] = dallE ? QUALITIES.dallE : QUALITIES.gptImage;
  const { quality, outputFormat } = spec;
  if (quality !== undefined && !allowed.includes(quality)) {
    throw new BackendError("invalid_request", `${model} takes quality ${allowed.join(", ")}, not ${quality}`, {
      invalidFields: [{ field: "quality", message: allowed.join(", ") }],
    });
  }
  if (dallE && outputFormat !== undefined && outputFormat !== "png") {
    throw new BackendError("invalid_request", `${model} answers PNG only, not ${outputFormat}`, {
      invalidFields: [{ field: "output_format", message: "png" }],
    });
  }
  return { ...(quality !== undefined && { quality: quality as OpenAiQuality }), ...(outputFormat !== undefined && { outputFormat }) };
}

type OpenAiQuality = (typeof openAiQualities)[number];
