/**
 * The Supabase Data API client the ledger and the price store share: the PostgREST client of the
 * Supabase SDK (@supabase/postgrest-js, what supabase-js's `from`/`rpc` are made of) pointed at the
 * `mai` schema, and one way to turn a PostgREST error into an Error a person can act on. The
 * Worker calls nothing else of the SDK (it has no user session, no realtime, no storage), so it
 * bundles only this; the Edge Function builds the same client through supabase-js
 * (supabase/functions/pricing-refresh/mai-client.ts). Secrets: the key goes into headers only,
 * never into a message.
 *
 * @example
 *   const settings = supabaseSettingsFromEnv(env);           // null → use D1
 *   const client = createMaiClient(settings);
 */
import { PostgrestClient } from "@supabase/postgrest-js";

export const MAI_SCHEMA = "mai";
/** Abort a Data API request after this long unless the settings say otherwise. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export interface SupabaseSettings {
  /** Project URL, e.g. https://<ref>.supabase.co */
  readonly url: string;
  /** Secret key (sb_secret_…) or the legacy service_role JWT: the Worker writes as service_role. */
  readonly key: string;
  /** For tests (a fake PostgREST) and tracing; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Abort a Data API request after this long (ms). */
  readonly timeoutMs?: number;
}

/** Untyped rows (no generated Database type), as supabase-js's `createClient` without one gives. */
export type MaiClient = ReturnType<typeof createMaiClient>;

/** The project's Data API, with the headers supabase-js would send for a session-less client. */
export function createMaiClient(settings: SupabaseSettings) {
  return new PostgrestClient(new URL("rest/v1", withTrailingSlash(settings.url)).href, {
    schema: MAI_SCHEMA,
    headers: { apikey: settings.key, Authorization: `Bearer ${settings.key}` },
    timeout: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(settings.fetch && { fetch: settings.fetch }),
  });
}

function withTrailingSlash(url: string): string {
  if (!/^https?:\/\//i.test(url)) throw new Error("the Supabase project URL must start with http:// or https://");
  return url.endsWith("/") ? url : `${url}/`;
}

/** Which env vars hold the project URL and the key (config's ledger.supabase_url_env / _key_env). */
export interface SupabaseEnvNames {
  readonly url: string;
  readonly key: string;
}

const DEFAULT_SUPABASE_ENV: SupabaseEnvNames = { url: "SUPABASE_URL", key: "SUPABASE_SECRET_KEY" };

/**
 * The project URL plus the secret key (new keys) — with the default names, the legacy
 * SUPABASE_SERVICE_ROLE_KEY JWT is accepted too. Null when the URL is unset: the deployment uses
 * the embedded D1 ledger instead. A URL without a usable key is an error that names the variable.
 */
export function supabaseSettingsFromEnv(env: Readonly<Record<string, unknown>>, names: SupabaseEnvNames = DEFAULT_SUPABASE_ENV): SupabaseSettings | null {
  const url = text(env[names.url]);
  if (!url) return null;
  const legacy = names.key === DEFAULT_SUPABASE_ENV.key ? text(env.SUPABASE_SERVICE_ROLE_KEY) : undefined;
  const key = text(env[names.key]) ?? legacy;
  if (!key) {
    const also = names.key === DEFAULT_SUPABASE_ENV.key ? " (or SUPABASE_SERVICE_ROLE_KEY)" : "";
    throw new Error(`${names.url} is set but no key: set the secret ${names.key}${also}`);
  }
  if (key.startsWith("sb_publishable_")) {
    throw new Error(`${names.key} holds a publishable key; the ledger needs the secret key (sb_secret_…)`);
  }
  return { url, key };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The error shape supabase-js returns (PostgREST's JSON error, or a fetch failure with status 0). */
export interface DataApiError {
  readonly message: string;
  readonly code?: string | null;
  readonly details?: string | null;
  readonly hint?: string | null;
}

/** What to do about the errors an operator can fix; keyed by PostgREST / Postgres code. */
const ADVICE: Record<string, string> = {
  PGRST106: "expose the mai schema: Dashboard → Project Settings → Data API → Exposed schemas (docs/ledger.md)",
  PGRST202: "the ledger functions are missing: apply supabase/migrations (supabase db push)",
  PGRST205: "the ledger tables are missing: apply supabase/migrations (supabase db push)",
  "42501": "the key lacks privileges: use the secret key (service_role), not the publishable key",
  "42P01": "the ledger tables are missing: apply supabase/migrations (supabase db push)",
};

export class SupabaseDataError extends Error {
  override readonly name = "SupabaseDataError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/**
 * "Supabase ledger recordBatch failed: HTTP 409 23505: duplicate key value ... (details: ...;
 * hint: ...) → advice". The status is 0 when the request never got an answer.
 */
export function dataApiError(operation: string, error: DataApiError, status: number): SupabaseDataError {
  const code = error.code || null;
  const parts = [`${operation} failed: HTTP ${status}${code ? ` ${code}` : ""}: ${error.message || "no message"}`];
  const extra = [error.details && `details: ${firstLine(error.details)}`, error.hint && `hint: ${error.hint}`].filter(Boolean);
  if (extra.length) parts.push(`(${extra.join("; ")})`);
  const advice = (code && ADVICE[code]) ?? (status === 401 ? "check SUPABASE_URL and SUPABASE_SECRET_KEY" : undefined);
  if (advice) parts.push(`→ ${advice}`);
  return new SupabaseDataError(parts.join(" "), status, code);
}

/** Fetch failures put a stack trace in details; the first line says enough. */
function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
