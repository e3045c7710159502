/**
 * API key management from a terminal, for the first admin key and for scripts:
 *
 *   npm run keys -- add <caller> [--role admin|user] [--label TEXT] [--remote]
 *   npm run keys -- list [--remote]
 *   npm run keys -- revoke <id> [--remote]
 *
 * Without --remote it works on the local state `npm run dev` uses (.wrangler/state).
 * The plaintext key is printed once and never stored; KV holds only its sha256.
 */
import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { wranglerSync } from "./wrangler";

const STATE = ".wrangler/state";
const CALLER = /^[a-z0-9][a-z0-9._/-]{0,63}$/;

interface KeyRecord {
  id: string;
  hash: string;
  caller: string;
  role: "admin" | "user";
  created_at: string;
  revoked_at: string | null;
  label: string | null;
}

export function newKey(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return `imk_${[...randomBytes(32)].map((b) => alphabet[b & 31]).join("")}`;
}

export function recordFor(key: string, caller: string, role: "admin" | "user", label: string | null): KeyRecord {
  const hash = createHash("sha256").update(key).digest("hex");
  return { id: hash.slice(0, 12), hash, caller, role, created_at: new Date().toISOString(), revoked_at: null, label };
}

function where(remote: boolean): string[] {
  return remote ? ["--remote"] : ["--local", "--persist-to", STATE];
}

export function putKeyRecord(record: KeyRecord, remote: boolean): void {
  wranglerSync(["kv", "key", "put", "--binding", "API_KEYS", `key:${record.hash}`, JSON.stringify(record), ...where(remote)]);
}

function listRecords(remote: boolean): { name: string; record: KeyRecord }[] {
  const names = JSON.parse(wranglerSync(["kv", "key", "list", "--binding", "API_KEYS", "--prefix", "key:", ...where(remote)])) as { name: string }[];
  return names.map(({ name }) => ({
    name,
    record: JSON.parse(wranglerSync(["kv", "key", "get", "--binding", "API_KEYS", name, "--text", ...where(remote)])) as KeyRecord,
  }));
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: "string", default: "user" }, label: { type: "string" }, remote: { type: "boolean", default: false } },
  });
  const [command, arg] = positionals;
  const remote = values.remote ?? false;
  if (command === "add" && arg) {
    if (!CALLER.test(arg)) throw new Error("caller: lowercase letters, digits, '.', '_', '/' or '-' (max 64)");
    if (values.role !== "admin" && values.role !== "user") throw new Error("--role is admin or user");
    const key = newKey();
    const record = recordFor(key, arg, values.role, values.label ?? null);
    putKeyRecord(record, remote);
    console.log(`created key ${record.id} for ${arg} (${record.role}); it is shown only now:\n${key}`);
  } else if (command === "list") {
    for (const { record } of listRecords(remote)) {
      console.log([record.id, record.caller, record.role, record.created_at, record.revoked_at ? `revoked ${record.revoked_at}` : "active", record.label ?? ""].join("\t"));
    }
  } else if (command === "revoke" && arg) {
    const match = listRecords(remote).find(({ record }) => record.id === arg);
    if (!match) throw new Error(`no key with id ${arg}`);
    putKeyRecord({ ...match.record, revoked_at: new Date().toISOString() }, remote);
    console.log(`revoked ${arg} (${match.record.caller})`);
  } else {
    console.error("usage: npm run keys -- add <caller> [--role admin|user] [--label TEXT] [--remote] | list [--remote] | revoke <id> [--remote]");
    process.exitCode = 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
