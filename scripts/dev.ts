/**
 * `npm run dev`: the service on http://127.0.0.1:8787 with local R2, KV, D1, Queues and Durable
 * Objects (state in .wrangler/state), the mock backend, and the documented local API key.
 * No account and no network needed.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { putKeyRecord, recordFor } from "./keys";
import { wranglerInteractive, wranglerSync } from "./wrangler";

/** Documented in the README; only ever stored in the local state directory. */
export const LOCAL_DEV_KEY = "imk_local_dev_owner";

async function main(): Promise<void> {
  console.log("applying the D1 ledger migrations to the local state …");
  wranglerSync(["d1", "migrations", "apply", "imagen-ledger", "--local", "--persist-to", ".wrangler/state"]);
  console.log("seeding the local API key (caller 'owner', admin) …");
  putKeyRecord(recordFor(LOCAL_DEV_KEY, "owner", "admin", "local development"), false);
  ensureUrlSecret();
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

/** Signed image URLs need a secret; locally a random one in the git-ignored .dev.vars will do. */
function ensureUrlSecret(file = ".dev.vars", name = "IMAGEN_URL_SECRET"): void {
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (new RegExp(`^${name}=\\S`, "m").test(current)) return;
  console.log(`setting a random ${name} in ${file} (signs image URLs) …`);
  const line = `${name}=${randomBytes(32).toString("base64url")}`;
  const empty = new RegExp(`^${name}=[ \\t]*$`, "m");
  const next = empty.test(current) ? current.replace(empty, line) : `${current}${current === "" || current.endsWith("\n") ? "" : "\n"}${line}\n`;
  writeFileSync(file, next);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
