/** The Worker's bindings (wrangler.toml) plus secrets, which instances name by env var. */
export interface Env {
  readonly IMAGES: R2Bucket;
  readonly API_KEYS: KVNamespace;
  /** The `[vars.IMAGEN_CONFIG]` table; validated by src/config. */
  readonly IMAGEN_CONFIG: unknown;
  /** Secrets (.dev.vars locally, `wrangler secret put` in production), read by name. */
  readonly [secret: string]: unknown;
}
