/**
 * The Edge Function's Data API client: supabase-js, the SDK the platform's functions are written
 * with, narrowed to the `mai` schema. It is the same PostgREST client the Worker builds directly
 * (src/supabase/client.ts), so the price store cannot tell them apart; the Worker skips the rest
 * of the SDK (auth, realtime, storage) only to stay small.
 */
import { createClient } from "@supabase/supabase-js";
import { DEFAULT_TIMEOUT_MS, MAI_SCHEMA, type MaiClient, type SupabaseSettings } from "../../../src/supabase/client";

export function createSdkMaiClient(settings: SupabaseSettings): MaiClient {
  return createClient(settings.url, settings.key, {
    db: { schema: MAI_SCHEMA, timeout: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: settings.fetch ? { fetch: settings.fetch } : {},
  }).schema(MAI_SCHEMA);
}
