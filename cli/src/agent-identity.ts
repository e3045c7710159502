/**
 * Who is at the keyboard when an agent runs `imagen`: $MAI_FROM_ID, else the tmux pane's
 * `@mai-name` option. It becomes the request's `source` — a label in the ledger and in
 * `imagen usage --group source`, never a credential: the API key alone decides what is allowed.
 * Any failure to find it means no identity, never an error.
 */
import { execFileSync } from "node:child_process";

/** The API's `source` pattern: letters, digits, '.', '_', ':' or '-', at most 64. */
function asSourceLabel(raw: string): string | undefined {
  const label = raw
    .trim()
    .replace(/[^A-Za-z0-9._:-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return label === "" ? undefined : label;
}

function tmuxPaneName(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.TMUX || !env.TMUX_PANE) return undefined;
  try {
    return execFileSync("tmux", ["show-options", "-pqv", "-t", env.TMUX_PANE, "@mai-name"], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5_000,
    });
  } catch {
    return undefined;
  }
}

export function agentIdentity(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.MAI_FROM_ID ? asSourceLabel(env.MAI_FROM_ID) : undefined;
  if (fromEnv) return fromEnv;
  const fromTmux = tmuxPaneName(env);
  return fromTmux ? asSourceLabel(fromTmux) : undefined;
}
