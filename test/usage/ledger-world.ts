/**
 * The two ledger back ends as tests meet them: the local D1 database (migrations/d1 applied) and
 * a fresh project on the fake Supabase Data API (test/fakes/postgrest, real Postgres behind it).
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { createMaiClient, type MaiClient } from "../../src/supabase/client";

interface LedgerTestEnv {
  readonly LEDGER: D1Database;
  /** Provided by vitest.config.ts (readD1Migrations("migrations/d1")). */
  readonly TEST_D1_MIGRATIONS: Parameters<typeof applyD1Migrations>[1];
}

/** The LEDGER binding with migrations/d1 applied (idempotent: applied ones are skipped). */
export async function migratedLedgerDb(): Promise<D1Database> {
  const { LEDGER, TEST_D1_MIGRATIONS } = env as unknown as LedgerTestEnv;
  await applyD1Migrations(LEDGER, TEST_D1_MIGRATIONS);
  return LEDGER;
}

export interface FakeSupabaseProject {
  readonly url: string;
  readonly secretKey: string;
  readonly publishableKey: string;
  client(key?: string): MaiClient;
  /** SQL as the database owner, to look at rows without going through the code under test. */
  sql<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  requests(): Promise<RecordedRequest[]>;
  scenario(scenario: { exposed_schemas?: string[]; fail_next?: { status: number; body?: unknown }[] }): Promise<void>;
  drop(): Promise<void>;
}

interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

const control = () => inject("fakes").postgrest!;

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(control() + path, { ...init, headers: { "content-type": "application/json" } });
  if (!res.ok) throw new Error(`fake PostgREST control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A fresh, isolated Supabase project with supabase/migrations applied. */
export async function newSupabaseProject(): Promise<FakeSupabaseProject> {
  const p = await call<{ url: string; secret_key: string; publishable_key: string }>("/__fake/projects", { method: "POST" });
  return {
    url: p.url,
    secretKey: p.secret_key,
    publishableKey: p.publishable_key,
    client: (key = p.secret_key) => createMaiClient({ url: p.url, key }),
    sql: async <T>(sql: string, params: unknown[] = []) =>
      (await call<{ rows: T[] }>("/__fake/sql", { method: "POST", body: JSON.stringify({ secret_key: p.secret_key, sql, params }) })).rows,
    requests: () => call<RecordedRequest[]>(`/__fake/requests?key=${encodeURIComponent(p.secret_key)}`),
    scenario: async (scenario) => {
      await call("/__fake/scenario", { method: "POST", body: JSON.stringify({ secret_key: p.secret_key, ...scenario }) });
    },
    drop: async () => {
      await call(`/__fake/projects/${encodeURIComponent(p.secret_key)}`, { method: "DELETE" });
    },
  };
}
