/** The Worker's bindings (wrangler.toml) plus secrets, which config names by env var. */
import type { CallerGuard } from "./guard/caller-guard";
import type { GenerationJob } from "./jobs/generation-job";
import type { UsageEvent } from "./usage/event";

export interface Env {
  readonly IMAGES: R2Bucket;
  readonly API_KEYS: KVNamespace;
  /** The embedded ledger and price table (used when Supabase is not configured). */
  readonly LEDGER: D1Database;
  /** Usage events on their way to the ledger. */
  readonly USAGE_EVENTS: Queue<UsageEvent>;
  /** One Durable Object per async generation job (docs/jobs.md). */
  readonly JOBS: DurableObjectNamespace<GenerationJob>;
  /** One Durable Object per caller: spend reservations, idempotency keys, rate windows (src/guard). */
  readonly GUARDS: DurableObjectNamespace<CallerGuard>;
  /** The `[vars.IMAGEN_CONFIG]` table; validated by src/config. */
  readonly IMAGEN_CONFIG: unknown;
  /** Secrets (.dev.vars locally, `wrangler secret put` in production), read by name. */
  readonly [secret: string]: unknown;
}
