/**
 * Turning a finished prediction into images. Replicate deletes outputs an hour after a
 * prediction, so they are fetched as soon as it finishes; only URLs on the configured delivery
 * hosts are fetched (anything else is refused unread), and `data:` URIs are accepted because
 * sync mode has returned them before. A download of known length is streamed to the caller;
 * one of unknown length is buffered (R2 needs the length up front).
 */
import type { Clock } from "../../lib/clock";
import { sniffImage, sniffMimeType } from "../image-size";
import { isLoopbackHost } from "../../net/address-rules";
import type { BackendResult, GeneratedImage, ImageMimeType } from "../backend";
import { BackendError } from "../errors";
import { fetchWithRetry } from "../http-retry";
import { describe, type Prediction } from "./api";
import { expectedSize } from "./flux-inputs";

export const DEFAULT_DELIVERY_HOSTS = ["replicate.delivery", "*.replicate.delivery"] as const;

/** Larger answers are refused: no FLUX image comes near it. */
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
/** How far into a download we look for the image header before giving up on it. */
const HEADER_PROBE_BYTES = 64 * 1024;

export interface CollectOptions {
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /** Hostnames outputs may come from; `*.example.com` matches its subdomains. */
  readonly deliveryHosts: readonly string[];
  /**
   * The model we asked for (`owner/name`), reported instead of the prediction's own `model`: a
   * create by version id may come back naming no model, or one we did not ask for.
   */
  readonly model?: string;
  /**
   * Clock time (ms) until which a failing download is tried again (with backoff): the outputs
   * are paid for, so they are fetched for as long as it makes sense. Default: one more try.
   */
  readonly retryUntil?: number;
}

/** Replicate deletes an API prediction's outputs this long after it completed. */
const OUTPUT_LIFETIME_MS = 60 * 60 * 1000;
/** The longest wait between two download tries. */
const MAX_DOWNLOAD_BACKOFF_MS = 30_000;

/** When the outputs of `prediction` stop being fetchable: `completed_at` + 1 h (now + 1 h when not yet written). */
export function outputsExpireAt(prediction: Prediction, now: number): number {
  const completed = prediction.completed_at ? Date.parse(prediction.completed_at) : Number.NaN;
  return (Number.isNaN(completed) ? now : completed) + OUTPUT_LIFETIME_MS;
}

/**
 * Downloads every output of a succeeded prediction (all at once) and describes the result:
 * model, version, seed used, predict time, prediction id.
 */
export async function collectOutputs(prediction: Prediction, options: CollectOptions): Promise<BackendResult> {
  const id = prediction.id;
  const urls = outputUrls(prediction);
  // Check every URL before fetching any, so a bad one costs no downloads.
  for (const url of urls) {
    if (!url.startsWith("data:") && !isDeliveryUrl(url, options.deliveryHosts)) {
      throw new BackendError("failed", `Replicate prediction ${id} returned an output on ${hostOf(url)}, which is not a delivery host; refused`, {
        externalId: id,
      });
    }
  }

  const downloads = urls.map((url, index) => downloadOutput(url, index, prediction, options));
  const settled = await Promise.allSettled(downloads);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    // Release the streams we will not hand out.
    for (const s of settled) if (s.status === "fulfilled" && "stream" in s.value) await s.value.stream.cancel().catch(() => {});
    throw failure.reason;
  }
  const images = settled.map((s) => (s as PromiseFulfilledResult<GeneratedImage>).value);

  const version = prediction.version && prediction.version !== "hidden" ? prediction.version : undefined;
  return {
    images,
    model: options.model ?? prediction.model ?? "unknown",
    ...(version ? { modelVersion: version } : {}),
    seed: seedUsed(prediction),
    ...(prediction.metrics?.predict_time !== undefined ? { predictTimeSeconds: prediction.metrics.predict_time } : {}),
    ...(prediction.metrics?.image_count !== undefined ? { providerImageCount: prediction.metrics.image_count } : {}),
    externalId: id,
  };
}

/** The output URLs in order; FLUX pro models return one string, schnell/dev an array. */
function outputUrls(prediction: Prediction): string[] {
  const { output } = prediction;
  if (prediction.data_removed || output === null || output === undefined || output.length === 0) {
    throw new BackendError(
      "failed",
      `Replicate prediction ${prediction.id} has no outputs left${prediction.data_removed ? " (data_removed: Replicate deletes them after one hour)" : ""}`,
      { externalId: prediction.id },
    );
  }
  return typeof output === "string" ? [output] : output;
}

/**
 * The seed the model used: FLUX prints `Using seed: N` (authoritative: it replaces a seed of 0
 * with a random one), else the seed we sent, else 0 when neither is known.
 */
export function seedUsed(prediction: Prediction): number {
  const logged = [...(prediction.logs ?? "").matchAll(/Using seed: (\d+)/g)].at(-1)?.[1];
  if (logged !== undefined) return Number(logged);
  return typeof prediction.input.seed === "number" ? prediction.input.seed : 0;
}

export function isDeliveryUrl(url: string, hosts: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.toLowerCase();
  // Plain http only for loopback hosts, which exist for local fakes.
  const loopback = isLoopbackHost(host);
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) return false;
  return hosts.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith("*.") ? host.endsWith(p.slice(1)) : host === p;
  });
}

async function downloadOutput(url: string, index: number, prediction: Prediction, options: CollectOptions): Promise<GeneratedImage> {
  const what = `output ${index} of Replicate prediction ${prediction.id}`;
  if (url.startsWith("data:")) return describeBytes(decodeDataUri(url, what, prediction.id), what, prediction);

  let response: Response;
  try {
    // A transient failure (network error, 5xx) is tried again with backoff until retryUntil;
    // without one, once, as for the API calls.
    const bounded = options.retryUntil !== undefined;
    response = await fetchWithRetry(() => options.fetch(url, { signal: options.signal }), {
      clock: options.clock,
      signal: options.signal,
      transientRetries: bounded ? Number.MAX_SAFE_INTEGER : 1,
      rateLimitRetries: bounded ? Number.MAX_SAFE_INTEGER : 1,
      baseDelayMs: 250,
      maxDelayMs: MAX_DOWNLOAD_BACKOFF_MS,
      ...(bounded && { deadline: options.retryUntil }),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new BackendError("unavailable", `could not download ${what}: ${describe(error)}`, {
      externalId: prediction.id,
      cause: error,
    });
  }
  if (response.status === 404 || response.status === 410 || response.status === 403) {
    await response.body?.cancel();
    throw new BackendError("failed", `${what} is gone (HTTP ${response.status}); Replicate deletes outputs one hour after a prediction`, {
      externalId: prediction.id,
    });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new BackendError("unavailable", `could not download ${what}: HTTP ${response.status}`, {
      externalId: prediction.id,
    });
  }

  // A compressed transfer's Content-Length is not the image's length.
  const encoding = response.headers.get("content-encoding");
  const declared = encoding && encoding !== "identity" ? null : parseLength(response.headers.get("content-length"));
  if (declared !== null && declared > MAX_IMAGE_BYTES) {
    await response.body.cancel();
    throw new BackendError("failed", `${what} is ${declared} bytes, over the ${MAX_IMAGE_BYTES} byte limit`, {
      externalId: prediction.id,
    });
  }

  const reader = response.body.getReader();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let done = false;
  // Read until the header tells the size (or the whole file is in, or we have looked far enough).
  while (headLength < (declared === null ? MAX_IMAGE_BYTES + 1 : HEADER_PROBE_BYTES)) {
    const chunk = await reader.read();
    if (chunk.done) {
      done = true;
      break;
    }
    head.push(chunk.value);
    headLength += chunk.value.length;
    if (declared !== null && sniffImage(concat(head, headLength))) break;
  }
  const headBytes = concat(head, headLength);
  if (done || declared === null) {
    if (!done) {
      await reader.cancel();
      throw new BackendError("failed", `${what} is over the ${MAX_IMAGE_BYTES} byte limit`, { externalId: prediction.id });
    }
    return describeBytes(headBytes, what, prediction);
  }

  let header: ReturnType<typeof describeHeader>;
  try {
    header = describeHeader(headBytes, what, prediction);
  } catch (error) {
    await reader.cancel();
    throw error;
  }
  const { mimeType, width, height } = header;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(headBytes);
    },
    async pull(controller) {
      const chunk = await reader.read();
      if (chunk.done) controller.close();
      else controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { mimeType, width, height, stream, byteLength: declared };
}

function describeBytes(bytes: Uint8Array, what: string, prediction: Prediction): GeneratedImage {
  return { ...describeHeader(bytes, what, prediction), bytes };
}

/** Type and size from the image header; the size the input implies when the header hides it. */
function describeHeader(bytes: Uint8Array, what: string, prediction: Prediction): { mimeType: ImageMimeType; width: number; height: number } {
  const sniffed = sniffImage(bytes);
  if (sniffed) return sniffed;
  const mimeType = sniffMimeType(bytes);
  const size = expectedSize(prediction.input);
  if (mimeType && size) return { mimeType, ...size };
  throw new BackendError("failed", `${what} is not a PNG, JPEG or WebP image`, { externalId: prediction.id });
}

function decodeDataUri(uri: string, what: string, externalId: string): Uint8Array {
  const match = /^data:[^,]*;base64,(.*)$/s.exec(uri);
  if (!match) throw new BackendError("failed", `${what} is a data: URI that is not base64`, { externalId });
  if (match[1]!.length * 0.75 > MAX_IMAGE_BYTES) {
    throw new BackendError("failed", `${what} is over the ${MAX_IMAGE_BYTES} byte limit`, { externalId });
  }
  try {
    const binary = atob(match[1]!);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch (error) {
    throw new BackendError("failed", `${what} is a data: URI with broken base64`, { externalId, cause: error });
  }
}

function parseLength(header: string | null): number | null {
  return header !== null && /^\d+$/.test(header.trim()) ? Number(header.trim()) : null;
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || url.slice(0, 40);
  } catch {
    return `"${url.slice(0, 40)}"`;
  }
}
