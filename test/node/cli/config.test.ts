/** `imagen config init|validate|path`, and where settings come from. */
import { readFile, stat, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchDir, unknownApiKey, worker } from "./run-cli";

describe("imagen config", () => {
  it("path: the XDG location, or --config", async () => {
    const home = await scratchDir();
    expect((await runCli(["config", "path"], { cwd: home })).stdout).toBe(`${join(home, ".config", "imagen", "config.json")}\n`);
    const other = await runCli(["config", "path"], { cwd: home, env: { XDG_CONFIG_HOME: join(home, "xdg") } });
    expect(other.stdout).toBe(`${join(home, "xdg", "imagen", "config.json")}\n`);
    expect((await runCli(["--config", "/tmp/elsewhere.json", "config", "path"])).stdout).toBe("/tmp/elsewhere.json\n");
  });

  it("init writes url and the key from stdin with mode 600; then the CLI works with no IMAGEN_* variables", async () => {
    const home = await scratchDir();
    const clean = { IMAGEN_URL: undefined, IMAGEN_API_KEY: undefined };
    const init = await runCli(["config", "init", "--url", worker().url, "--api-key-stdin"], { cwd: home, env: clean, stdin: `${worker().userKey}\n` });
    expect(init.code).toBe(0);
    const path = join(home, ".config", "imagen", "config.json");
    expect(init.stdout).toBe(`wrote ${path} (mode 600)\n`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({
      url: worker().url,
      api_key: worker().userKey,
      output: { preview: "auto", sidecar: true },
    });

    const validate = await runCli(["config", "validate"], { cwd: home, env: clean });
    expect(validate).toMatchObject({ code: 0, stdout: `ok: ${worker().url} accepts the API key (config: ${path})\n` });

    const again = await runCli(["config", "init"], { cwd: home, env: clean });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`imagen: ${path} already exists; edit it, or run \`imagen config init --force\` to replace it\n`);
  });

  it("the environment wins over the file", async () => {
    const home = await scratchDir();
    const path = join(home, "c.json");
    await writeFile(path, JSON.stringify({ url: worker().url, api_key: unknownApiKey() }), { mode: 0o600 });
    const fromFile = await runCli(["--config", path, "backends"], { env: { IMAGEN_API_KEY: undefined } });
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toContain("unknown API key");
    const fromEnv = await runCli(["--config", path, "backends"]);
    expect(fromEnv.code).toBe(0);
  });

  it("validate fails on a key file others can read, and says how to fix it", async () => {
    const home = await scratchDir();
    const path = join(home, "c.json");
    await writeFile(path, JSON.stringify({ url: worker().url, api_key: worker().userKey }));
    await chmod(path, 0o644);
    const run = await runCli(["--config", path, "config", "validate"], { env: { IMAGEN_URL: undefined, IMAGEN_API_KEY: undefined } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`imagen: ${path} is readable by others (mode 644); run: chmod 600 ${path}\n`);
  });

  it("validate names the bad field of a malformed config", async () => {
    const home = await scratchDir();
    const path = join(home, "c.json");
    await writeFile(path, JSON.stringify({ output: { preview: "sometimes" } }), { mode: 0o600 });
    const run = await runCli(["--config", path, "config", "validate"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^imagen: ${path} is not a valid imagen config:\\n {2}output\\.preview: `));
  });

  it("init --print shows a sample on stdout and writes nothing", async () => {
    const home = await scratchDir();
    const run = await runCli(["config", "init", "--print", "--url", "https://imagen.example.com"], { cwd: home });
    expect(JSON.parse(run.stdout)).toEqual({
      url: "https://imagen.example.com",
      output: { dir: ".", naming: "{date}-{time}-{slug}-{seed}-{backend}.{ext}", sidecar: true, preview: "auto" },
    });
    expect((await runCli(["config", "path", "--json"], { cwd: home })).stdout).toContain('"exists": false');
  });
});
