/**
 * What the benchmarks share: servers started in a process group of their own (so stopping one
 * also ends the workerd or Node process it spawned), a wait for them to answer, and a bounded
 * autocannon run that reports latency and throughput.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import autocannon from "autocannon";
import { parse } from "smol-toml";
import { seedLocalKey } from "../scripts/keys";
import { QUIET_ENV, wranglerSync } from "../scripts/wrangler";

export interface Result {
  readonly target: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  /** The 1-minute load average just before this run (other processes share the cores). */
  readonly loadBefore: number;
}

export interface Server {
  readonly name: string;
  stop(): void;
}

/** Starts `command args` detached (its own process group); `stop` signals the whole group. */
export function startServer(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Server {
  const child: ChildProcess = spawn(command, args, { env, stdio: ["ignore", "ignore", "inherit"], detached: true, ...(cwd && { cwd }) });
  let stopped = false;
  return {
    name,
    stop() {
      if (stopped || child.pid === undefined) return;
      stopped = true;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // The group is already gone.
      }
    },
  };
}

/** The local state the Worker needs: an admin API key, and the ledger's tables (else its queue consumer fails every batch). */
export async function prepareLocalState(apiKey: string, persistTo = IMAGEN_EDGE.persistTo): Promise<void> {
  await seedLocalKey(apiKey, "bench", "admin", "benchmark", persistTo);
  wranglerSync(["d1", "migrations", "apply", "imagen-ledger", "--local", "--persist-to", persistTo]);
}

/** A Worker for `wrangler dev`: its config file and where its local state lives. */
export interface WorkerProject {
  readonly name: string;
  readonly config: string;
  readonly persistTo: string;
  /** Another checkout to run it from (its own sources, node_modules and state); default: this one. */
  readonly cwd?: string;
}

/** The Worker of wrangler.toml, with the state `npm run dev` uses. */
export const IMAGEN_EDGE: WorkerProject = { name: "imagen-edge", config: "wrangler.toml", persistTo: ".wrangler/state" };

/** `worker` (by default this one) under `wrangler dev` on 127.0.0.1. */
export function startWranglerDev(port: number, inspectorPort: number, extraArgs: readonly string[] = [], worker: WorkerProject = IMAGEN_EDGE): Server {
  return startServer(
    worker.name,
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      "-c",
      worker.config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      worker.persistTo,
      "--show-interactive-dev-session=false",
      "--log-level",
      "error",
      ...extraArgs,
    ],
    QUIET_ENV,
    worker.cwd,
  );
}

/** wrangler.toml's IMAGEN_CONFIG, to derive a `--var IMAGEN_CONFIG:<json>` override from. */
export function localImagenConfig(): Record<string, unknown> {
  return (parse(readFileSync("wrangler.toml", "utf8")) as { vars: { IMAGEN_CONFIG: Record<string, unknown> } }).vars.IMAGEN_CONFIG;
}

/** Stops every server when this process exits, however it exits. */
export function stopAllOnExit(servers: readonly Server[]): () => void {
  const stop = () => {
    for (const s of servers) s.stop();
  };
  process.on("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      stop();
      process.exit(130);
    });
  }
  return stop;
}

export async function waitFor(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}

export interface Load {
  readonly target: string;
  readonly url: string;
  readonly path: string;
  readonly concurrency: number;
  readonly seconds: number;
  readonly headers: Record<string, string>;
  /** A fresh body per request (seed n), so no layer can answer from a cache. */
  readonly body: (n: number) => unknown;
  /** Headers of request n on top of `headers` (e.g. a fresh Idempotency-Key). */
  readonly requestHeaders?: (n: number) => Record<string, string>;
  /** Per-connection headers (connection i of `concurrency`), e.g. one caller's key per connection. */
  readonly connectionHeaders?: (connection: number) => Record<string, string>;
}

/** One bounded run: `seconds` of POSTs at `concurrency`. */
export async function drive(load: Load): Promise<Result> {
  let n = 1;
  let connections = 0;
  const loadBefore = loadavg()[0] ?? 0;
  const result = await autocannon({
    url: load.url,
    connections: load.concurrency,
    duration: load.seconds,
    requests: [
      {
        method: "POST",
        path: load.path,
        headers: { "content-type": "application/json", ...load.headers },
        setupRequest: (request, context) => {
          const connection = context as { index?: number };
          connection.index ??= connections++;
          const take = n++;
          const perRequest = { ...load.connectionHeaders?.(connection.index), ...load.requestHeaders?.(take) };
          return { ...request, headers: { ...request.headers, ...perRequest }, body: JSON.stringify(load.body(take)) };
        },
      },
    ],
  });
  return {
    target: load.target,
    concurrency: load.concurrency,
    requests: result.requests.total,
    errors: result.non2xx + result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    loadBefore,
  };
}

/** The 1/5/15-minute load averages, as the stamps print them. */
export function loadAverages(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");
}

/** "Measured <UTC minute> on <cores × cpu>, Node <version>; load average … before the run: <load>." */
export function measuredStamp(loadBefore: string): string {
  return `Measured ${new Date().toISOString().slice(0, 16)}Z on ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; load average (1/5/15 min) before the run: ${loadBefore}.`;
}

export function resultRows(results: readonly Result[]): string[] {
  return [
    "| target | concurrency | requests | non-2xx/errors | p50 ms | p99 ms | req/s | load (1 min) before |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) => `| ${r.target} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${r.p50} | ${r.p99} | ${r.rps.toFixed(1)} | ${r.loadBefore.toFixed(1)} |`,
    ),
  ];
}

/** Replaces the block between `<!-- bench:NAME:begin -->` and its end marker (appends it the first time). */
export function writeBenchmarkBlock(doc: string, name: string, body: string): string {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n${body}\n${end}`;
  return doc.includes(begin) ? doc.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), () => block) : `${doc}\n${block}\n`;
}
