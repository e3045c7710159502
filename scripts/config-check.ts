/**
 * `npm run config:check`: validates the IMAGEN_CONFIG table of wrangler.toml (and of every
 * [env.*] section) offline, with errors that name the bad field.
 */
import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { ConfigError, parseConfig } from "../src/config/load";

export function checkWranglerConfig(path = "wrangler.toml"): { name: string; problems: readonly string[] }[] {
  const toml = parse(readFileSync(path, "utf8")) as {
    vars?: { IMAGEN_CONFIG?: unknown };
    env?: Record<string, { vars?: { IMAGEN_CONFIG?: unknown } }>;
  };
  const targets: [string, unknown][] = [["top level", toml.vars?.IMAGEN_CONFIG]];
  for (const [name, env] of Object.entries(toml.env ?? {})) {
    if (env.vars && "IMAGEN_CONFIG" in env.vars) targets.push([`env.${name}`, env.vars.IMAGEN_CONFIG]);
  }
  return targets.map(([name, raw]) => {
    try {
      const config = parseConfig(raw);
      return { name, problems: [], summary: config };
    } catch (error) {
      if (error instanceof ConfigError) return { name, problems: error.problems };
      throw error;
    }
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2] ?? "wrangler.toml";
  let failed = false;
  for (const { name, problems } of checkWranglerConfig(path)) {
    if (problems.length === 0) {
      console.log(`${path} [${name}]: IMAGEN_CONFIG is valid`);
    } else {
      failed = true;
      console.error(`${path} [${name}]: IMAGEN_CONFIG is invalid:\n  ${problems.join("\n  ")}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}
