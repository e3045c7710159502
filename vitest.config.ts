import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Structured logs are noise when a test passes and evidence when it fails.
    silent: "passed-only",
    projects: [
      {
        // Worker code runs inside workerd with real local bindings (R2, KV, D1, Queues, DOs).
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            // D1 migrations for applyD1Migrations() in tests (the ledger's D1 tables, docs/ledger.md).
            miniflare: {
              bindings: { TEST_D1_MIGRATIONS: await readD1Migrations("migrations/d1") },
              // Deliver usage batches at once in tests (production batches for 5 s).
              queueConsumers: {
                "imagen-usage": { maxBatchTimeout: 0, maxRetries: 8, deadLetterQueue: "imagen-usage-dlq" },
                "imagen-usage-dlq": { maxBatchTimeout: 0, maxRetries: 3 },
              },
            },
          })),
        ],
        test: {
          name: "workers",
          globalSetup: ["./test/global-setup.ts"],
          setupFiles: ["./test/setup/d1-migrations.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**"],
          // A fake Supabase project is a fresh PGlite with every migration: seconds on a busy machine.
          hookTimeout: 60_000,
        },
      },
      {
        // Tooling that lives outside workerd: Postgres (PGlite) + Supabase CLI, Deno, config checks.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
