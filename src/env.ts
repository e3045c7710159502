/**
 * The Worker's environment. The bindings are generated from wrangler.toml by `npm run types`
 * (src/worker-configuration.d.ts, `WranglerEnv`; `npm test` fails when it is out of date); this
 * adds what a config file cannot say.
 */
import type { UsageEvent } from "./usage/event";

export interface Env extends Omit<WranglerEnv, "USAGE_EVENTS"> {
  /** Usage events on their way to the ledger. */
  readonly USAGE_EVENTS: Queue<UsageEvent>;
  /** `debug` | `info` (the default) | `warn` | `error`: console lines below it are dropped. */
  readonly LOG_LEVEL?: string;
  /** Secrets (.dev.vars locally, `wrangler secret put` in production), read by the name config gives. */
  readonly [secret: string]: unknown;
}
