/**
 * A fake Supabase Data API (PostgREST behind Supabase's gateway), a real node:http server backed by
 * a real Postgres: every project is its own PGlite database with supabase/migrations applied, and
 * requests run as the key's role. So idempotency, constraints, grants, RLS and the report
 * functions are the real ones; only the HTTP layer is re-implemented (./data-api.ts).
 *
 *   npx tsx test/fakes/postgrest/server.ts --port 9020
 *     → prints SUPABASE_URL and a project's SUPABASE_SECRET_KEY for `wrangler dev` (.dev.vars)
 *
 * What it checks and answers, as Supabase does:
 *  - `apikey` header: missing → 401 "No API key found in request"; unknown → 401 "Invalid API key".
 *    A project's secret key (sb_secret_…) acts as service_role, its publishable key as anon.
 *    `Authorization: Bearer <token>`, when present, must carry the same key (supabase-js sends
 *    both) → otherwise 401 PGRST301.
 *  - Schema: `Accept-Profile` (GET/HEAD) or `Content-Profile` (others), default the first exposed
 *    schema; one not exposed → 406 PGRST106 {message: "Invalid schema: x", hint: "Only the
 *    following schemas are exposed: …"}. Exposed by default: public, graphql_public, mai (as
 *    supabase/config.toml); a scenario can change that.
 *  - POST bodies must be `Content-Type: application/json` (else 415 PGRST102-like refusal).
 *  - Tables, RPC and errors: see ./data-api.ts and ./errors.ts (Postgres code → HTTP status as
 *    PostgREST maps it: 23505 → 409, 23514 → 400, 42501 → 401 anon / 403 otherwise, P0001 → 400...).
 *
 * Test control (nothing here is Supabase's):
 *  - POST /__fake/projects → {url, secret_key, publishable_key}: a fresh database (cloned from a
 *    template migrated at start, so ~1 s) isolated from every other project. DELETE /__fake/projects/<secret_key>.
 *  - POST /__fake/scenario {secret_key, exposed_schemas?, fail_next?: [{status, body}]}: schemas
 *    to expose; scripted answers consumed one per Data API request, then normal behaviour resumes.
 *  - GET  /__fake/requests?key=<secret_key>: every Data API request (method, path, headers, body).
 *  - POST /__fake/sql {secret_key, sql, params?} → {rows}: runs SQL as the owner, to inspect rows.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { handleDataApi, type ApiRole } from "./data-api";
import { invalidApiKey, invalidJwt, invalidSchema, noApiKey, PgrstError } from "./errors";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../../supabase/migrations/", import.meta.url).href);
const DEFAULT_EXPOSED_SCHEMAS = ["public", "graphql_public", "mai"] as const;
/** PostgREST's max-rows, as `[api] max_rows` in supabase/config.toml. */
const MAX_ROWS = 1000;

/** Supabase's API roles; service_role bypasses RLS as on a real project. */
const ROLES_SQL = `
  create role anon nologin noinherit;
  create role authenticated nologin noinherit;
  create role service_role nologin noinherit bypassrls;
`;

interface Scripted {
  readonly status: number;
  readonly body?: unknown;
}

interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

interface Project {
  readonly db: PGlite;
  readonly secretKey: string;
  readonly publishableKey: string;
  exposedSchemas: string[];
  failNext: Scripted[];
  readonly requests: RecordedRequest[];
}

export interface FakePostgrest {
  readonly url: string;
  close(): Promise<void>;
}

export async function start(options: { port?: number } = {}): Promise<FakePostgrest> {
  const projects = new Map<string, Project>();

  /** Migrating once and cloning the data directory is ~4x faster than migrating every project. */
  async function migratedTemplate(): Promise<File | Blob> {
    const db = await PGlite.create();
    await db.exec(ROLES_SQL);
    for (const file of readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith(".sql"))
      .sort()) {
      await db.exec(readFileSync(MIGRATIONS_DIR + file, "utf8"));
    }
    const dump = await db.dumpDataDir("none");
    await db.close();
    return dump;
  }

  async function newProject(): Promise<Project> {
    const db = await PGlite.create({ loadDataDir: await template });
    const suffix = randomBytes(12).toString("base64url");
    const project: Project = {
      db,
      secretKey: `sb_secret_fake_${suffix}`,
      publishableKey: `sb_publishable_fake_${suffix}`,
      exposedSchemas: [...DEFAULT_EXPOSED_SCHEMAS],
      failNext: [],
      requests: [],
    };
    projects.set(project.secretKey, project);
    projects.set(project.publishableKey, project);
    return project;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof PgrstError)
        return send(res, error.status, JSON.stringify(error.body), { "Content-Type": "application/json; charset=utf-8", ...error.headers });
      send(res, 500, JSON.stringify({ message: `fake PostgREST crashed: ${String(error)}` }), { "Content-Type": "application/json" });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const raw = await readBody(req);
    if (url.pathname.startsWith("/__fake/")) return control(req.method ?? "GET", url, raw, res);
    if (!url.pathname.startsWith("/rest/v1/")) return send(res, 404, "", {});

    const headers = lowerCaseHeaders(req);
    const apikey = headers.apikey ?? url.searchParams.get("apikey");
    const project = apikey ? projects.get(apikey) : undefined;
    project?.requests.push({ method: req.method ?? "GET", path: url.pathname + url.search, headers, body: parseJson(raw) });
    if (!apikey) throw noApiKey();
    if (!project) throw invalidApiKey();
    if (headers.authorization !== undefined && headers.authorization !== `Bearer ${apikey}`) throw invalidJwt();
    const scripted = project.failNext.shift();
    if (scripted) return send(res, scripted.status, scripted.body === undefined ? "" : JSON.stringify(scripted.body), { "Content-Type": "application/json" });
    const role: ApiRole = apikey === project.secretKey ? "service_role" : "anon";

    const method = req.method ?? "GET";
    const reading = method === "GET" || method === "HEAD";
    const schema = (reading ? headers["accept-profile"] : headers["content-profile"]) ?? project.exposedSchemas[0] ?? "public";
    if (!project.exposedSchemas.includes(schema)) throw invalidSchema(schema, project.exposedSchemas);
    if (!reading && raw !== "" && !(headers["content-type"] ?? "").startsWith("application/json")) {
      return send(
        res,
        415,
        JSON.stringify({ code: "PGRST107", details: null, hint: null, message: `None of these media types are available: ${headers["content-type"] ?? ""}` }),
        { "Content-Type": "application/json" },
      );
    }
    const body = raw === "" ? undefined : parseJson(raw);
    if (raw !== "" && body === undefined) {
      throw new PgrstError(400, { code: "PGRST102", details: null, hint: null, message: "Empty or invalid json" });
    }
    const answer = await handleDataApi(project.db, {
      maxRows: MAX_ROWS,
      method,
      schema,
      resource: url.pathname.slice("/rest/v1/".length),
      query: url.searchParams,
      prefer: preferences(headers.prefer),
      accept: headers.accept ?? "application/json",
      body,
      role,
    });
    send(res, answer.status, answer.body, answer.headers);
  }

  async function control(method: string, url: URL, raw: string, res: ServerResponse): Promise<void> {
    const body = (parseJson(raw) ?? {}) as Record<string, unknown>;
    const json = (status: number, value: unknown) => send(res, status, JSON.stringify(value), { "Content-Type": "application/json" });
    if (method === "POST" && url.pathname === "/__fake/projects") {
      const p = await newProject();
      return json(201, { url: baseUrl(), secret_key: p.secretKey, publishable_key: p.publishableKey });
    }
    if (method === "DELETE" && url.pathname.startsWith("/__fake/projects/")) {
      const p = projects.get(decodeURIComponent(url.pathname.slice("/__fake/projects/".length)));
      if (!p) return json(404, { message: "no such project" });
      projects.delete(p.secretKey);
      projects.delete(p.publishableKey);
      await p.db.close();
      return json(200, { deleted: true });
    }
    const project = projects.get(String(body.secret_key ?? url.searchParams.get("key") ?? ""));
    if (!project) return json(404, { message: "unknown project key" });
    if (method === "POST" && url.pathname === "/__fake/scenario") {
      if (Array.isArray(body.exposed_schemas)) project.exposedSchemas = body.exposed_schemas.map(String);
      if (Array.isArray(body.fail_next)) project.failNext = body.fail_next as Scripted[];
      return json(200, { exposed_schemas: project.exposedSchemas, fail_next: project.failNext.length });
    }
    if (method === "GET" && url.pathname === "/__fake/requests") return json(200, project.requests);
    if (method === "POST" && url.pathname === "/__fake/sql") {
      const result = await project.db.query(String(body.sql), Array.isArray(body.params) ? body.params : []);
      return json(200, { rows: result.rows });
    }
    return json(404, { message: `no control endpoint ${method} ${url.pathname}` });
  }

  // Migrate the template before answering anything: the first test to create a project then pays
  // for a clone (~1 s), not for every migration inside its own setup hook on a busy machine.
  const template = await migratedTemplate();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const baseUrl = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl(),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const open = new Set(projects.values());
      await Promise.all([...open].map((p) => p.db.close()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

function parseJson(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** `Prefer: resolution=ignore-duplicates, return=minimal` (one header or several, comma-joined). */
function preferences(header: string | undefined): Set<string> {
  return new Set(
    (header ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
  );
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, headers);
  res.end(body);
}

// Standalone: `npx tsx test/fakes/postgrest/server.ts --port 9020`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const portFlag = process.argv.indexOf("--port");
  const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : 9020;
  const fake = await start({ port });
  const created = (await (await fetch(`${fake.url}/__fake/projects`, { method: "POST" })).json()) as { secret_key: string };
  console.log(`fake Supabase Data API on ${fake.url}\nSUPABASE_URL=${fake.url}\nSUPABASE_SECRET_KEY=${created.secret_key}`);
}
