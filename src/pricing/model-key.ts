/**
 * How price lines are matched. Providers spell models inconsistently ("FLUX.1-schnell" in one
 * place, "flux.1-schnell" in another) and Replicate refs may carry a ":<version>" suffix, so every
 * comparison goes through one normalisation: lowercase, version stripped (the same key the rows
 * written before ImaGen Edge use). Stored rows use the normalised form too; matching still normalises both sides so a
 * row written by hand in another spelling is found.
 */
import type { PriceKey } from "./store";

/** "Owner/Name:hash" → "owner/name". */
export function normaliseModel(model: string): string {
  const colon = model.indexOf(":");
  return (colon >= 0 ? model.slice(0, colon) : model).trim().toLowerCase();
}

export function normaliseProvider(provider: string): string {
  return provider.trim().toLowerCase();
}

/** A stable map key for one price line (provider, model, unit, quality, size). */
export function priceKeyId(key: PriceKey): string {
  return [normaliseProvider(key.provider), normaliseModel(key.model), key.unit, key.quality?.toLowerCase() ?? "", key.size?.toLowerCase() ?? ""].join("|");
}

/** A stable map key for one model of one provider. */
export function modelId(provider: string, model: string): string {
  return `${normaliseProvider(provider)}|${normaliseModel(model)}`;
}

/** "1024x1536" for a width and height; the size dimension of OpenAI price lines. */
export function sizeLabel(width: number, height: number): string {
  return `${width}x${height}`;
}

/** USD rates carry up to six decimals (sub-cent per-megapixel prices); rounding kills float noise like 16.7 / 100. */
export function roundRate(rate: number): number {
  return Math.round(rate * 1e6) / 1e6;
}
