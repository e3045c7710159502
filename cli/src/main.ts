/**
 * The `imagen` command: the HTTPS API of ImaGen Edge from a terminal. Exit codes: 0 ok,
 * 1 failed (the service refused, could not be reached, …), 2 usage error (bad flag or value).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { backendsCommand, budgetCommand, imagesCommand } from "./commands/reports.js";
import { configInitCommand, configPathCommand, configValidateCommand } from "./commands/config.js";
import { generateCommand, type GenerateFlags } from "./commands/generate.js";
import { jobsCommand } from "./commands/jobs.js";
import { createKey, listKeys, revokeKey } from "./commands/keys.js";
import { USAGE_FORMATS, usageCommand, type UsageFlags } from "./commands/usage.js";
import { createContext, type Context, type GlobalFlags } from "./context.js";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./errors.js";
import { processTerminal, type Terminal } from "./terminal.js";

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

function size(value: string): string {
  if (!/^\d+x\d+$/.test(value)) throw new InvalidArgumentError("expected WxH, e.g. 1024x1024");
  return value;
}

/** A repeatable option's values, in the order given. */
function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function buildProgram(terminal: Terminal): Command {
  const program = new Command("imagen")
    .description("Generate images through an ImaGen Edge service, and inspect its backends, usage, jobs and keys.")
    .version("0.1.0")
    .option("--config <path>", "config file (default: $XDG_CONFIG_HOME/imagen/config.json)")
    .option("--json", "print JSON for scripts instead of text")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: terminal.out, writeErr: terminal.err });

  const ctxOf = (command: Command): Context => createContext(terminal, command.optsWithGlobals<GlobalFlags>());

  program
    .command("generate")
    .description("generate image(s), download them and write their sidecars")
    .argument("<prompt>", "what to draw")
    .option("--backend <name>", "backend instance (default: the config's default_backend, else the service's)")
    .option("--size <WxH>", "image size, e.g. 1536x768 (an edit: default the first --ref's size)", size)
    .option("--seed <n>", "seed (0 or absent: random, reported back)", integer(0, Number.MAX_SAFE_INTEGER))
    .option("--steps <n>", "sampler steps (default: the backend's)", integer(1, 150))
    .option("--style <name>", "a style from the service config")
    .option("--negative <text>", "negative prompt (ignored by some backends)")
    .option("--n <count>", "number of images, 1..4", integer(1, 4))
    .option("--ref <image>", "edit this image: a local PNG/JPEG/WebP file, or a stored image's key (repeatable, in order)", collect)
    .option("--mask <image>", "with --ref: a PNG whose transparent pixels mark where to edit (the first --ref's size)")
    .option("--output <path>", "write here instead of the naming template (n > 1: path.png, path-2.png, …)")
    .option("--no-sidecar", "skip the JSON sidecar even if the config enables it")
    .option("--source <label>", "attribution label for usage reports (default: $MAI_FROM_ID, else the tmux pane's @mai-name, else cli)")
    .option("--async", "run as an async job and show its progress (default when stderr is a terminal)")
    .option("--preview", "open a tmux preview window via tmux-img")
    .option("--no-preview", "never open a preview window (batch / CI)")
    .action(async (prompt: string, flags: GenerateFlags, command: Command) => {
      await generateCommand(ctxOf(command), prompt, flags);
    });

  program
    .command("backends")
    .description("list the service's backend instances and their status")
    .action(async (_flags: object, command: Command) => backendsCommand(ctxOf(command)));

  program
    .command("usage")
    .description("spend and calls: grouped by week, backend, model and caller with totals (or --raw rows)")
    .option("--since <date>", "from this UTC date, inclusive (YYYY-MM-DD)")
    .option("--until <date>", "before this UTC date (YYYY-MM-DD)")
    .option("--raw", "one row per attempt, newest first, then the totals")
    .option("--group <keys>", "comma-separated: week, day, backend, model, caller, source, ref (default: week,backend,model,caller)")
    .addOption(new Option("--format <format>", "output format").choices(USAGE_FORMATS).default("table"))
    .option("--caller <name>", "admins: one caller's usage")
    .action(async (flags: UsageFlags, command: Command) => usageCommand(ctxOf(command), flags));

  program
    .command("jobs")
    .description("show an async job (its id is printed by `imagen generate --async --json`)")
    .argument("<id>", "job id")
    .option("--wait", "follow the job until it finishes, with a progress line")
    .option("--cancel", "cancel the job")
    .action(async (id: string, flags: { wait?: boolean; cancel?: boolean }, command: Command) => jobsCommand(ctxOf(command), id, flags));

  program
    .command("images")
    .description("your recent images, newest first")
    .option("--limit <n>", "how many", integer(1, 100))
    .option("--cursor <cursor>", "continue from a previous listing")
    .action(async (flags: { limit?: number; cursor?: string }, command: Command) => imagesCommand(ctxOf(command), flags));

  program
    .command("budget")
    .description("caps, spend, reservations and what remains, per period")
    .action(async (_flags: object, command: Command) => budgetCommand(ctxOf(command)));

  const keys = program.command("keys").description("API keys (admin)");
  keys
    .command("list")
    .description("list keys (never their secrets)")
    .action(async (_flags: object, command: Command) => listKeys(ctxOf(command)));
  keys
    .command("create")
    .description("create a key; it is printed once")
    .argument("<caller>", "who uses it (lowercase letters, digits, . _ / -)")
    .addOption(new Option("--role <role>", "role").choices(["user", "admin"]).default("user"))
    .option("--label <text>", "a note")
    .action(async (caller: string, flags: { role: string; label?: string }, command: Command) => createKey(ctxOf(command), caller, flags));
  keys
    .command("revoke")
    .description("revoke a key by its id")
    .argument("<id>", "key id (12 hex characters, from `imagen keys list`)")
    .action(async (id: string, _flags: object, command: Command) => revokeKey(ctxOf(command), id));

  const config = program.command("config").description("the CLI's own configuration");
  config
    .command("init")
    .description("write the config file (mode 600)")
    .option("--url <url>", "service URL (default: $IMAGEN_URL, else the local dev server)")
    .option("--api-key-stdin", "read the API key from stdin (default: $IMAGEN_API_KEY)")
    .option("--force", "replace an existing config file")
    .option("--print", "print a sample config on stdout instead of writing it")
    .action(async (flags: object, command: Command) => configInitCommand(ctxOf(command), flags));
  config
    .command("validate")
    .description("check the config file, its permissions, and that the service accepts the key")
    .action(async (_flags: object, command: Command) => configValidateCommand(ctxOf(command)));
  config
    .command("path")
    .description("print the config file's path")
    .action(async (_flags: object, command: Command) => configPathCommand(ctxOf(command)));

  return program;
}

/** Runs one command line; resolves with the exit code. */
export async function main(argv: readonly string[], terminal: Terminal = processTerminal()): Promise<number> {
  const program = buildProgram(terminal);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end through here too, with exit code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      terminal.err(`imagen: ${error.message}\n`);
      return error.exitCode;
    }
    terminal.err(`imagen: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILED;
  }
}

process.exitCode = await main(process.argv.slice(2));
