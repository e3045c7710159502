/**
 * Where usage rows and prices live: the embedded D1 ledger, or Supabase when it is configured.
 * Supabase clients are kept per isolate, one per project and key.
 */
import type { ImagenConfig } from "../config/schema";
import type { Env } from "../env";
import { createMaiClient, type MaiClient, type SupabaseSettings, supabaseSettingsFromEnv } from "../supabase/client";
import { D1PriceStore } from "../pricing/d1-price-store";
import type { PriceStore } from "../pricing/store";
import { SupabasePriceStore } from "../pricing/supabase-price-store";
import { D1Ledger } from "../usage/d1-ledger";
import type { Ledger } from "../usage/ledger";
import { SupabaseLedger } from "../usage/supabase-ledger";

export type LedgerTarget = { readonly kind: "d1" } | { readonly kind: "supabase"; readonly settings: SupabaseSettings };

/**
 * Which ledger this deployment writes to. `auto` = Supabase when its URL variable is set, else
 * the embedded D1 ledger. Throws, naming the variable, when Supabase is half configured.
 */
export function ledgerTarget(config: ImagenConfig, env: Env): LedgerTarget {
  const { backend, supabase_url_env, supabase_key_env } = config.ledger;
  if (backend === "d1") return { kind: "d1" };
  const settings = supabaseSettingsFromEnv(env, { url: supabase_url_env, key: supabase_key_env });
  if (settings) return { kind: "supabase", settings };
  if (backend === "supabase") throw new Error(`ledger.backend is "supabase" but ${supabase_url_env} is not set`);
  return { kind: "d1" };
}

const clients = new Map<string, MaiClient>();

function supabaseClient(settings: SupabaseSettings): MaiClient {
  const id = `${settings.url}\u0000${settings.key}`;
  let client = clients.get(id);
  if (!client) clients.set(id, (client = createMaiClient(settings)));
  return client;
}

export function ledgerFor(env: Env, config: ImagenConfig): Ledger {
  const target = ledgerTarget(config, env);
  return target.kind === "d1" ? new D1Ledger(env.LEDGER) : new SupabaseLedger(supabaseClient(target.settings));
}

export function priceStoreFor(env: Env, config: ImagenConfig): PriceStore {
  const target = ledgerTarget(config, env);
  return target.kind === "d1" ? new D1PriceStore(env.LEDGER) : new SupabasePriceStore(supabaseClient(target.settings));
}

/** How an outage names the ledger and price store ("the usage ledger (D1)"). */
export function ledgerDependency(env: Env, config: ImagenConfig, what: "usage ledger" | "price store"): string {
  return `the ${what} (${ledgerTarget(config, env).kind === "d1" ? "D1" : "Supabase"})`;
}
