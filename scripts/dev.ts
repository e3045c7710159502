/**
 * `npm run dev`: the service on http://127.0.0.1:8787 with local R2, KV, D1, Queues and Durable
 * Objects (state in .wrangler/state), the mock backend, and the documented local API key.
 * No account and no network needed.
 */
import { putKeyRecord, recordFor } from "./keys";
import { wranglerInteractive, wranglerSync } from "./wrangler";

/** Documented in the README; only ever stored in the local state directory. */
export const LOCAL_DEV_KEY = "imk_local_dev_owner";

async function main(): Promise<void> {
  console.log("applying the D1 ledger migrations to the local state …");
  wranglerSync(["d1", "migrations", "apply", "imagen-ledger", "--local", "--persist-to", ".wrangler/state"]);
  console.log("seeding the local API key (caller 'owner', admin) …");
  putKeyRecord(recordFor(LOCAL_DEV_KEY, "owner", "admin", "local development"), false);
  const port = process.env.PORT ?? "8787";
  process.exitCode = await wranglerInteractive([
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    port,
    "--persist-to",
    ".wrangler/state",
    "--show-interactive-dev-session=false",
  ]);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
