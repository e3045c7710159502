/**
 * The real Worker for tests that drive it from outside (the CLI, a browser): wrangler's test
 * harness runs src/index.ts in workerd on an ephemeral loopback port with fresh local bindings,
 * the D1 ledger migrated, and three API keys seeded — an admin, a user and a revoked one.
 *
 *   const worker = await startWorker({ config: localOnlyConfig });
 *   … fetch(`${worker.url}/v1/backends`, { headers: { authorization: `Bearer ${worker.userKey}` } }) …
 *   await worker.stop();
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestHarness, unstable_splitSqlQuery } from "wrangler";
import { ApiKeyStore, newApiKey } from "../../../src/auth/api-keys";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface RunningWorker {
  /** Origin without a trailing slash, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  readonly adminKey: string;
  readonly userKey: string;
  /** A user key that was revoked (caller "mallory"). */
  readonly revokedKey: string;
  /** Caller names of the admin and user keys. */
  readonly adminCaller: string;
  readonly userCaller: string;
  /** One user key per name in `options.extraCallers`, for tests that give a caller limits of its own. */
  readonly keysOf: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  /**
   * Replaces wrangler.toml's IMAGEN_CONFIG. Required: the shipped config names real provider hosts,
   * and a status probe must never leave this machine in a test.
   */
  readonly config: Record<string, unknown>;
  /** More user callers to seed a key for (e.g. one with a spend cap in `config.guard.callers`). */
  readonly extraCallers?: readonly string[];
}

interface HarnessEnv {
  API_KEYS: KVNamespace;
  LEDGER: D1Database;
}

export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  process.env.WRANGLER_SEND_METRICS = "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  const harness = createTestHarness({
    root: ROOT,
    workers: [
      {
        configPath: "./wrangler.toml",
        // A fresh URL-signing secret per run (README "Signed image URLs"), as a deployment sets one.
        vars: { IMAGEN_CONFIG: options.config as never, IMAGEN_URL_SECRET: randomBytes(32).toString("base64url") },
      },
    ],
  });
  try {
    const { url } = await harness.listen();
    const env = await harness.getWorker<HarnessEnv>().getEnv();
    await migrateLedger(env.LEDGER);
    const keys = new ApiKeyStore(env.API_KEYS);
    const adminKey = await seedKey(keys, "owner", "admin");
    const userKey = await seedKey(keys, "alice", "user");
    const revokedKey = await seedKey(keys, "mallory", "user");
    const revoked = (await keys.list()).find((record) => record.caller === "mallory")!;
    await keys.revoke(revoked.id, new Date());
    const keysOf: Record<string, string> = {};
    for (const caller of options.extraCallers ?? []) keysOf[caller] = await seedKey(keys, caller, "user");
    return {
      url: url.origin,
      adminKey,
      userKey,
      revokedKey,
      adminCaller: "owner",
      userCaller: "alice",
      keysOf,
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

async function seedKey(keys: ApiKeyStore, caller: string, role: "admin" | "user"): Promise<string> {
  const key = newApiKey();
  await keys.add(key, caller, role, "test", new Date());
  return key;
}
