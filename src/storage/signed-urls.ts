/**
 * Signed image URLs: `<origin>/v1/images/<key>?exp=<unix seconds>&sig=<base64url HMAC-SHA256>`.
 * Whoever received an answer (an SDK, a browser's `<img>`) can fetch its images without an
 * Authorization header until `exp`, like OpenAI's and Replicate's delivery URLs. The API key never
 * goes into a URL; the owner's (or an admin's) bearer access works as before.
 *
 * The signature covers a versioned message of expiry and key, so neither can be swapped, and is
 * checked with WebCrypto's `verify` (constant time). The secret comes from the env var config
 * names (`[image_urls] secret_env`, default IMAGEN_URL_SECRET); without it, answers carry plain
 * URLs that need the API key, and /healthz reports why.
 */
import { imageUrl } from "../routes";
import { z } from "zod";
import { envVarName } from "../backends/instance-base";
import { toBase64url } from "../lib/base64";
import type { Clock } from "../lib/clock";

const DEFAULT_URL_SECRET_ENV = "IMAGEN_URL_SECRET";
const DEFAULT_URL_TTL_S = 3600;
/** 32 characters of randomness or more: an HMAC-SHA256 key should not be guessable offline. */
const MIN_SECRET_CHARS = 32;

export const imageUrlsConfigSchema = z.strictObject({
  /** The env var holding the signing secret (`wrangler secret put IMAGEN_URL_SECRET`). */
  secret_env: envVarName.default(DEFAULT_URL_SECRET_ENV),
  /** How long a handed-out URL stays valid. */
  ttl_s: z
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(DEFAULT_URL_TTL_S),
});

export type ImageUrlsConfig = z.infer<typeof imageUrlsConfigSchema>;

/** What signing needs: the imported key, the lifetime of a URL and the time. */
export interface UrlSigner {
  readonly key: CryptoKey;
  readonly ttlSeconds: number;
  readonly clock: Clock;
}

/** The URL an answer carries for a stored object. */
export type ImageUrlFor = (key: string) => Promise<string>;

export type SignatureCheck = "valid" | "expired" | "forged";

/**
 * The one function behind every image URL the API hands out (the 201 body, job results, the
 * OpenAI-compatible `url`): signed when a signer is configured, plain otherwise.
 */
export function imageUrlFor(origin: string, signer: UrlSigner | null): ImageUrlFor {
  return async (key) => {
    const url = new URL(imageUrl(origin, key));
    if (signer) {
      const exp = Math.floor(signer.clock.now() / 1000) + signer.ttlSeconds;
      url.searchParams.set("exp", String(exp));
      url.searchParams.set("sig", await signImageKey(signer.key, key, exp));
    }
    return url.toString();
  };
}

/** `imageUrlFor` with this deployment's signer (plain URLs when it has none). */
export async function imageUrlsFromEnv(env: Readonly<Record<string, unknown>>, config: ImageUrlsConfig, origin: string, clock: Clock): Promise<ImageUrlFor> {
  const signing = await urlSignerFromEnv(env, config, clock);
  return imageUrlFor(origin, "signer" in signing ? signing.signer : null);
}

/** base64url(HMAC-SHA256(secret, message(key, exp))). */
export async function signImageKey(signingKey: CryptoKey, key: string, exp: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", signingKey, message(key, exp));
  return toBase64url(new Uint8Array(mac));
}

/** Checks `exp` and `sig` as they came in the query string. */
export async function verifyImageSignature(
  signingKey: CryptoKey,
  key: string,
  query: { readonly exp?: string | undefined; readonly sig?: string | undefined },
  clock: Clock,
): Promise<SignatureCheck> {
  if (!query.exp || !/^\d{1,12}$/.test(query.exp) || !query.sig) return "forged";
  const mac = fromBase64url(query.sig);
  if (!mac) return "forged";
  const exp = Number(query.exp);
  if (!(await crypto.subtle.verify("HMAC", signingKey, mac, message(key, exp)))) return "forged";
  return exp * 1000 <= clock.now() ? "expired" : "valid";
}

const importedKeys = new Map<string, Promise<CryptoKey>>();

/**
 * The signer for this deployment, or why there is none (secret missing or too short). Imported
 * keys are cached per isolate.
 */
export async function urlSignerFromEnv(
  env: Readonly<Record<string, unknown>>,
  config: ImageUrlsConfig,
  clock: Clock,
): Promise<{ readonly signer: UrlSigner } | { readonly problem: string }> {
  const problem = urlSecretProblem(env, config);
  if (problem) return { problem };
  const secret = env[config.secret_env] as string;
  let key = importedKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    importedKeys.set(secret, key);
  }
  return { signer: { key: await key, ttlSeconds: config.ttl_s, clock } };
}

/** Why image URLs cannot be signed, or null when they can. */
export function urlSecretProblem(env: Readonly<Record<string, unknown>>, config: ImageUrlsConfig): string | null {
  const secret = env[config.secret_env];
  if (typeof secret !== "string" || secret.trim() === "") {
    return `${config.secret_env} is not set; image URLs in answers are unsigned and need the API key (set it to ${MIN_SECRET_CHARS}+ random characters)`;
  }
  if (secret.length < MIN_SECRET_CHARS) return `${config.secret_env} is shorter than ${MIN_SECRET_CHARS} characters; image URLs stay unsigned`;
  return null;
}

/** Versioned, unambiguous: `exp` is digits only, so the first newline ends it. */
function message(key: string, exp: number): BufferSource {
  return new TextEncoder().encode(`imagen-image-url.v1\n${exp}\n${key}`);
}

function fromBase64url(text: string): BufferSource | null {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
