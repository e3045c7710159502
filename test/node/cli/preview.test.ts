/**
 * The tmux preview, resolved as `imagen` users expect: config `output.preview` → IMAGEN_PREVIEW →
 * --preview/--no-preview (later wins); `auto` = stdout is a terminal and $TMUX is set; `on`
 * outside tmux warns; a failing preview never fails the command. Fake `tmux` and `tmux-img`
 * on PATH record how they were called.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "./run-cli";

interface Fakes {
  readonly dir: string;
  readonly env: Record<string, string>;
  tmuxCalls(): Promise<string[]>;
  tmuxImgCalls(): Promise<string[]>;
}

/** A fake tmux that logs its arguments and runs the window's command, and a fake tmux-img. */
async function fakeTmux({ tmuxExit = 0 } = {}): Promise<Fakes> {
  const dir = await scratchDir();
  const bin = join(dir, "bin");
  await mkdir(bin);
  await writeFile(
    join(bin, "tmux"),
    `#!/bin/sh
printf '%s\\n' "$*" >> "${dir}/tmux.log"
[ ${tmuxExit} -ne 0 ] && { echo "no server running" >&2; exit ${tmuxExit}; }
shift
while [ $# -gt 0 ]; do case "$1" in -d) shift;; -n) shift 2;; *) break;; esac; done
exec "$@"
`,
  );
  await writeFile(join(bin, "tmux-img"), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${dir}/tmux-img.log"\n`);
  await Promise.all([chmod(join(bin, "tmux"), 0o755), chmod(join(bin, "tmux-img"), 0o755)]);
  const lines = async (name: string) => {
    try {
      return (await readFile(join(dir, name), "utf8")).trimEnd().split("\n");
    } catch {
      return [];
    }
  };
  return {
    dir,
    env: { PATH: `${bin}:${process.env.PATH}` },
    tmuxCalls: () => lines("tmux.log"),
    tmuxImgCalls: () => lines("tmux-img.log"),
  };
}

const IN_TMUX = { TMUX: "/tmp/tmux-1000/default,1234,0" };
const ON_A_TERMINAL = { IMAGEN_TTY: "1" };

async function generate(fakes: Fakes, env: Record<string, string | undefined>, extra: string[] = [], configPreview?: string) {
  const args = ["generate", "Preview Me", "--backend", "mock", "--seed", "3", "--size", "64x64", "--output", join(fakes.dir, "p.png"), "--no-sidecar"];
  if (configPreview) {
    const config = join(fakes.dir, "config.json");
    await writeFile(config, JSON.stringify({ output: { preview: configPreview } }), { mode: 0o600 });
    args.unshift("--config", config);
  }
  return runCli([...args, ...extra], { env: { ...fakes.env, ...env } });
}

describe("tmux preview", () => {
  it("auto: opens a background window img:<slug> running tmux-img --hold <path> when stdout is a terminal inside tmux", async () => {
    const fakes = await fakeTmux();
    const run = await generate(fakes, { ...IN_TMUX, ...ON_A_TERMINAL }, ["--json"]);
    expect(run.code).toBe(0);
    expect(await fakes.tmuxCalls()).toEqual([`new-window -d -n img:preview-me tmux-img --hold ${join(fakes.dir, "p.png")}`]);
    expect(await fakes.tmuxImgCalls()).toEqual([`--hold ${join(fakes.dir, "p.png")}`]);
  });

  it("auto: no preview when stdout is not a terminal, even inside tmux", async () => {
    const fakes = await fakeTmux();
    const run = await generate(fakes, { ...IN_TMUX, IMAGEN_TTY: "0" });
    expect(run.code).toBe(0);
    expect(await fakes.tmuxCalls()).toEqual([]);
  });

  it("auto: no preview on a terminal outside tmux", async () => {
    const fakes = await fakeTmux();
    const run = await generate(fakes, { ...ON_A_TERMINAL, TMUX: undefined }, ["--json"]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain("preview");
    expect(await fakes.tmuxCalls()).toEqual([]);
  });

  it("IMAGEN_PREVIEW overrides the config, and the flag overrides IMAGEN_PREVIEW", async () => {
    const fakes = await fakeTmux();
    await generate(fakes, { ...IN_TMUX, IMAGEN_TTY: "0", IMAGEN_PREVIEW: "on" }, [], "off");
    expect(await fakes.tmuxCalls()).toHaveLength(1);
    await generate(fakes, { ...IN_TMUX, IMAGEN_TTY: "0", IMAGEN_PREVIEW: "on" }, ["--no-preview"], "off");
    expect(await fakes.tmuxCalls()).toHaveLength(1);
    await generate(fakes, { ...IN_TMUX, ...ON_A_TERMINAL, IMAGEN_PREVIEW: "off" }, ["--preview", "--json"], "on");
    expect(await fakes.tmuxCalls()).toHaveLength(2);
  });

  it("config `off` holds when neither the environment nor a flag says otherwise", async () => {
    const fakes = await fakeTmux();
    const run = await generate(fakes, { ...IN_TMUX, ...ON_A_TERMINAL }, ["--json"], "off");
    expect(run.code).toBe(0);
    expect(await fakes.tmuxCalls()).toEqual([]);
  });

  it("`on` outside tmux warns and still succeeds", async () => {
    const fakes = await fakeTmux();
    const run = await generate(fakes, { TMUX: undefined }, ["--preview"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("warning: preview skipped: not inside a tmux session ($TMUX is not set)\n");
    expect(await fakes.tmuxCalls()).toEqual([]);
    expect(run.stdout).toContain(join(fakes.dir, "p.png"));
  });

  it("a failing tmux is a warning, not a failure: the image is already written", async () => {
    const fakes = await fakeTmux({ tmuxExit: 1 });
    const run = await generate(fakes, IN_TMUX, ["--preview"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("warning: preview failed: tmux exited with 1: no server running\n");
    expect((await readFile(join(fakes.dir, "p.png"))).length).toBeGreaterThan(0);
  });

  it("an unknown IMAGEN_PREVIEW value is named and ignored", async () => {
    const fakes = await fakeTmux();
    const run = await generate(fakes, { ...IN_TMUX, IMAGEN_TTY: "0", IMAGEN_PREVIEW: "sometimes" });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("warning: ignoring IMAGEN_PREVIEW=sometimes: use auto, on or off\n");
    expect(await fakes.tmuxCalls()).toEqual([]);
  });
});
