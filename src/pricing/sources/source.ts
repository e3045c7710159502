/**
 * What a price source is: something that fetches a provider's published prices and turns them
 * into candidate price lines in USD, with the unit conversion made explicit. Sources never decide
 * whether a candidate is applied: refresh.ts compares, checks plausibility and drift, and decides.
 */
import type { PriceKey } from "../store";

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** One price as a source read it, already converted to USD per `unit`. */
export interface CandidatePrice extends PriceKey {
  readonly usd_rate: number;
  /** What the source published before conversion, e.g. "16.7 cents per image", for reports. */
  readonly published: string;
}

/** An entry the source could not use (malformed, unknown currency...), reported, never guessed. */
export interface RejectedEntry {
  readonly model: string;
  readonly reason: string;
}

export interface SourceResult {
  readonly candidates: readonly CandidatePrice[];
  readonly rejected: readonly RejectedEntry[];
}

export interface SourceContext {
  readonly signal?: AbortSignal;
  /**
   * Models this deployment already prices or wants priced, provider → normalised models. A
   * source that must fetch per model (Replicate pages) uses it; a whole-file source ignores it.
   */
  readonly models: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface PriceSource {
  /** Stable id, also written to the price row's `source`, e.g. "portkey:openai". */
  readonly id: string;
  /** The provider keys this source prices (EstimateInput.provider values). */
  readonly providers: readonly string[];
  /** Throws PriceSourceError when nothing usable came back; the refresh keeps the last prices. */
  fetchPrices(ctx: SourceContext): Promise<SourceResult>;
}

/** A whole-source failure: network error, HTTP status, unparseable body. */
export class PriceSourceError extends Error {
  override readonly name = "PriceSourceError";
  constructor(
    readonly sourceId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${sourceId}: ${message}`, options);
  }
}

/** Reads a response body as text with a byte cap, so a hostile or broken source cannot exhaust memory. */
export async function readCappedText(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new RangeError(`body of ${declared} bytes exceeds the ${maxBytes}-byte limit`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new RangeError(`body exceeds the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
