/** Exit codes and messages that say what to do: 0 ok, 1 failed, 2 usage error. */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { runCli, unknownApiKey } from "./run-cli";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("exit codes and messages", () => {
  it("a bad API key exits 1 and says to set IMAGEN_API_KEY or run config init", async () => {
    const run = await runCli(["backends"], { env: { IMAGEN_API_KEY: unknownApiKey() } });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^imagen: Unauthorized \(HTTP 401\): unknown API key\n {2}→ set IMAGEN_API_KEY or run `imagen config init`\n {2}request id: \S+\n$/,
    );
  });

  it("no API key at all exits 1 before any request, naming the config file", async () => {
    const run = await runCli(["backends"], { env: { IMAGEN_API_KEY: undefined } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^imagen: no API key: set IMAGEN_API_KEY or run `imagen config init` \(config file: \S+config\.json\)\n$/);
  });

  it("an unreachable service exits 1 and names the URL it tried", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(["usage"], { env: { IMAGEN_URL: url } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `imagen: cannot reach the ImaGen service at ${url} (ECONNREFUSED); check IMAGEN_URL or the url in your config (\`imagen config path\`)\n`,
    );
  });

  it("an unknown flag exits 2 with commander's message", async () => {
    const run = await runCli(["generate", "x", "--colour", "red"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: unknown option '--colour'/);
  });

  it("a bad flag value exits 2 without calling the service", async () => {
    const run = await runCli(["generate", "x", "--size", "big"], { env: { IMAGEN_URL: "http://127.0.0.1:1" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: option '--size <WxH>' argument 'big' is invalid\. expected WxH, e.g\. 1024x1024/);
  });

  it("values the CLI can check itself exit 2 without calling the service: a --group key, a key id", async () => {
    const offline = { env: { IMAGEN_URL: "http://127.0.0.1:1" } };
    const group = await runCli(["usage", "--group", "backend,colour"], offline);
    expect(group.code).toBe(2);
    expect(group.stderr).toBe('imagen: --group takes week, day, backend, model, caller, source, ref; not "colour"\n');
    const revoke = await runCli(["keys", "revoke", "not-an-id"], offline);
    expect(revoke.code).toBe(2);
    expect(revoke.stderr).toBe('imagen: a key id is 12 hex characters (see `imagen keys list`), not "not-an-id"\n');
  });

  it("a missing argument and an unknown command exit 2", async () => {
    expect((await runCli(["generate"])).code).toBe(2);
    expect((await runCli(["paint"])).code).toBe(2);
  });

  it("--help and --version exit 0", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: imagen [options] [command]");
    expect((await runCli(["--version"])).stdout).toBe("0.1.0\n");
  });
});
