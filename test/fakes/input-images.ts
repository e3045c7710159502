/**
 * How the fakes take an input image they are given by reference (Replicate's `input_image`,
 * Together's `image_url`): a `data:` URI is decoded, an http(s) URL is fetched — but only from a
 * loopback host, so no test ever reaches past this machine. What the fake got is kept as a record
 * (sha-256, bytes, type, size) that tests read back to prove the provider saw the caller's image.
 */
import { createHash } from "node:crypto";
import { sniffImage } from "../../src/backends/image-size";

/** What a fake took from one input reference; JSON, so tests read it over HTTP. */
export interface InputImageRecord {
  readonly field: string;
  readonly source: "url" | "data_uri";
  /** The URL as given (a data URI is not repeated). */
  readonly url?: string;
  /** The HTTP status of the fetch. */
  readonly status?: number;
  readonly content_type?: string | null;
  readonly sha256?: string;
  readonly byte_length?: number;
  readonly width?: number;
  readonly height?: number;
  /** Why the image could not be taken (then nothing else is set but field, source and url). */
  readonly error?: string;
}

export interface TakenInput {
  readonly record: InputImageRecord;
  /** The bytes and pixel size, when the image was taken. */
  readonly image?: { readonly bytes: Buffer; readonly width: number; readonly height: number };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const FETCH_TIMEOUT_MS = 30_000;

export async function takeInputImage(field: string, reference: string): Promise<TakenInput> {
  if (reference.startsWith("data:")) {
    const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(reference);
    if (!match?.[2]) return failed(field, "data_uri", undefined, "not a base64 data URI");
    return taken(field, "data_uri", undefined, undefined, match[1] ?? null, Buffer.from(match[3]!, "base64"));
  }
  let url: URL;
  try {
    url = new URL(reference);
  } catch {
    return failed(field, "url", reference, "not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return failed(field, "url", reference, `${url.protocol} URLs are not fetched`);
  // The fakes never leave this machine: a real provider would fetch any public host.
  if (!LOOPBACK.has(url.hostname)) return failed(field, "url", reference, `the fake fetches loopback hosts only, not ${url.hostname}`);
  let response: Response;
  try {
    response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    return failed(field, "url", reference, `fetch failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) return { record: { field, source: "url", url: reference, status: response.status, error: `HTTP ${response.status}` } };
  return taken(field, "url", reference, response.status, response.headers.get("content-type"), bytes);
}

function taken(
  field: string,
  source: InputImageRecord["source"],
  url: string | undefined,
  status: number | undefined,
  contentType: string | null,
  bytes: Buffer,
): TakenInput {
  const sniffed = sniffImage(bytes);
  const record: InputImageRecord = {
    field,
    source,
    ...(url !== undefined && { url }),
    ...(status !== undefined && { status }),
    content_type: contentType,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    byte_length: bytes.length,
    ...(sniffed && { width: sniffed.width, height: sniffed.height }),
  };
  if (!sniffed) return { record: { ...record, error: "not a PNG, JPEG or WebP image" } };
  return { record, image: { bytes, width: sniffed.width, height: sniffed.height } };
}

function failed(field: string, source: InputImageRecord["source"], url: string | undefined, error: string): TakenInput {
  return { record: { field, source, ...(url !== undefined && { url }), error } };
}
