/** What every command gets: the terminal, the global flags and lazily loaded settings/client. */
import { ApiClient } from "./api.js";
import { loadSettings, type Settings } from "./settings.js";
import type { Terminal } from "./terminal.js";

export interface GlobalFlags {
  readonly config?: string;
  readonly json?: boolean;
}

export interface Context {
  readonly terminal: Terminal;
  readonly json: boolean;
  readonly configFlag: string | undefined;
  settings(): Promise<Settings>;
  client(): Promise<ApiClient>;
}

export function createContext(terminal: Terminal, flags: GlobalFlags): Context {
  let loaded: Promise<Settings> | undefined;
  const settings = () => (loaded ??= loadSettings(terminal.env, flags.config));
  return {
    terminal,
    json: flags.json === true,
    configFlag: flags.config,
    settings,
    client: async () => ApiClient.from(await settings()),
  };
}
