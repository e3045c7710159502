/**
 * Settings shared by every instance of one provider family, written once:
 *
 *   [vars.IMAGEN_CONFIG.providers.together]
 *   base_url = "http://127.0.0.1:9020/v1"
 *
 * points every `type = "together"` instance at a proxy or a local fake. An instance's own
 * `base_url` still wins. Applied to the raw config before the instances are validated, so each
 * instance schema keeps its own default for the provider's public API.
 */
import { z } from "zod";

/** Backend types whose instances take a `base_url` that can be set per family. */
const providerFamilies = ["replicate", "together", "openai"] as const;

const providerSettingsSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }).optional(),
});

export const providersSchema = z.partialRecord(z.enum(providerFamilies), providerSettingsSchema).default({});

/** The raw config with each family's `base_url` copied into its instances that set none. */
export function withProviderDefaults(raw: unknown): unknown {
  if (!isRecord(raw) || !isRecord(raw.providers) || !isRecord(raw.backends)) return raw;
  const providers = raw.providers;
  const backends = Object.fromEntries(
    Object.entries(raw.backends).map(([name, instance]) => {
      if (!isRecord(instance) || typeof instance.type !== "string" || "base_url" in instance) return [name, instance];
      const family = providers[instance.type];
      const baseUrl = isRecord(family) ? family.base_url : undefined;
      return [name, baseUrl === undefined ? instance : { ...instance, base_url: baseUrl }];
    }),
  );
  return { ...raw, backends };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
