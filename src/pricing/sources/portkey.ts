/**
 * Portkey's open pricing database, one JSON file per provider:
 * `https://configs.portkey.ai/pricing/{provider}.json` (no auth, MIT licence).
 *
 * Shape (per model): `{ pricing_config: { pay_as_you_go: { image?: {<quality>: {<size>: {price}}},
 * additional_units?: { megapixels?: {price}, ... } }, currency?: "USD" } }`, with "default" used
 * as a quality and size wildcard. Token prices are ignored: we only price images.
 *
 * Units are the trap. Portkey's README says prices are in cents, and OpenAI's image entries are
 * (gpt-image-1.5 high 1024x1024 = 13.3 → $0.133), but Together's entries are evidently dollars
 * (FLUX.1-schnell megapixels 0.0027 = Together's $0.0027/MP; FLUX.1.1-pro image 0.04 = $0.04).
 * So the unit of every kind of entry is written down per provider below instead of assumed, and
 * refresh.ts still checks each converted rate against a plausible band and against drift.
 */
import { z } from "zod";
import { normaliseModel, roundRate } from "../model-key";
import type { PriceUnit } from "../store";
import {
  type CandidatePrice,
  type FetchLike,
  type PriceSource,
  PriceSourceError,
  readCappedText,
  type RejectedEntry,
  type SourceContext,
  type SourceResult,
} from "./source";

export const PORTKEY_BASE_URL = "https://configs.portkey.ai/pricing";

type PublishedUnit = "cents" | "dollars";
const USD_PER: Record<PublishedUnit, number> = { cents: 0.01, dollars: 1 };

/** How one Portkey provider file is read. */
export interface PortkeyProfile {
  /** Portkey's file name without ".json". */
  readonly slug: string;
  /** Our provider key (EstimateInput.provider). */
  readonly provider: string;
  /** The unit Portkey publishes `image` prices in for this provider. */
  readonly image: PublishedUnit;
  /** The unit Portkey publishes `additional_units.megapixels` prices in for this provider. */
  readonly megapixel: PublishedUnit;
}

/** Verified against the fixture files (test/fixtures/pricing/portkey) on 2026-11-22. */
export const PORTKEY_PROFILES = {
  openai: { slug: "openai", provider: "openai", image: "cents", megapixel: "cents" },
  "together-ai": { slug: "together-ai", provider: "together", image: "dollars", megapixel: "dollars" },
} as const satisfies Record<string, PortkeyProfile>;

export type PortkeySlug = keyof typeof PORTKEY_PROFILES;

/** Portkey files are a few hundred kB; anything past this is not a price file. */
const MAX_BODY_BYTES = 8_000_000;

const priceLeaf = z.object({ price: z.number().finite().nonnegative() });
const imageTable = z.record(z.string(), z.record(z.string(), priceLeaf));
const modelEntry = z.object({
  pricing_config: z
    .object({
      pay_as_you_go: z
        .object({
          image: z.unknown().optional(),
          additional_units: z.object({ megapixels: z.unknown().optional() }).optional(),
        })
        .optional(),
      currency: z.string().optional(),
    })
    .optional(),
});
const priceFile = z.record(z.string(), z.unknown());

export interface PortkeySourceOptions {
  readonly fetch: FetchLike;
  readonly baseUrl?: string;
}

export function portkeySource(slug: PortkeySlug, options: PortkeySourceOptions): PriceSource {
  const profile: PortkeyProfile = PORTKEY_PROFILES[slug];
  const id = `portkey:${profile.slug}`;
  const url = `${(options.baseUrl ?? PORTKEY_BASE_URL).replace(/\/+$/, "")}/${profile.slug}.json`;
  return {
    id,
    providers: [profile.provider],
    async fetchPrices(ctx: SourceContext): Promise<SourceResult> {
      const text = await download(id, url, options.fetch, ctx.signal);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        // An error, login or landing page served with status 200 is the usual way a JSON URL goes wrong.
        const what = text.trimStart().startsWith("<") ? "an HTML page instead of JSON" : "malformed JSON";
        throw new PriceSourceError(id, what, { cause: error });
      }
      const file = priceFile.safeParse(json);
      if (!file.success) throw new PriceSourceError(id, "not a JSON object keyed by model");
      const result = parsePortkeyFile(profile, file.data);
      if (result.candidates.length === 0) {
        throw new PriceSourceError(id, "no image prices found in the file (format changed?)");
      }
      return result;
    },
  };
}

async function download(id: string, url: string, fetchFn: FetchLike, signal?: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetchFn(url, { headers: { accept: "application/json" }, signal });
  } catch (error) {
    throw new PriceSourceError(id, `fetch failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PriceSourceError(id, `HTTP ${response.status} from ${url}`);
  }
  try {
    return await readCappedText(response, MAX_BODY_BYTES);
  } catch (error) {
    throw new PriceSourceError(id, error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** Pure: one parsed Portkey file → candidate USD prices. Exported for tests. */
export function parsePortkeyFile(profile: PortkeyProfile, file: Record<string, unknown>): SourceResult {
  const candidates: CandidatePrice[] = [];
  const rejected: RejectedEntry[] = [];
  for (const [rawModel, rawEntry] of Object.entries(file)) {
    if (rawModel === "default") continue; // Portkey's fallback for unknown models, not a model.
    const entry = modelEntry.safeParse(rawEntry);
    if (!entry.success) continue; // Not shaped like a pricing entry at all: nothing image-related to lose.
    const config = entry.data.pricing_config;
    const payg = config?.pay_as_you_go;
    const hasImagePrices = payg?.image !== undefined || payg?.additional_units?.megapixels !== undefined;
    if (!hasImagePrices) continue; // Token-priced models.
    const model = normaliseModel(rawModel);
    if (config?.currency !== undefined && config.currency.toUpperCase() !== "USD") {
      rejected.push({ model, reason: `currency ${config.currency} is not USD` });
      continue;
    }
    if (payg?.image !== undefined) {
      const table = imageTable.safeParse(payg.image);
      if (table.success) candidates.push(...imageLines(profile, model, table.data, rejected));
      else rejected.push({ model, reason: `image price table malformed: ${table.error.issues[0]?.message ?? "?"}` });
    }
    if (payg?.additional_units?.megapixels !== undefined) {
      const leaf = priceLeaf.safeParse(payg.additional_units.megapixels);
      if (leaf.success) {
        candidates.push(candidate(profile.provider, model, "megapixel", null, null, leaf.data.price, profile.megapixel));
      } else {
        rejected.push({ model, reason: "megapixel price malformed" });
      }
    }
  }
  return { candidates, rejected };
}

/** The forms the price tables accept (the SQL checks the same): "1024x1536", "high". */
const SIZE = /^[1-9]\d{1,4}x[1-9]\d{1,4}$/;
const QUALITY = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/**
 * Flattens quality → size → price. "default" is Portkey's wildcard: it becomes a null dimension,
 * but only when there is nothing concrete beside it (a table of real qualities also carries a
 * "default" copy of one of them, which would otherwise become a duplicate line).
 */
function imageLines(
  profile: PortkeyProfile,
  model: string,
  table: Record<string, Record<string, { price: number }>>,
  rejected: RejectedEntry[],
): CandidatePrice[] {
  const lines: CandidatePrice[] = [];
  const qualities = concreteOrDefault(Object.keys(table));
  for (const quality of qualities) {
    const sizes = table[quality] ?? {};
    if (quality !== "default" && !QUALITY.test(quality.toLowerCase())) {
      rejected.push({ model, reason: `unrecognised quality "${quality}"` });
      continue;
    }
    for (const size of concreteOrDefault(Object.keys(sizes))) {
      const leaf = sizes[size];
      if (!leaf) continue;
      if (size !== "default" && !SIZE.test(size)) {
        rejected.push({ model, reason: `unrecognised size "${size}"` });
        continue;
      }
      lines.push(
        candidate(
          profile.provider,
          model,
          "image",
          quality === "default" ? null : quality.toLowerCase(),
          size === "default" ? null : size.toLowerCase(),
          leaf.price,
          profile.image,
        ),
      );
    }
  }
  return lines;
}

function concreteOrDefault(keys: readonly string[]): readonly string[] {
  const concrete = keys.filter((k) => k !== "default");
  return concrete.length > 0 ? concrete : keys;
}

function candidate(
  provider: string,
  model: string,
  unit: PriceUnit,
  quality: string | null,
  size: string | null,
  published: number,
  publishedUnit: PublishedUnit,
): CandidatePrice {
  const dims = [quality, size].filter((d) => d !== null).join(", ");
  return {
    provider,
    model,
    unit,
    quality,
    size,
    usd_rate: roundRate(published * USD_PER[publishedUnit]),
    published: `${published} ${publishedUnit} per ${unit}${dims ? ` (${dims})` : ""}`,
  };
}
