/**
 * The service configuration: one zod schema, loaded from the `IMAGEN_CONFIG` wrangler var (a TOML
 * table in wrangler.toml) and validated once. Secrets never live here: an instance names the env
 * var that holds its secret (`api_token_env`).
 */
import { z } from "zod";
import { envVarName } from "../backends/instance-base";
import { backendInstanceSchema } from "../backends/registry";
import { editsConfigSchema } from "./edits";
import { guardConfigSchema } from "./guard";
import { jobsConfigSchema, publicBaseUrl } from "./jobs";
import { pricingConfigSchema } from "../pricing/config";
import { hasOwnEntry } from "../lib/lookup";
import { keyProblem, renderNamingTemplate } from "../storage/naming";
import { providersSchema, withProviderDefaults } from "./providers";
import { imageUrlsConfigSchema } from "../storage/signed-urls";
import { aliasProblems, openaiCompatConfigSchema } from "./openai-compat";
import { sizeString } from "../lib/size";
import { chainProblems, chainSchema } from "./chains";

/** Names of backend instances and styles (they appear in URLs, object keys and ledger rows). */
export const INSTANCE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const name = z.string().regex(INSTANCE_NAME_PATTERN, "names are lowercase letters, digits, '.', '_' or '-'");

const styleSchema = z.strictObject({
  /** Prompt template; `{prompt}` is replaced by the caller's prompt. */
  template: z.string().includes("{prompt}", { message: "a style template must contain {prompt}" }),
  size: sizeString.optional(),
  negative: z.string().max(2000).optional(),
});

/**
 * Private by default: keys reach request logs (URLs), bucket listings, job documents and
 * callbacks, so they carry no prompt text. `{slug}` (the prompt's first words) is opt-in.
 */
const DEFAULT_NAMING = "{caller}/{date}/{time}-{id}-{seed}-{backend}.{ext}";

const outputSchema = z.strictObject({
  naming: z
    .string()
    .min(1)
    .max(400)
    .default(DEFAULT_NAMING)
    .superRefine((template, ctx) => {
      // Render with sample values: a template that could escape its folder is a config error.
      const sample = renderNamingTemplate(template, {
        now: new Date(0),
        prompt: "sample prompt",
        seed: 1,
        backend: "mock",
        ext: "png",
        caller: "caller",
        id: "id",
      });
      const problem = keyProblem(sample, { allowBraces: true });
      if (problem) ctx.addIssue({ code: "custom", message: `the naming template renders keys that ${problem}` });
    }),
  sidecar: z.boolean().default(true),
});

const ledgerSchema = z.strictObject({
  /** `auto`: Supabase when both its env vars are set, else the embedded D1 ledger. */
  backend: z.enum(["auto", "d1", "supabase"]).default("auto"),
  /** Names of the env vars holding the project URL and the secret (service-role) key. */
  supabase_url_env: envVarName.default("SUPABASE_URL"),
  supabase_key_env: envVarName.default("SUPABASE_SECRET_KEY"),
});

const configObjectSchema = z
  .strictObject({
    /**
     * The one origin every URL we hand out starts with (image URLs in answers, job status and
     * webhook URLs, `/openapi.json` servers): never the request's Host header (src/http/public-origin.ts).
     */
    public_base_url: publicBaseUrl.optional(),
    default_backend: name,
    /** Per provider family, e.g. one `base_url` for every Together instance (see ./providers.ts). */
    providers: providersSchema,
    backends: z.record(name, backendInstanceSchema),
    /** Named fallback chains, usable wherever an instance name is (./chains.ts). */
    chains: z.record(name, chainSchema).default({}),
    styles: z.record(name, styleSchema).default({}),
    output: outputSchema.default({ naming: DEFAULT_NAMING, sidecar: true }),
    ledger: ledgerSchema.prefault({}),
    pricing: pricingConfigSchema.prefault({}),
    jobs: jobsConfigSchema.prefault({}),
    guard: guardConfigSchema.prefault({}),
    image_urls: imageUrlsConfigSchema.prefault({}),
    openai: openaiCompatConfigSchema.prefault({}),
    edits: editsConfigSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    if (!hasOwnEntry(config.backends, config.default_backend) && !hasOwnEntry(config.chains, config.default_backend)) {
      ctx.addIssue({
        code: "custom",
        path: ["default_backend"],
        message: `default_backend "${config.default_backend}" is not one of the configured backends or chains`,
      });
    }
    for (const [path, message] of chainProblems(config.chains, Object.keys(config.backends))) {
      ctx.addIssue({ code: "custom", path: ["chains", ...path], message });
    }
    for (const [instance, backend] of Object.entries(config.backends)) {
      for (const [i, next] of (backend.fallback ?? []).entries()) {
        if (!hasOwnEntry(config.backends, next) || next === instance) {
          ctx.addIssue({
            code: "custom",
            path: ["backends", instance, "fallback", i],
            message: `fallback "${next}" is not another configured backend`,
          });
        }
      }
    }
    for (const [alias, message] of aliasProblems(config.openai, [...Object.keys(config.backends), ...Object.keys(config.chains)])) {
      ctx.addIssue({ code: "custom", path: ["openai", "aliases", alias], message });
    }
    const deprecated = config.jobs.public_base_url;
    if (config.public_base_url !== undefined && deprecated !== undefined && config.public_base_url !== deprecated) {
      ctx.addIssue({
        code: "custom",
        path: ["jobs", "public_base_url"],
        message: "jobs.public_base_url is the old name of public_base_url; set only public_base_url",
      });
    }
  })
  // `jobs.public_base_url` (the old name) still works; code reads only the top-level setting.
  .transform(({ jobs: { public_base_url: deprecated, ...jobs }, ...config }) => ({
    ...config,
    public_base_url: config.public_base_url ?? deprecated,
    jobs,
  }));

export const configSchema = z.preprocess(withProviderDefaults, configObjectSchema);

export type ImagenConfig = z.infer<typeof configSchema>;
