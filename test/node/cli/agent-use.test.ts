/**
 * `imagen` as agents and people live with it: Ctrl-C during a job, the agent's identity as the
 * request's source, a bare host:port as IMAGEN_URL, and a reused answer shown as reused. Each runs
 * the real binary against the real Worker.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, runJson, scratchDir, startCli, worker, type StartedCli } from "./run-cli";

const TIMEOUT = 90_000;

/** Polls until `probe` has an answer; the test's timeout bounds the wait. */
async function until<T>(_what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function jobStatus(id: string): Promise<string> {
  const response = await fetch(`${worker().url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${worker().userKey}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { status: string }).status;
}

async function cancelDirectly(id: string): Promise<void> {
  await fetch(`${worker().url}/v1/jobs/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${worker().userKey}` } });
}

function printedJobId(cli: StartedCli): string | undefined {
  return /^job (\S+)$/m.exec(cli.stderr())?.[1];
}

/** Forwards everything to the Worker except DELETE, which it holds unanswered: a cancel still on its way. */
async function proxyHoldingCancels(): Promise<{ url: string; held: IncomingMessage[]; server: Server }> {
  const target = new URL(worker().url);
  const held: IncomingMessage[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "DELETE") return void held.push(req);
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held, server };
}

describe("Ctrl-C during an async job", () => {
  const leftRunning: string[] = [];
  afterEach(async () => {
    await Promise.all(leftRunning.splice(0).map(cancelDirectly));
  });

  it("prints the job id at once; the first Ctrl-C cancels the job and says what it cost (exit 130)", { timeout: TIMEOUT }, async () => {
    const cli = await startCli(["generate", "held cat", "--backend", "mock-hold", "--size", "64x64", "--async", "--no-preview"]);
    const id = await until("job id", () => printedJobId(cli));
    leftRunning.push(id);
    expect(await jobStatus(id)).toMatch(/^(queued|running)$/);
    cli.child.kill("SIGINT");
    const run = await cli.done;
    expect(run.code).toBe(130);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`imagen: canceling job ${id} (Ctrl-C again to leave it running)`);
    expect(run.stderr).toContain(`imagen: job ${id} canceled; no image was made, so no cost is estimated; a provider may still bill`);
    expect(await jobStatus(id)).toBe("canceled");
  });

  it("a second Ctrl-C while the cancel is on its way leaves the job running and says how to fetch it", { timeout: TIMEOUT }, async () => {
    const proxy = await proxyHoldingCancels();
    try {
      const cli = await startCli(["generate", "held dog", "--backend", "mock-hold", "--size", "64x64", "--async", "--no-preview"], {
        env: { IMAGEN_URL: proxy.url },
      });
      const id = await until("job id", () => printedJobId(cli));
      leftRunning.push(id);
      cli.child.kill("SIGINT");
      await until("the cancel to be sent", () => (proxy.held.length > 0 ? true : undefined));
      cli.child.kill("SIGINT");
      const run = await cli.done;
      expect(run.code).toBe(130);
      expect(run.stderr).toContain(`fetch it later: imagen jobs ${id} --wait`);
      expect(run.stderr).not.toContain(`job ${id} canceled`);
      expect(await jobStatus(id)).toMatch(/^(queued|running)$/);
    } finally {
      for (const req of proxy.held) req.socket.destroy();
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });
});

interface GenerateJson {
  readonly request_id: string;
  readonly reused_from: string | null;
  readonly cost_usd_estimate: number;
  readonly images: { readonly path: string; readonly sidecar_path: string | null }[];
}

/** The source on the request's usage row, as `imagen usage --raw` shows it once the ledger's queue has written it. */
async function sourceOfRequest(requestId: string): Promise<string | null> {
  const row = await until(`a usage row for ${requestId}`, async () => {
    const usage = await runJson<{ rows: { request_id: string; source: string | null }[] }>(["usage", "--raw"]);
    return usage.rows.find((r) => r.request_id === requestId);
  });
  return row.source;
}

/** A fake `tmux` that answers `show-options … @mai-name` with `name` (or fails with exit 1). */
async function fakeTmux(name: string | null): Promise<Record<string, string>> {
  const dir = await scratchDir();
  const bin = join(dir, "bin");
  await mkdir(bin);
  const script = name === null ? "#!/bin/sh\necho 'no server running' >&2\nexit 1\n" : `#!/bin/sh\ncase "$*" in *@mai-name*) printf '%s\\n' '${name}';; esac\n`;
  await writeFile(join(bin, "tmux"), script);
  await chmod(join(bin, "tmux"), 0o755);
  return { PATH: `${bin}:${process.env.PATH}`, TMUX: "/tmp/tmux-1000/default,1234,0", TMUX_PANE: "%7" };
}

describe("the agent's identity as the request's source", () => {
  const generate = (env: Record<string, string>, extra: string[] = []) =>
    runJson<GenerateJson>(["generate", "who asked", "--backend", "mock", "--size", "64x64", "--no-preview", ...extra], { env });

  it("MAI_FROM_ID becomes the usage row's source", { timeout: TIMEOUT }, async () => {
    const answer = await generate({ MAI_FROM_ID: "agent-7" });
    expect(await sourceOfRequest(answer.request_id)).toBe("agent-7");
  });

  it("else the tmux pane's @mai-name; --source still wins; a failing tmux means the default label", { timeout: TIMEOUT }, async () => {
    const fromPane = await generate(await fakeTmux("Pane Agent"));
    expect(await sourceOfRequest(fromPane.request_id)).toBe("Pane-Agent");
    const explicit = await generate({ ...(await fakeTmux("Pane Agent")), MAI_FROM_ID: "agent-7" }, ["--source", "nightly"]);
    expect(await sourceOfRequest(explicit.request_id)).toBe("nightly");
    const broken = await generate(await fakeTmux(null));
    expect(await sourceOfRequest(broken.request_id)).toBe("cli");
  });
});

describe("IMAGEN_URL without a scheme", () => {
  it.each([["127.0.0.1"], ["localhost"]])("%s:PORT is the local dev server over http", { timeout: TIMEOUT }, async (host) => {
    const port = new URL(worker().url).port;
    const run = await runCli(["backends", "--json"], { env: { IMAGEN_URL: `${host}:${port}` } });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty("backends");
  });

  it("a non-http scheme is a usage error in one line (exit 2)", { timeout: TIMEOUT }, async () => {
    const run = await runCli(["backends"], { env: { IMAGEN_URL: "ftp://127.0.0.1:1" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("imagen: IMAGEN_URL must be an http or https URL, not ftp: ftp://127.0.0.1:1\n");
  });
});

describe("a reused answer", () => {
  it("is shown as reused, at $0, in the text, the JSON and the sidecar", { timeout: TIMEOUT }, async () => {
    const dir = await scratchDir();
    const args = ["generate", `reuse me ${crypto.randomUUID()}`, "--backend", "mock", "--seed", "4242", "--size", "64x64", "--no-preview"];
    const first = await runJson<GenerateJson>(args, { cwd: dir });
    expect(first.reused_from).toBeNull();
    const second = await runJson<GenerateJson>(args, { cwd: dir });
    expect(second.reused_from).toBe(first.request_id);
    expect(second.cost_usd_estimate).toBe(0);
    const sidecar = JSON.parse(await readFile(join(dir, second.images[0]!.sidecar_path!), "utf8")) as { reused_from: string | null };
    expect(sidecar.reused_from).toBe(first.request_id);
    const text = await runCli(args, { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`backend mock \\(mock-png\\)  seed 4242  reused ${first.request_id}, \\$0\\n$`));
  });
});
