/**
 * PostgREST's error answers, as PostgREST (v12–14) and Supabase's API gateway give them:
 * a JSON body {code, details, hint, message} and the status PostgREST derives from the code.
 * Reference: PostgREST src/PostgREST/Error.hs (pgErrorStatus) and docs "Errors".
 */

export interface PgrstErrorBody {
  readonly code: string | null;
  readonly details: string | null;
  readonly hint: string | null;
  readonly message: string;
}

export class PgrstError extends Error {
  constructor(
    readonly status: number,
    readonly body: PgrstErrorBody | { readonly message: string; readonly hint: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

const pgrst = (status: number, code: string, message: string, details: string | null = null, hint: string | null = null) =>
  new PgrstError(status, { code, details, hint, message });

/** Supabase's gateway, before PostgREST: no key, or a key it does not know. */
export const noApiKey = () => new PgrstError(401, { message: "No API key found in request", hint: "No `apikey` request header or url param was found." });
export const invalidApiKey = () => new PgrstError(401, { message: "Invalid API key", hint: "Double check your Supabase `anon` or `service_role` API key." });
/** An Authorization bearer that is neither the apikey nor a JWT the project signed. */
export const invalidJwt = () =>
  new PgrstError(
    401,
    { code: "PGRST301", details: null, hint: null, message: "No suitable key or wrong key type" },
    {
      "WWW-Authenticate": 'Bearer error="invalid_token", error_description="No suitable key or wrong key type"',
    },
  );

export const invalidSchema = (schema: string, exposed: readonly string[]) =>
  pgrst(406, "PGRST106", `Invalid schema: ${schema}`, null, `Only the following schemas are exposed: ${exposed.join(", ")}`);
export const tableNotFound = (schema: string, table: string) => pgrst(404, "PGRST205", `Could not find the table '${schema}.${table}' in the schema cache`);
export const columnNotFound = (table: string, column: string) =>
  pgrst(400, "PGRST204", `Could not find the '${column}' column of '${table}' in the schema cache`);
export const functionNotFound = (schema: string, fn: string, args: readonly string[]) => {
  const list = [...args].sort().join(", ");
  return pgrst(
    404,
    "PGRST202",
    `Could not find the function ${schema}.${fn}${args.length ? `(${list})` : " without parameters"} in the schema cache`,
    `Searched for the function ${schema}.${fn}${args.length ? ` with parameter${args.length > 1 ? "s" : ""} ${list}` : " without parameters"} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
  );
};
export const invalidBody = (message: string) => pgrst(400, "PGRST102", message);
export const badQuery = (message: string, details: string) => pgrst(400, "PGRST100", message, details);
export const notSingular = (rows: number) => pgrst(406, "PGRST116", "Cannot coerce the result to a single JSON object", `The result contains ${rows} rows`);
/** Honest refusal: a PostgREST feature this fake does not implement (never a silent approximation). */
export const notImplemented = (what: string) => pgrst(501, "FAKE501", `the fake PostgREST does not implement ${what}`);

/** A Postgres error (PGlite raises pg-protocol's DatabaseError) as PostgREST answers it. */
export function fromPostgres(error: unknown, authenticated: boolean): PgrstError {
  const e = error as { code?: string; message?: string; detail?: string; hint?: string };
  if (!e || typeof e.code !== "string") throw error;
  return new PgrstError(
    postgresStatus(e.code, authenticated),
    {
      code: e.code,
      details: e.detail ?? null,
      hint: e.hint ?? null,
      message: e.message ?? "",
    },
    postgresStatus(e.code, authenticated) === 401 ? { "WWW-Authenticate": "Bearer" } : {},
  );
}

/** PostgREST's pgErrorStatus, the cases that can happen here. */
function postgresStatus(code: string, authenticated: boolean): number {
  if (code.startsWith("08")) return 503;
  if (code.startsWith("09")) return 500;
  if (code.startsWith("0L") || code.startsWith("0P")) return 403;
  if (code === "23503" || code === "23505") return 409;
  if (code === "25006") return 405;
  if (code.startsWith("25")) return 500;
  if (code.startsWith("28")) return 403;
  if (code.startsWith("2D") || code.startsWith("38") || code.startsWith("39") || code.startsWith("3B")) return 500;
  if (code.startsWith("40")) return 500;
  if (code === "53400") return 500;
  if (code.startsWith("53")) return 503;
  if (code.startsWith("54") || code.startsWith("55") || code.startsWith("57") || code.startsWith("58")) return 500;
  if (code.startsWith("F0") || code.startsWith("HV")) return 500;
  if (code === "P0001") return 400;
  if (code.startsWith("P0") || code.startsWith("XX")) return 500;
  if (code === "42883") return 404;
  if (code === "42P01") return 404;
  if (code === "42P17") return 500;
  if (code === "42501") return authenticated ? 403 : 401;
  return 400;
}
