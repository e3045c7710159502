/**
 * Supabase Edge Function `pricing-refresh`: runs the same price refresh as the Worker's cron
 * (src/pricing, imported by relative path) against the Supabase price store, when called with
 * the shared secret. Protocol, environment and scheduling (pg_cron + pg_net): docs/pricing.md.
 *
 *   curl -X POST "$SUPABASE_URL/functions/v1/pricing-refresh" -H "x-pricing-refresh-secret: $SECRET"
 */
import { systemClock } from "../../../src/lib/clock";
import { jsonLogger } from "../../../src/lib/log";
import { supabaseSettingsFromEnv } from "../../../src/supabase/client";
import { SupabasePriceStore } from "../../../src/pricing/supabase-price-store";
import { configFromEnv, createPricingRefreshHandler } from "./handler";
import { createSdkMaiClient } from "./mai-client";

const env = Deno.env.toObject();
const log = jsonLogger({ service: "pricing-refresh" });
// Bad PRICING_CONFIG / PRICING_WANTED_MODELS fail the boot with the zod message in the logs.
const { config, wanted } = configFromEnv(env);

Deno.serve(
  createPricingRefreshHandler({
    secret: env.PRICING_REFRESH_SECRET?.trim() || undefined,
    store: () => {
      // The platform injects SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (or set SUPABASE_SECRET_KEY).
      const settings = supabaseSettingsFromEnv(env);
      if (!settings) throw new Error("SUPABASE_URL is not set");
      return new SupabasePriceStore(createSdkMaiClient(settings), systemClock);
    },
    fetch: (input, init) => fetch(input, init),
    clock: systemClock,
    log,
    config,
    wanted,
  }),
);
