/**
 * `npm run dev`: the service on http://127.0.0.1:8787 with local R2, KV, D1, Queues and Durable
 * Objects (state in .wrangler/state), the mock backend, and the documented local API key.
 * No account and no network needed.
 *
 *   npm run dev -- [--port N] [--inspector-port N]      (or PORT=N INSPECTOR_PORT=N npm run dev)
 *
 * Two instances side by side need both ports apart: wrangler's inspector otherwise takes 9229 in each.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { LOCAL_STATE, seedLocalKey } from "./keys";
import { wranglerInteractive, wranglerSync } from "./wrangler";

/** Documented in the README; only ever stored in the local state directory. */
export const LOCAL_DEV_KEY = "imk_local_dev_owner";

function portOption(name: string, value: string | undefined, fallback: number): number {
  const port = Number(value ?? fallback);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}: a TCP port (1-65535), got ${JSON.stringify(value)}`);
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string" }, "inspector-port": { type: "string" } } });
  const port = portOption("--port / PORT", values.port ?? process.env.PORT, 8787);
  const inspectorPort = portOption("--inspector-port / INSPECTOR_PORT", values["inspector-port"] ?? process.env.INSPECTOR_PORT, 9229);

  console.log("applying the D1 ledger migrations to the local state …");
  wranglerSync(["d1", "migrations", "apply", "imagen-ledger", "--local", "--persist-to", LOCAL_STATE]);
  console.log("seeding the local API key (caller 'owner', admin) …");
  await seedLocalKey(LOCAL_DEV_KEY, "owner", "admin", "local development");
  ensureUrlSecret();
  process.exitCode = await wranglerInteractive([
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    LOCAL_STATE,
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
