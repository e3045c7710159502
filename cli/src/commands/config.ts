/**
 * `imagen config init|validate|path`. init writes the config file (mode 0600: it may hold the
 * API key, taken from IMAGEN_API_KEY or stdin, never from a flag that would land in shell history);
 * validate parses it, checks its permissions and asks the service whether the key is accepted.
 */
import { normalizeServiceUrl } from "../service-url.js";
import { text } from "node:stream/consumers";
import { ApiClient } from "../api.js";
import type { Context } from "../context.js";
import { CliError, UsageError } from "../errors.js";
import { ConfigFile, configPath, loadSettings, looseModeOf, readConfigFile, writeConfigFile } from "../settings.js";
import { printJson } from "../terminal.js";

export interface InitFlags {
  readonly url?: string;
  readonly apiKeyStdin?: boolean;
  readonly force?: boolean;
  readonly print?: boolean;
}

const SAMPLE_URL = "http://127.0.0.1:8787";

export async function configPathCommand(ctx: Context): Promise<void> {
  const path = configPath(ctx.terminal.env, ctx.configFlag);
  const exists = (await readConfigFile(path)) !== undefined;
  if (ctx.json) return printJson(ctx.terminal, { path, exists });
  ctx.terminal.out(`${path}\n`);
}

export async function configInitCommand(ctx: Context, flags: InitFlags): Promise<void> {
  const env = ctx.terminal.env;
  const url = normalizeServiceUrl(flags.url ?? env.IMAGEN_URL ?? SAMPLE_URL, flags.url !== undefined ? "--url" : "IMAGEN_URL");
  if (flags.print) {
    return printJson(ctx.terminal, ConfigFile.parse({ url }));
  }
  const apiKey = flags.apiKeyStdin ? (await text(process.stdin)).trim() : env.IMAGEN_API_KEY;
  if (flags.apiKeyStdin && !apiKey) throw new UsageError("--api-key-stdin: nothing arrived on stdin");
  const path = configPath(env, ctx.configFlag);
  if (!flags.force && (await readConfigFile(path).catch(() => "unreadable")) !== undefined) {
    throw new CliError(`${path} already exists; edit it, or run \`imagen config init --force\` to replace it`);
  }
  const config = ConfigFile.parse({ url, ...(apiKey && { api_key: apiKey }) });
  await writeConfigFile(path, config);
  if (ctx.json) return printJson(ctx.terminal, { path, url, api_key: apiKey ? "stored" : "absent" });
  ctx.terminal.out(`wrote ${path} (mode 600)\n`);
  if (!apiKey) ctx.terminal.err("no API key stored: pipe one in with `imagen config init --force --api-key-stdin`, or set IMAGEN_API_KEY\n");
}

export async function configValidateCommand(ctx: Context): Promise<void> {
  const settings = await loadSettings(ctx.terminal.env, ctx.configFlag);
  const problems: string[] = [];
  if (settings.configFound) {
    const loose = await looseModeOf(settings.configPath);
    if (loose) problems.push(`${settings.configPath} is readable by others (mode ${loose}); run: chmod 600 ${settings.configPath}`);
  }
  const client = ApiClient.from(settings);
  await client.send("GET", "/v1/usage", { query: { raw: 1, limit: 1 } });
  if (problems.length > 0) throw new CliError(problems.join("\n"));
  const report = { config: settings.configPath, config_found: settings.configFound, url: client.baseUrl, key_accepted: true };
  if (ctx.json) return printJson(ctx.terminal, report);
  ctx.terminal.out(`ok: ${client.baseUrl} accepts the API key (config: ${settings.configFound ? settings.configPath : "none, environment only"})\n`);
}
