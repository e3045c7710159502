/** Runs the project's wrangler quietly (no telemetry, no network lookups for Request.cf). */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// wrangler's package exports hide bin/, so resolve it from the project root.
const WRANGLER = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "wrangler", "bin", "wrangler.js");

export const QUIET_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** Run to completion; throws with wrangler's output when it fails. */
export function wranglerSync(args: readonly string[]): string {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], { env: QUIET_ENV, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** Run in the foreground, inheriting the terminal; resolves with the exit code. */
export function wranglerInteractive(args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [WRANGLER, ...args], { env: QUIET_ENV, stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

/** Run in the background, in its own process group (so `stop` ends wrangler's workerd too). */
export function wranglerBackground(args: readonly string[], cwd?: string): ChildProcess {
  return spawn(process.execPath, [WRANGLER, ...args], { env: QUIET_ENV, stdio: ["ignore", "pipe", "pipe"], detached: true, ...(cwd && { cwd }) });
}
