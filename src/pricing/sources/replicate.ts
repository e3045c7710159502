/**
 * Replicate has no pricing API (replicate-javascript #360, #369: "on the roadmap"). Model pages
 * embed an undocumented billing object in a `<script type="application/json">` block, shaped
 * (as far as public scrapers describe it; unconfirmed by Replicate) like
 * `billingConfig: { current_tiers: [{ prices: [{ metric: "image_output_count",
 * title: "per output image", price: "$0.003" }] }] }`.
 *
 * This source reads that object for each Replicate model we price, best effort. Anything it does
 * not recognise exactly — no billing object, another metric, price wording it cannot convert,
 * several different per-image prices — is a rejected entry with the reason, never a guess. When
 * no page yields a price the whole source fails and the refresh keeps the last known prices.
 */
import { z } from "zod";
import { roundRate } from "../model-key";
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

export const REPLICATE_WEB_URL = "https://replicate.com";
const REPLICATE_SOURCE_ID = "replicate";

const MAX_PAGE_BYTES = 4_000_000;
const JSON_SCRIPT = /<script\b[^>]*\btype\s*=\s*["']application\/json["'][^>]*>([\s\S]*?)<\/script>/gi;
const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/i;

const billingConfig = z.object({
  current_tiers: z
    .array(
      z.object({
        prices: z.array(
          z.object({
            metric: z.string(),
            price: z.string(),
            title: z.string().optional(),
            metric_display: z.string().optional(),
          }),
        ),
      }),
    )
    .min(1),
});
type BillingConfig = z.infer<typeof billingConfig>;

export interface ReplicateSourceOptions {
  readonly fetch: FetchLike;
  readonly baseUrl?: string;
}

export function replicatePageSource(options: ReplicateSourceOptions): PriceSource {
  const base = (options.baseUrl ?? REPLICATE_WEB_URL).replace(/\/+$/, "");
  return {
    id: REPLICATE_SOURCE_ID,
    providers: ["replicate"],
    async fetchPrices(ctx: SourceContext): Promise<SourceResult> {
      const models = [...(ctx.models.get("replicate") ?? [])].sort();
      const candidates: CandidatePrice[] = [];
      const rejected: RejectedEntry[] = [];
      for (const model of models) {
        const outcome = await priceFromPage(base, model, options.fetch, ctx.signal);
        if ("reason" in outcome) rejected.push({ model, reason: outcome.reason });
        else candidates.push(outcome);
      }
      if (models.length > 0 && candidates.length === 0) {
        throw new PriceSourceError(REPLICATE_SOURCE_ID, `no model page yielded a price (${rejected.map((r) => `${r.model}: ${r.reason}`).join("; ")})`);
      }
      return { candidates, rejected };
    },
  };
}

async function priceFromPage(base: string, model: string, fetchFn: FetchLike, signal: AbortSignal | undefined): Promise<CandidatePrice | { reason: string }> {
  const [owner, name, ...rest] = model.split("/");
  if (!owner || !name || rest.length > 0 || !SEGMENT.test(owner) || !SEGMENT.test(name)) {
    return { reason: "not an owner/name model reference" };
  }
  const url = `${base}/${owner}/${name}`;
  let html: string;
  try {
    const response = await fetchFn(url, { headers: { accept: "text/html" }, signal });
    if (!response.ok) {
      await response.body?.cancel();
      return { reason: `HTTP ${response.status} from ${url}` };
    }
    html = await readCappedText(response, MAX_PAGE_BYTES);
  } catch (error) {
    return { reason: `fetch failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  const billing = findBillingConfig(html);
  if (!billing) return { reason: "no billing object found on the model page" };
  return perImagePrice(model, billing);
}

/** Pure: HTML → the first embedded billing object that validates, or null. Exported for tests. */
export function findBillingConfig(html: string): BillingConfig | null {
  for (const match of html.matchAll(JSON_SCRIPT)) {
    let json: unknown;
    try {
      json = JSON.parse(match[1] ?? "");
    } catch {
      continue; // Other JSON islands on the page may be anything; only a valid billing object counts.
    }
    const found = searchKey(json, "billingConfig", 8);
    if (found === undefined) continue;
    const parsed = billingConfig.safeParse(found);
    if (parsed.success) return parsed.data;
  }
  return null;
}

function searchKey(value: unknown, key: string, depth: number): unknown {
  if (depth < 0 || value === null || typeof value !== "object") return undefined;
  if (!Array.isArray(value) && key in value) return (value as Record<string, unknown>)[key];
  for (const child of Object.values(value)) {
    const found = searchKey(child, key, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Converts the billing object's per-output-image price to USD per image, or says why it cannot. */
function perImagePrice(model: string, billing: BillingConfig): CandidatePrice | { reason: string } {
  const prices = billing.current_tiers.flatMap((t) => t.prices).filter((p) => p.metric === "image_output_count");
  if (prices.length === 0) {
    const metrics = [...new Set(billing.current_tiers.flatMap((t) => t.prices.map((p) => p.metric)))];
    return { reason: `no per-output-image price (metrics: ${metrics.join(", ") || "none"})` };
  }
  const rates = new Set<number>();
  let published = "";
  for (const p of prices) {
    const amount = /^\s*\$\s*(\d+(?:\.\d+)?)\s*$/.exec(p.price);
    if (!amount) return { reason: `price "${p.price}" is not a plain dollar amount` };
    const wording = `${p.title ?? ""} ${p.metric_display ?? ""}`.toLowerCase();
    let perImages: number;
    if (/\bper thousand output images?\b/.test(wording)) perImages = 1000;
    else if (/\bper output image\b/.test(wording)) perImages = 1;
    else return { reason: `cannot tell the unit of "${p.title ?? p.metric_display ?? p.metric}"` };
    rates.add(roundRate(Number(amount[1]) / perImages));
    published = `${p.price} ${p.title ?? "per output image"}`;
  }
  if (rates.size > 1) return { reason: `several different per-image prices (${[...rates].join(", ")})` };
  const [rate] = rates;
  if (rate === undefined) return { reason: "no per-output-image price" };
  return {
    provider: "replicate",
    model,
    unit: "image",
    quality: null,
    size: null,
    usd_rate: rate,
    published,
  };
}
