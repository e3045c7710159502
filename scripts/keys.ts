/**
 * API key management from a terminal, for the first admin key and for scripts:
 *
 *   npm run keys -- create <caller> [--role admin|user] [--label TEXT] [--remote]   (alias: add)
 *   npm run keys -- list [--remote]
 *   npm run keys -- revoke <id> [--remote]
 *
 * Without --remote it works on the local state `npm run dev` uses (.wrangler/state, or
 * --persist-to DIR as given to `wrangler dev`), through one local runtime that holds only the
 * API_KEYS namespace (scripts/local-kv.ts) for the whole command. The records are written by the
 * Worker's own ApiKeyStore, so the terminal and `POST /v1/keys` cannot disagree on their shape.
 * The plaintext key is printed once and never stored; KV holds only its sha256.
 */
import { parseArgs } from "node:util";
import { type ApiKeyRecord, ApiKeyStore, CALLER_PATTERN, type KeyValueStore, newApiKey } from "../src/auth/api-keys";
import type { Role } from "../src/lib/caller";
import { openLocalKv } from "./local-kv";
import { wranglerSync } from "./wrangler";

/** Where `npm run dev` keeps its local state (`wrangler dev --persist-to`). */
export const LOCAL_STATE = ".wrangler/state";

export interface OpenKeyStore {
  readonly store: ApiKeyStore;
  close(): Promise<void>;
}

/** The key store of the local state directory (`persistTo`, as `wrangler --persist-to`) or of production. */
export async function openKeyStore(options: { remote: boolean; persistTo?: string }): Promise<OpenKeyStore> {
  if (options.remote) return { store: new ApiKeyStore(remoteKv()), close: async () => {} };
  const local = await openLocalKv("API_KEYS", options.persistTo ?? LOCAL_STATE);
  return { store: new ApiKeyStore(local.kv), close: local.close };
}

/** Stores a known key locally (the documented dev key, the bench's key). */
export async function seedLocalKey(key: string, caller: string, role: Role, label: string, persistTo = LOCAL_STATE): Promise<void> {
  const { store, close } = await openKeyStore({ remote: false, persistTo });
  try {
    await store.add(key, caller, role, label, new Date());
  } finally {
    await close();
  }
}

/**
 * Production KV through wrangler's authenticated commands (one process per operation: the
 * network round trip dominates there anyway).
 */
function remoteKv(): KeyValueStore {
  const kv = (args: string[]) => wranglerSync(["kv", "key", ...args, "--binding", "API_KEYS", "--remote"]);
  return {
    async get<T>(key: string) {
      const text = kv(["get", key, "--text"]).trim();
      // wrangler answers a missing key with this line (exit code 0).
      return text === "" || text === "Value not found" ? null : (JSON.parse(text) as T);
    },
    async put(key, value) {
      kv(["put", key, value]);
    },
    // wrangler pages through the whole listing itself.
    async list({ prefix }) {
      return { keys: JSON.parse(kv(["list", "--prefix", prefix])) as { name: string }[], list_complete: true };
    },
  };
}

function line(record: ApiKeyRecord): string {
  const state = record.revoked_at ? `revoked ${record.revoked_at}` : "active";
  return [record.id, record.caller, record.role, record.created_at, state, record.label ?? ""].join("\t");
}

const USAGE = "usage: npm run keys -- create <caller> [--role admin|user] [--label TEXT] | list | revoke <id>   (each with [--remote] or [--persist-to DIR])";

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      role: { type: "string", default: "user" },
      label: { type: "string" },
      remote: { type: "boolean", default: false },
      "persist-to": { type: "string", default: LOCAL_STATE },
    },
  });
  const [command, arg] = positionals;
  const known = command === "create" || command === "add" || command === "revoke" ? arg !== undefined : command === "list";
  if (!known) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const role = values.role;
  if (role !== "admin" && role !== "user") throw new Error("--role is admin or user");
  if ((command === "create" || command === "add") && !CALLER_PATTERN.test(arg!)) {
    throw new Error("caller: lowercase letters, digits, '.', '_', '/' or '-' (max 64)");
  }

  const { store, close } = await openKeyStore({ remote: values.remote ?? false, persistTo: values["persist-to"] });
  try {
    if (command === "list") {
      for (const record of await store.list()) console.log(line(record));
    } else if (command === "revoke") {
      const revoked = await store.revoke(arg!, new Date());
      if (!revoked) throw new Error(`no key with id ${arg}`);
      console.log(`revoked ${revoked.id} (${revoked.caller})`);
    } else {
      const key = newApiKey();
      const record = await store.add(key, arg!, role, values.label ?? null, new Date());
      console.log(`created key ${record.id} for ${record.caller} (${record.role}); it is shown only now:\n${key}`);
    }
  } finally {
    await close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
