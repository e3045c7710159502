/**
 * The CLI stands alone: `npm pack` in cli/ gives a package that installs on Node by itself (its
 * runtime dependencies from the registry, the shared naming and table code built in) and runs.
 * The pack skips `prepack`: the global setup has just built cli/dist, and rebuilding it here would
 * rewrite files the other CLI test files are running at the same moment.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { scratchDir } from "./run-cli";

const run = promisify(execFile);
const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "cli");
// The pinned Node the npm scripts run, first on PATH, so `#!/usr/bin/env node` in the bin finds it too.
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };

describe("the imagen-cli package", () => {
  it("packs, installs into an empty prefix, and answers --version and --help", { timeout: 600_000 }, async () => {
    const packDir = await scratchDir();
    await run("npm", ["pack", "--ignore-scripts", "--pack-destination", packDir, "--loglevel=error"], { cwd: CLI_DIR, env });
    const [tarball] = await readdir(packDir);
    expect(tarball).toMatch(/^imagen-cli-\d+\.\d+\.\d+\.tgz$/);

    const prefix = await scratchDir();
    await run("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", join(packDir, tarball!)], { cwd: prefix, env });
    expect((await readdir(join(prefix, "node_modules"))).filter((name) => !name.startsWith(".")).sort()).toEqual(["commander", "imagen-cli", "zod"]);

    const bin = join(prefix, "node_modules", ".bin", "imagen");
    const version = await run(bin, ["--version"], { cwd: prefix, env });
    expect(version.stdout).toBe("0.1.0\n");
    const help = await run(bin, ["--help"], { cwd: prefix, env });
    expect(help.stdout).toContain("Usage: imagen [options] [command]");
    expect(help.stdout).toContain("generate [options] <prompt>");
  });
});
