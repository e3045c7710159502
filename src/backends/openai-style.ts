/**
 * The wire conventions Together and OpenAI share: a bearer key, JSON bodies, images as base64 in
 * `data[].b64_json`, errors as `{"error": {message, type, param, code}}`, and `GET /models` as the
 * cheapest authenticated call. One `createImages` does auth, the retry policy of a paid create and
 * error mapping; the provider modules only map requests and responses.
 */
import { z } from "zod";
import type { Clock } from "../lib/clock";
import { sniffImage } from "./image-size";
import { type BackendRuntime, type BackendStatus, type GeneratedImage, readSecret } from "./backend";
import { BackendError } from "./errors";
import { fetchWithRetry, rateLimitText, retryAfterMs } from "./http-retry";
import { envVarName } from "./instance-base";
import { cachedStatus, DEFAULT_STATUS_TTL_S, probeWithKey } from "./probe-cache";

/** Config fields of every instance of an OpenAI-style provider. */
export function openAiStyleFields(defaults: { readonly keyEnv: string; readonly baseUrl: string; readonly timeoutS: number }) {
  return {
    /** The env var holding the API key (the key itself never goes in config). */
    api_key_env: envVarName.default(defaults.keyEnv),
    /** The API root including its version path; a proxy or a local fake goes here. */
    base_url: z.url({ protocol: /^https?$/ }).default(defaults.baseUrl),
    /** The whole create call, rate-limit waits included. */
    timeout_s: z.number().min(1).max(600).default(defaults.timeoutS),
    /** How long a healthy status probe is reused. */
    status_ttl_s: z.int().min(0).max(3600).default(DEFAULT_STATUS_TTL_S),
  };
}

interface OpenAiStyleConfig {
  readonly api_key_env: string;
  readonly base_url: string;
  readonly status_ttl_s: number;
}

/** The API handle and the status of one instance, from its config and the Worker's env. */
export function openAiStyleAccess(label: string, config: OpenAiStyleConfig, runtime: BackendRuntime) {
  const api = (): ProviderApi | null => {
    const key = readSecret(runtime.env, config.api_key_env);
    if (!key) return null;
    return { label, baseUrl: config.base_url.replace(/\/+$/, ""), key, keyEnv: config.api_key_env, fetch: runtime.fetch };
  };
  return {
    /** The API handle; throws `not_configured` naming the env var when the key is not set. */
    require(): ProviderApi {
      const handle = api();
      if (!handle) throw new BackendError("not_configured", `${label} API key missing; set ${config.api_key_env}`);
      return handle;
    },
    async status(): Promise<BackendStatus> {
      const handle = api();
      if (!handle) return { state: "not_configured", missingEnv: [config.api_key_env] };
      const key = `${label}\u0000${handle.baseUrl}\u0000${handle.key}`;
      // GET /models: free, authenticated, and answered by every OpenAI-style API.
      return cachedStatus(key, { clock: runtime.clock, ttlMs: config.status_ttl_s * 1000 }, () =>
        probeWithKey({ label, url: `${handle.baseUrl}/models`, key: handle.key, keyEnv: handle.keyEnv, fetch: runtime.fetch }, runtime.clock),
      );
    },
  };
}

/** Where and as whom to call one provider. */
export interface ProviderApi {
  /** The provider's name in messages, e.g. `Together`. */
  readonly label: string;
  /** e.g. `https://api.together.ai/v1` (no trailing slash). */
  readonly baseUrl: string;
  readonly key: string;
  /** The env var the key came from, named when the provider refuses it. */
  readonly keyEnv: string;
  readonly fetch: typeof fetch;
}

export interface CreateOptions {
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** The whole call, 429 waits included, in ms. */
  readonly timeoutMs: number;
}

/** `{"error": {...}}`, as OpenAI and Together answer every failure. */
const errorBodySchema = z.object({
  error: z.looseObject({
    message: z.string().optional(),
    type: z.string().nullish(),
    param: z.string().nullish(),
    code: z.string().nullish(),
  }),
});

/**
 * POST {baseUrl}{path} once, `body` as JSON (or as it is, when it is FormData). A 429 is waited out (Retry-After honoured) and sent again; a 5xx or a
 * lost connection is not, because the provider may already be making (and billing) the images.
 */
export async function createImages(api: ProviderApi, path: string, body: unknown, options: CreateOptions): Promise<unknown> {
  const { clock } = options;
  const started = clock.now();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  let response: Response;
  let rateLimitRetries = 0;
  try {
    response = await fetchWithRetry(
      () =>
        api.fetch(`${api.baseUrl}${path}`, {
          method: "POST",
          // A multipart body (OpenAI's edits) sets its own Content-Type, boundary included.
          headers:
            body instanceof FormData ? { Authorization: `Bearer ${api.key}` } : { Authorization: `Bearer ${api.key}`, "Content-Type": "application/json" },
          body: body instanceof FormData ? body : JSON.stringify(body),
          signal,
        }),
      {
        clock,
        signal,
        deadline: started + options.timeoutMs,
        repeatable: false,
        onRetry: (retry) => {
          if (retry.reason === "rate_limited") rateLimitRetries++;
        },
      },
    );
  } catch (error) {
    if (options.signal.aborted) throw error;
    if (timeout.aborted) {
      throw new BackendError("timeout", `${api.label} did not answer within ${options.timeoutMs} ms; not re-sent, it may still be billed`, {
        ambiguous: true,
        cause: error,
      });
    }
    throw new BackendError(
      "unavailable",
      `${api.label} connection failed during POST ${path} (${messageOf(error)}); not re-sent, since the images may have been made and billed`,
      { ambiguous: true, cause: error },
    );
  }
  if (!response.ok) {
    const waitMs = response.status === 429 ? await retryAfterMs(response, clock.now()) : null;
    const body = parseJson(await response.text().catch(() => ""));
    throw providerError(api, response.status, body, { call: `POST ${path}`, waitMs, rateLimitRetries });
  }
  const text = await response.text().catch(() => "");
  const json = parseJson(text);
  if (json === undefined) throw new BackendError("unavailable", `${api.label} answered ${response.status} with a body that is not JSON`, { ambiguous: true });
  return json;
}

/**
 * One failed answer as a BackendError, from its status and `{"error": …}` body. Never echoes the
 * provider's 401 message: it may quote part of the key.
 */
export function providerError(
  api: Pick<ProviderApi, "label" | "keyEnv">,
  status: number,
  body: unknown,
  context: { readonly call: string; readonly waitMs?: number | null; readonly rateLimitRetries?: number },
): BackendError {
  const parsed = errorBodySchema.safeParse(body);
  const error = parsed.success ? parsed.data.error : {};
  const said = error.message?.trim() ?? "";
  const because = said ? `: ${said}` : "";
  const code = error.code ?? error.type ?? "";
  if (status === 401) return new BackendError("auth", `${api.label} API key missing or invalid; set ${api.keyEnv}`);
  if (status === 403) return new BackendError("auth", `${api.label} refused the key in ${api.keyEnv} for this request${because}`);
  if (status === 402 || code === "insufficient_quota" || code === "billing_hard_limit_reached") {
    return new BackendError("insufficient_credit", `${api.label} account is out of credit or quota${because}`);
  }
  if (status === 429) {
    const waitMs = context.waitMs ?? null;
    return new BackendError("rate_limited", `${rateLimitText(api.label, context.rateLimitRetries ?? 0, waitMs)}${because}`, {
      ...(waitMs !== null && { retryAfterMs: waitMs }),
    });
  }
  if (status >= 500) {
    return new BackendError(
      "unavailable",
      `${api.label} answered ${status} to ${context.call}${because}; not re-sent, since the images may have been made and billed`,
      { ambiguous: true, httpStatus: status },
    );
  }
  return new BackendError("invalid_request", `${api.label} rejected the request (${status})${because}`, {
    invalidFields: error.param ? [{ field: error.param, message: said }] : [],
  });
}

/** `data[].b64_json`, as both providers answer it. */
export const b64ImageSchema = z.looseObject({ b64_json: z.string().min(1) });

/**
 * A base64 image as a GeneratedImage, its type and size read from its own bytes: cost is by the
 * pixels actually produced, whatever was asked for.
 */
export function decodeB64Image(label: string, b64: string): GeneratedImage {
  let bytes: Uint8Array;
  try {
    const binary = atob(b64);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  } catch (error) {
    throw new BackendError("failed", `${label} returned an image that is not valid base64`, { cause: error });
  }
  const sniffed = sniffImage(bytes);
  if (!sniffed) throw new BackendError("failed", `${label} returned ${bytes.length} bytes that are not a PNG, JPEG or WebP image`);
  return { ...sniffed, bytes };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
