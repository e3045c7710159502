// Test-only bindings added by vitest.config.ts.
declare namespace Cloudflare {
  interface Env {
    readonly TEST_D1_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
