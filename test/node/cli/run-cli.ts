/**
 * Runs the real `imagen` binary (cli/bin/imagen.js, as `npm install -g .` links it) in a child
 * process, with a private HOME/XDG config folder, no inherited IMAGEN_* or TMUX variables, and
 * the test worker's URL and user key unless a test says otherwise.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "cli", "bin", "imagen.js");

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Variables on top of the clean base; `undefined` removes one (e.g. IMAGEN_API_KEY). */
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly stdin?: string;
}

export function worker() {
  return inject("imagenWorker");
}

/** A well-formed key the service never issued, made at run time. */
export function unknownApiKey(): string {
  return `imk_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** A fresh folder for a test's files (config, downloads). */
export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "imagen-cli-test-"));
}

/** A running `imagen`: its process (to signal it), what it printed so far, and how it ended. */
export interface StartedCli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  readonly done: Promise<CliRun>;
}

export async function startCli(args: readonly string[], options: CliOptions = {}): Promise<StartedCli> {
  const home = options.cwd ?? (await scratchDir());
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    IMAGEN_URL: worker().url,
    IMAGEN_API_KEY: worker().userKey,
    NO_COLOR: "1",
  };
  const env = Object.fromEntries(Object.entries({ ...base, ...options.env }).filter((e): e is [string, string] => e[1] !== undefined));
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? home, env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.stdin ?? "");
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return (await startCli(args, options)).done;
}

/** Runs a command that must succeed and prints JSON; returns the parsed document. */
export async function runJson<T = Record<string, unknown>>(args: readonly string[], options: CliOptions = {}): Promise<T> {
  const run = await runCli([...args, "--json"], options);
  if (run.code !== 0) throw new Error(`imagen ${args.join(" ")} exited ${run.code}:\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
