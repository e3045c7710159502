/**
 * `[vars.IMAGEN_CONFIG.openai]`: the OpenAI-compatible API (`/v1/images/generations`,
 * `/v1/models`). Its `model` is one of our instance names; `aliases` let clients written for
 * OpenAI keep their model names (`dall-e-3 = "flux-schnell-replicate"`).
 */
import { z } from "zod";

/** OpenAI-style model names: `dall-e-3`, `gpt-image-1.5`, `black-forest-labs/FLUX.1-schnell`. */
const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "model names are letters, digits, '.', '_', ':', '/' or '-'");

export const openaiCompatConfigSchema = z.strictObject({
  /** alias → instance name. An alias may not reuse an instance's name. */
  aliases: z.record(modelName, z.string()).default({}),
});

export type OpenAICompatConfig = z.infer<typeof openaiCompatConfigSchema>;

/** Problems with the aliases against the configured instances (path below `openai.aliases`, message). */
export function aliasProblems(config: OpenAICompatConfig, instances: readonly string[]): [string, string][] {
  return Object.entries(config.aliases).flatMap(([alias, target]): [string, string][] => {
    if (instances.includes(alias)) return [[alias, `alias "${alias}" hides the instance of the same name`]];
    if (!instances.includes(target)) return [[alias, `alias "${alias}" points at "${target}", which is not a configured backend`]];
    return [];
  });
}
