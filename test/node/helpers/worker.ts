/**
 * The real Worker under `wrangler dev` for tests that drive it from outside (a browser, a CLI):
 * loopback on a free port, a fresh temporary state directory with the D1 migrations applied and
 * three seeded API keys (an admin, a user, a revoked user key). `stop()` ends wrangler and its
 * workerd and removes the state.
 *
 * @example
 *   const worker = await startWorker({ imagenConfig: formTestConfig });
 *   await fetch(`${worker.url}/v1/backends`, { headers: { authorization: `Bearer ${worker.userKey}` } });
 *   await worker.stop();
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordFor } from "../../../scripts/keys";
import { wranglerBackground, wranglerSync } from "../../../scripts/wrangler";
import { REPO_ROOT } from "./postgres";

export interface RunningWorker {
  /** e.g. http://127.0.0.1:40123 — no trailing slash. */
  readonly url: string;
  /** Caller "admin", role admin. */
  readonly adminKey: string;
  /** Caller "alice", role user. */
  readonly userKey: string;
  /** Caller "mallory", revoked. */
  readonly revokedKey: string;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** Replaces wrangler.toml's IMAGEN_CONFIG (same shape). */
  readonly imagenConfig?: unknown;
}

const READY_TIMEOUT_MS = 120_000;

export async function startWorker(options: WorkerOptions = {}): Promise<RunningWorker> {
  const state = await mkdtemp(join(tmpdir(), "imagen-worker-"));
  const persist = ["--local", "--persist-to", state];
  wranglerSync(["d1", "migrations", "apply", "imagen-ledger", ...persist]);
  const keys = { adminKey: testKey("admin"), userKey: testKey("alice"), revokedKey: testKey("mallory") };
  const revoked = { ...recordFor(keys.revokedKey, "mallory", "user", "revoked in tests"), revoked_at: new Date().toISOString() };
  const records = [recordFor(keys.adminKey, "admin", "admin", "tests"), recordFor(keys.userKey, "alice", "user", "tests"), revoked];
  const bulk = join(state, "keys.json");
  await writeFile(bulk, JSON.stringify(records.map((r) => ({ key: `key:${r.hash}`, value: JSON.stringify(r) }))));
  wranglerSync(["kv", "bulk", "put", bulk, "--binding", "API_KEYS", ...persist]);

  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "warn"];
  if (options.imagenConfig !== undefined) args.push("--var", `IMAGEN_CONFIG:${JSON.stringify(options.imagenConfig)}`);
  const child = wranglerBackground(args, REPO_ROOT);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
    await rm(state, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(url, () => child.exitCode !== null);
  } catch (error) {
    await stop();
    throw new Error(`wrangler dev did not come up: ${(error as Error).message}\n${output}`);
  }
  return { url, ...keys, stop };
}

function testKey(caller: string): string {
  return `imk_test_${caller}_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** A port the OS just handed out; wrangler takes it a moment later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitUntilReady(url: string, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error("wrangler exited");
    const response = await fetch(`${url}/healthz`).catch(() => null); // null: not listening yet
    if (response?.ok) return;
    if (response) throw new Error(`/healthz answered ${response.status}: ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no answer from ${url}/healthz within ${READY_TIMEOUT_MS} ms`);
}
