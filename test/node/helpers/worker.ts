/**
 * The real Worker for tests that drive it from outside (the CLI, a browser): wrangler's test
 * harness runs src/index.ts in workerd on an ephemeral loopback port with fresh local bindings,
 * the D1 ledger migrated, and two API keys seeded — an admin and a user.
 *
 *   const worker = await startWorker();
 *   … fetch(`${worker.url}/v1/backends`, { headers: { authorization: `Bearer ${worker.userKey}` } }) …
 *   await worker.stop();
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestHarness, unstable_splitSqlQuery } from "wrangler";
import { newKey, recordFor } from "../../../scripts/keys";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface RunningWorker {
  /** Origin without a trailing slash, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  readonly adminKey: string;
  readonly userKey: string;
  /** Caller names of the two keys. */
  readonly adminCaller: string;
  readonly userCaller: string;
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  /** Replaces wrangler.toml's IMAGEN_CONFIG (e.g. to add a slow mock backend). */
  readonly config?: Record<string, unknown>;
}

interface HarnessEnv {
  API_KEYS: KVNamespace;
  LEDGER: D1Database;
}

export async function startWorker(options: StartWorkerOptions = {}): Promise<RunningWorker> {
  process.env.WRANGLER_SEND_METRICS = "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  const harness = createTestHarness({
    root: ROOT,
    workers: [{ configPath: "./wrangler.toml", ...(options.config && { vars: { IMAGEN_CONFIG: options.config as never } }) }],
  });
  try {
    const { url } = await harness.listen();
    const env = await harness.getWorker<HarnessEnv>().getEnv();
    await migrateLedger(env.LEDGER);
    const adminKey = await seedKey(env.API_KEYS, "owner", "admin");
    const userKey = await seedKey(env.API_KEYS, "alice", "user");
    return {
      url: url.origin,
      adminKey,
      userKey,
      adminCaller: "owner",
      userCaller: "alice",
      stop: () => harness.close(),
    };
  } catch (error) {
    await harness.close();
    throw error;
  }
}

async function migrateLedger(db: D1Database): Promise<void> {
  const dir = join(ROOT, "migrations", "d1");
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort()) {
    const statements = unstable_splitSqlQuery(await readFile(join(dir, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
}

async function seedKey(kv: KVNamespace, caller: string, role: "admin" | "user"): Promise<string> {
  const key = newKey();
  const record = recordFor(key, caller, role, "test");
  await kv.put(`key:${record.hash}`, JSON.stringify(record));
  return key;
}
