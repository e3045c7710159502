/**
 * The Together backend: hosted FLUX through Together's OpenAI-style images API, one call per
 * attempt (`POST {base_url}/images/generations`, images back as base64). Priced per megapixel
 * produced from the price table (provider `together`). The wire format is in ./together/protocol.ts,
 * auth, retries and error mapping in ./openai-style.ts.
 *
 * FLUX.1 Kontext models edit: the input image goes as `image_url`, a short-lived signed link to
 * the stored image on our public origin that Together fetches (docs.together.ai, "Image-to-image
 * generation"). Together documents URLs only, so without a public origin an edit is refused.
 */
import { z } from "zod";
import { defineBackendType, isEdit, oneShot, referenceInputs } from "./backend";
import { baseInstanceFields } from "./instance-base";
import { createImages, openAiStyleAccess, openAiStyleFields } from "./openai-style";
import { parseTogetherImages, takesImageUrl, TOGETHER_IMAGES_PATH, togetherImageRequest, togetherOutputFormats } from "./together/protocol";

export const togetherConfigSchema = z.strictObject({
  type: z.literal("together"),
  ...baseInstanceFields,
  /** Together's model id, e.g. `black-forest-labs/FLUX.1-schnell`. */
  model: z.string().min(1).max(200),
  ...openAiStyleFields({ keyEnv: "TOGETHER_API_KEY", baseUrl: "https://api.together.ai/v1", timeoutS: 60 }),
  output_format: z.enum(togetherOutputFormats).default("png"),
});

export const togetherBackendType = defineBackendType({
  type: "together",
  configSchema: togetherConfigSchema,
  create(name, config, runtime) {
    const access = openAiStyleAccess("Together", config, runtime);
    return {
      name,
      type: "together",
      model: config.model,
      provider: "together",
      // Kontext takes one image to edit (`image_url`), no mask.
      ...(takesImageUrl(config.model) && { edits: { maxImages: 1, mask: false } }),
      status: () => access.status(),
      protocol: oneShot(async (spec, ctx) => {
        const api = access.require();
        const imageUrl = isEdit(spec) ? await referenceInputs(ctx).signedUrl(spec.references[0]!, config.base_url) : undefined;
        const body = togetherImageRequest(spec, {
          model: config.model,
          ...(config.default_steps !== undefined && { defaultSteps: config.default_steps }),
          outputFormat: config.output_format,
          ...(imageUrl !== undefined && { imageUrl }),
        });
        const answer = await createImages(api, TOGETHER_IMAGES_PATH, body, { clock: ctx.clock, signal: ctx.signal, timeoutMs: config.timeout_s * 1000 });
        const { id, images } = parseTogetherImages(answer);
        ctx.log.info("together images made", { backend: name, images: images.length, ...(id !== undefined && { together_id: id }) });
        return {
          images,
          providerImageCount: images.length,
          model: config.model,
          // Together uses the seed it is sent and does not echo it.
          seed: spec.seed,
          ...(id !== undefined && { externalId: id }),
        };
      }),
    };
  },
});
