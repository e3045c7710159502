/**
 * API keys. Only the sha256 of a key is stored (KV `key:<hash>` → record), so a leaked namespace
 * leaks no usable key. Keys can be added and revoked at runtime (admin API or `npm run keys`);
 * revocation marks the record so a revoked key gets a precise 401.
 */
import type { Role } from "../lib/caller";
import type { Limits } from "../config/guard";
import { sha256Hex } from "../lib/hash";

export interface ApiKeyRecord {
  /** Public handle: the first 12 hex characters of the hash. */
  readonly id: string;
  readonly hash: string;
  readonly caller: string;
  readonly role: Role;
  readonly created_at: string;
  readonly revoked_at: string | null;
  readonly label: string | null;
  /** Overrides the caller's limits from config, field by field (src/config/guard.ts). */
  readonly limits?: Limits;
}

export type KeyCheck = { readonly ok: true; readonly record: ApiKeyRecord } | { readonly ok: false; readonly reason: "unknown" | "revoked" };

const PREFIX = "key:";
const KEY_ID_LENGTH = 12;

export const CALLER_PATTERN = /^[a-z0-9][a-z0-9._/-]{0,63}$/;

async function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** A fresh key: `imk_` + 32 base32 characters (160 bits). */
export function newApiKey(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `imk_${[...bytes].map((b) => alphabet[b & 31]).join("")}`;
}

/**
 * The part of a KV namespace the key store uses: a Worker's binding satisfies it, and so does
 * the terminal's view of a remote namespace (scripts/keys.ts).
 */
export interface KeyValueStore {
  get<T>(key: string, type: "json"): Promise<T | null>;
  put(key: string, value: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

/**
 * Key records this isolate has read, by hash. KV takes up to 60 s to show a change in every
 * location, so keeping a record that long adds no staleness KV does not already have; a
 * revocation made through this isolate drops the record at once, one written by another process
 * (`npm run keys -- revoke`) holds here once the record expires (README "API keys"). Unknown keys
 * are not kept.
 */
const RECORD_TTL_MS = 60_000;
const MAX_KEPT_RECORDS = 1000;
const keptRecords = new Map<string, { readonly record: ApiKeyRecord; readonly until: number }>();

export class ApiKeyStore {
  constructor(private readonly kv: KeyValueStore) {}

  async check(presented: string): Promise<KeyCheck> {
    const hash = await hashApiKey(presented);
    const record = await this.recordFor(hash);
    // The lookup is by hash, so its timing says nothing about any stored key; the final
    // comparison is constant-time anyway so no code path compares secrets byte by byte.
    if (!record || !timingSafeEqualHex(record.hash, hash)) return { ok: false, reason: "unknown" };
    if (record.revoked_at) return { ok: false, reason: "revoked" };
    return { ok: true, record };
  }

  async add(key: string, caller: string, role: Role, label: string | null, now: Date, limits?: Limits): Promise<ApiKeyRecord> {
    const hash = await hashApiKey(key);
    const record: ApiKeyRecord = {
      id: hash.slice(0, KEY_ID_LENGTH),
      hash,
      caller,
      role,
      created_at: now.toISOString(),
      revoked_at: null,
      label,
      ...(limits && { limits }),
    };
    await this.kv.put(PREFIX + hash, JSON.stringify(record));
    return record;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.kv.list({ prefix: PREFIX, ...(cursor && { cursor }) });
      for (const { name } of page.keys) {
        const record = await this.kv.get<ApiKeyRecord>(name, "json");
        if (record) records.push(record);
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return records.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Revoke by public id; returns the updated record, or null when no key has that id. */
  async revoke(id: string, now: Date): Promise<ApiKeyRecord | null> {
    const page = await this.kv.list({ prefix: PREFIX + id });
    const name = page.keys[0]?.name;
    if (!name || page.keys.length !== 1) return null;
    const record = await this.kv.get<ApiKeyRecord>(name, "json");
    if (!record) return null;
    const revoked = { ...record, revoked_at: record.revoked_at ?? now.toISOString() };
    await this.kv.put(name, JSON.stringify(revoked));
    keptRecords.delete(record.hash);
    return revoked;
  }

  private async recordFor(hash: string): Promise<ApiKeyRecord | null> {
    const kept = keptRecords.get(hash);
    if (kept && Date.now() < kept.until) return kept.record;
    const record = await this.kv.get<ApiKeyRecord>(PREFIX + hash, "json");
    if (record) {
      if (keptRecords.size >= MAX_KEPT_RECORDS) keptRecords.delete(keptRecords.keys().next().value!);
      keptRecords.set(hash, { record, until: Date.now() + RECORD_TTL_MS });
    } else keptRecords.delete(hash);
    return record;
  }
}

function timingSafeEqualHex(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return (crypto.subtle as WorkersSubtleCrypto).timingSafeEqual(left, right);
}

/** workerd's constant-time compare; named here because tests that seed keys compile this module with DOM typings too. */
type WorkersSubtleCrypto = SubtleCrypto & { timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean };
