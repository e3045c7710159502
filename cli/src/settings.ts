/**
 * Where the CLI's settings come from: the config file (XDG: $XDG_CONFIG_HOME/imagen/config.json,
 * else ~/.config/imagen/config.json, or --config), then IMAGEN_URL / IMAGEN_API_KEY /
 * IMAGEN_PREVIEW, then flags — later wins. The file may hold the API key, so it must be 0600.
 */
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.js";

export const PREVIEW_MODES = ["auto", "on", "off"] as const;
export type PreviewMode = (typeof PREVIEW_MODES)[number];

/** The placeholders `imagen` users already write (UTC date and time), plus {id} and {caller}. */
const DEFAULT_NAMING = "{date}-{time}-{slug}-{seed}-{backend}.{ext}";

export const ConfigFile = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).optional(),
  api_key: z.string().min(1).optional(),
  default_backend: z.string().min(1).optional(),
  output: z
    .strictObject({
      dir: z.string().min(1).default("."),
      naming: z.string().min(1).default(DEFAULT_NAMING),
      sidecar: z.boolean().default(true),
      preview: z.enum(PREVIEW_MODES).default("auto"),
    })
    .prefault({}),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

export interface Settings {
  readonly configPath: string;
  readonly configFound: boolean;
  readonly url: string | undefined;
  readonly apiKey: string | undefined;
  readonly defaultBackend: string | undefined;
  readonly output: ConfigFile["output"];
}

export function configPath(env: NodeJS.ProcessEnv, explicit?: string): string {
  if (explicit) return explicit;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "imagen", "config.json");
}

/** Parses the file (absent = defaults); a malformed file is an error naming the bad field. */
export async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new CliError(`${path} is not a valid imagen config:\n${issues.join("\n")}`);
  }
  return parsed.data;
}

export async function loadSettings(env: NodeJS.ProcessEnv, explicitPath?: string): Promise<Settings> {
  const path = configPath(env, explicitPath);
  const file = await readConfigFile(path);
  const defaults = ConfigFile.parse({});
  return {
    configPath: path,
    configFound: file !== undefined,
    url: env.IMAGEN_URL || file?.url,
    apiKey: env.IMAGEN_API_KEY || file?.api_key,
    defaultBackend: file?.default_backend,
    output: file?.output ?? defaults.output,
  };
}

/** Group or others can read the file: a key in it is not private. */
export async function looseModeOf(path: string): Promise<string | undefined> {
  const mode = (await stat(path)).mode & 0o777;
  return mode & 0o077 ? mode.toString(8).padStart(3, "0") : undefined;
}

/** Creates the file (and its folder) readable by its owner only. */
export async function writeConfigFile(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; an existing one is tightened here.
  await chmod(path, 0o600);
}
