import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load";
import type { Env } from "../../src/env";
import { ledgerTarget } from "../../src/deps";
import { testConfig } from "../helpers/config";
import { fakeSupabaseKey } from "../helpers/keys";

const secretX = fakeSupabaseKey("secret");

const env = (vars: Record<string, string>) => vars as unknown as Env;

describe("choosing the ledger", () => {
  const auto = parseConfig(testConfig());

  it("uses the embedded D1 ledger when Supabase is not configured", () => {
    expect(ledgerTarget(auto, env({}))).toEqual({ kind: "d1" });
  });

  it("uses Supabase when its URL and secret key are set", () => {
    expect(ledgerTarget(auto, env({ SUPABASE_URL: "https://p.supabase.co", SUPABASE_SECRET_KEY: secretX }))).toEqual({
      kind: "supabase",
      settings: { url: "https://p.supabase.co", key: secretX },
    });
  });

  it("reads the variables config names, and refuses a publishable key", () => {
    const named = parseConfig(testConfig({ ledger: { supabase_url_env: "MAI_DB_URL", supabase_key_env: "MAI_DB_KEY" } }));
    expect(ledgerTarget(named, env({ MAI_DB_URL: "https://p.supabase.co", MAI_DB_KEY: fakeSupabaseKey("secret") }))).toMatchObject({ kind: "supabase" });
    expect(() => ledgerTarget(named, env({ MAI_DB_URL: "https://p.supabase.co", MAI_DB_KEY: fakeSupabaseKey("publishable") }))).toThrow(
      "MAI_DB_KEY holds a publishable key",
    );
  });

  it("honours an explicit choice", () => {
    const d1 = parseConfig(testConfig({ ledger: { backend: "d1" } }));
    expect(ledgerTarget(d1, env({ SUPABASE_URL: "https://p.supabase.co", SUPABASE_SECRET_KEY: secretX }))).toEqual({ kind: "d1" });
    const supabase = parseConfig(testConfig({ ledger: { backend: "supabase" } }));
    expect(() => ledgerTarget(supabase, env({}))).toThrow('ledger.backend is "supabase" but SUPABASE_URL is not set');
  });
});
