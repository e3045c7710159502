/**
 * A real Postgres for SQL tests, without Docker, of either engine:
 *  - "pglite": PGlite (Postgres 18 compiled to WASM) served over the wire protocol on 127.0.0.1 by
 *    @electric-sql/pglite-socket, so the Supabase CLI and `pg` connect to it like to any server;
 *  - "postgres-17": a native server of the major production runs (supabase/config.toml), from
 *    tools/ (./native-postgres.ts): its planner is the one whose plans the reports must suit.
 * One server per test file; apply the migrations once.
 *
 * Caveat: PGlite is ONE Postgres session behind every connection, so session state (SET ROLE,
 * search_path, an open transaction) is shared. Reset a session-level role before another client
 * (such as the CLI) runs, or use SET LOCAL inside a transaction; both work on either engine.
 *
 * @example
 *   const server = await startPostgres();      // or startPostgres({ engine: "postgres-17" })
 *   await pushMigrations(server.url);          // the real `supabase db push`
 *   const client = await server.connect();
 *   ...
 *   await client.end(); await server.close();
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { startNativePostgres } from "./native-postgres";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url).href);
// The Supabase CLI lives in tools/ (installed on demand by `npm test`), not in the default install.
const SUPABASE_CLI = join(REPO_ROOT, "tools", "node_modules", ".bin", "supabase");

/**
 * The roles a Supabase database has and a plain Postgres lacks: the three API roles PostgREST
 * switches to (service_role bypasses row level security, as on Supabase) and the login role it
 * connects as. `supabase db push` itself needs nothing more: it creates its own
 * supabase_migrations schema.
 */
const SUPABASE_ROLES_SQL = `
  create role anon nologin noinherit;
  create role authenticated nologin noinherit;
  create role service_role nologin noinherit bypassrls;
  create role authenticator login noinherit;
  grant anon, authenticated, service_role to authenticator;
`;

/** The engines the SQL tests run on (see the module comment). */
export const ENGINES = ["pglite", "postgres-17"] as const;
export type Engine = (typeof ENGINES)[number];

export interface TestPostgres {
  /** postgresql:// URL for clients and the Supabase CLI. */
  readonly url: string;
  /** A connected `pg` client; end it before `close()`. */
  connect(): Promise<pg.Client>;
  close(): Promise<void>;
}

export async function startPostgres(options: { supabaseRoles?: boolean; engine?: Engine } = {}): Promise<TestPostgres> {
  if (options.engine === "postgres-17") return startNative(options.supabaseRoles ?? true);
  const db = await PGlite.create();
  if (options.supabaseRoles ?? true) await db.exec(SUPABASE_ROLES_SQL);
  // Port 0: the OS picks a free port, so parallel test files never collide.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 8 });
  await server.start();
  const url = `postgresql://postgres:postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  return {
    url,
    connect: () => connectTo(url),
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

async function startNative(supabaseRoles: boolean): Promise<TestPostgres> {
  const server = await startNativePostgres();
  if (server.major !== 17) {
    await server.close();
    throw new Error(`expected Postgres 17 (supabase/config.toml), tools/ installed ${server.major}`);
  }
  if (supabaseRoles) {
    const client = await connectTo(server.url);
    try {
      await client.query(SUPABASE_ROLES_SQL);
    } finally {
      await client.end();
    }
  }
  return { url: server.url, connect: () => connectTo(server.url), close: () => server.close() };
}

async function connectTo(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url.replace("?sslmode=disable", "") });
  await client.connect();
  return client;
}

/**
 * Applies supabase/migrations with the real CLI, exactly as an operator does against a hosted
 * project (`supabase db push --remote=<url>`). Returns the CLI's output; throws with it on failure.
 * `workdir` names another project directory (one with a supabase/ folder), e.g. one holding only
 * the migrations up to some point.
 */
export function pushMigrations(url: string, options: { dryRun?: boolean; workdir?: string } = {}): Promise<string> {
  const args = ["db", "push", `--remote=${url}`, "--yes", "--workdir", options.workdir ?? REPO_ROOT];
  if (options.dryRun) args.push("--dry-run");
  return new Promise((resolve, reject) => {
    execFile(SUPABASE_CLI, args, { timeout: 120_000, env: { ...process.env, DO_NOT_TRACK: "1" } }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) reject(new Error(`supabase db push failed: ${error.message}\n${output}`));
      else resolve(output);
    });
  });
}

/** The Postgres error fields a test asserts on (pg's DatabaseError carries them). */
export interface PgErrorFields {
  readonly code?: string;
  readonly constraint?: string;
  readonly message: string;
}

/** Runs `action` and returns the database error it raised; fails the test when none is raised. */
export async function pgError(action: () => Promise<unknown>): Promise<PgErrorFields> {
  try {
    await action();
  } catch (error) {
    return error as PgErrorFields;
  }
  throw new Error("expected the database to refuse, but it accepted");
}
