/**
 * `npm run keys` as the operator runs it: real processes against a local state directory, one
 * local runtime (holding only the key namespace) per command. What one command writes, the next
 * one reads, and the terminal shows only what the command has to say.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url).href);
const state = mkdtempSync(join(tmpdir(), "imagen-keys-"));

/** `npm run keys -- …` (the same tsx entry point), with Node 22 first on PATH as npm scripts have it. */
async function keys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, PATH: `${root}node_modules/node/bin:${root}node_modules/.bin:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false" };
  try {
    const { stdout, stderr } = await run("tsx", ["scripts/keys.ts", ...args, "--persist-to", state], { cwd: root, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

afterAll(() => rmSync(state, { recursive: true, force: true }));

describe("npm run keys (local state)", () => {
  // Three real processes, each starting a local runtime: minutes on a busy shared machine.
  it("creates a key shown once, revokes it by id, and lists it as revoked", { timeout: 600_000 }, async () => {
    const created = await keys("create", "otto/head", "--role", "admin", "--label", "agents");
    expect(created).toMatchObject({ code: 0, stderr: "" });
    const [, id, key] = /created key ([0-9a-f]{12}) for otto\/head \(admin\); it is shown only now:\n(imk_[a-z2-7]{32})/.exec(created.stdout) ?? [];
    expect(id).toBeDefined();
    expect(key).toBeDefined();

    const revoked = await keys("revoke", id!);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${id} (otto/head)\n`, stderr: "" });

    const listed = await keys("list");
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    const [line] = listed.stdout.trim().split("\n");
    expect(line!.split("\t")).toEqual([
      id,
      "otto/head",
      "admin",
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^revoked \d{4}-/),
      "agents",
    ]);
    // The plaintext key is never stored or printed again.
    expect(listed.stdout).not.toContain(key);
  });

  it("names an unknown id and fails", { timeout: 300_000 }, async () => {
    const result = await keys("revoke", "000000000000");
    expect(result.code).toBe(1);
    // The failure alone: no warnings about bindings (Durable Objects, queues) the command never opens.
    expect(result.stderr).toBe("no key with id 000000000000\n");
  });
});
