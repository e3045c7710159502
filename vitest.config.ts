import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { randomBytes } from "node:crypto";
import { defineConfig } from "vitest/config";

/**
 * Timeouts sized for a slow, shared 2-core machine: several workerd isolates, PGlite and the fake
 * servers compete for the CPU, so a step that takes 50 ms alone can take seconds. A timeout here
 * is a hang detector, never a speed check (speed belongs in `npm run bench`).
 */
const SLOW_MACHINE = { testTimeout: 60_000, hookTimeout: 120_000 } as const;

export default defineConfig({
  test: {
    // Structured logs are noise when a test passes and evidence when it fails.
    silent: "passed-only",
    projects: [
      {
        // Pure logic (pricing math, naming, config parsing, retry delays, …) in plain Node: no
        // bindings, no fake servers, no workerd to start, so it answers in seconds while editing.
        // Smaller timeouts than the other tiers, still generous for a busy 2-core machine.
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Pure modules keep no state between files (the one console spy is restored after each
          // test), so the files share one module graph instead of importing zod and src per file.
          isolate: false,
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Worker code runs inside workerd with real local bindings (R2, KV, D1, Queues, DOs).
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            // The shipped entry, with a GenerationJob whose usage sink, clock and env a test may
            // set (test/entry/); production has no such seam.
            main: "./test/entry/worker.ts",
            // D1 migrations for applyD1Migrations() in tests (the ledger's D1 tables, docs/ledger.md).
            miniflare: {
              bindings: {
                TEST_D1_MIGRATIONS: await readD1Migrations("migrations/d1"),
                // Signs image URLs (README "Signed image URLs"); fresh every run, never stored.
                IMAGEN_URL_SECRET: randomBytes(32).toString("base64url"),
                // Queue consumers and job alarms run after the test that caused them, sometimes after
                // its file has ended; an info line then still travelling to vitest fails the run
                // ("Closing rpc while onUserConsoleLog was pending"). Tests read captured loggers,
                // not the console, so the Worker's own console keeps only warnings and errors.
                LOG_LEVEL: "warn",
              },
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
          ...SLOW_MACHINE,
          globalSetup: ["./test/global-setup.ts"],
          setupFiles: ["./test/setup/d1-migrations.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**", "test/unit/**"],
          // A fake Supabase project is a fresh PGlite with every migration: seconds on a busy machine.
          hookTimeout: 60_000,
        },
      },
      {
        // Tooling that lives outside workerd: Postgres (PGlite) + Supabase CLI, Deno, config checks.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          exclude: ["test/node/cli/**"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The `imagen` CLI as a user runs it: the compiled binary in a child process against the
        // real Worker (started once per run by the global setup, on an ephemeral loopback port).
        test: {
          name: "cli",
          include: ["test/node/cli/**/*.test.ts"],
          globalSetup: ["./test/node/cli/global-setup.ts"],
          environment: "node",
          // Starting Postgres and the Supabase CLI is slower still.
          testTimeout: 2 * SLOW_MACHINE.testTimeout,
          hookTimeout: 2 * SLOW_MACHINE.hookTimeout,
        },
      },
    ],
  },
});
