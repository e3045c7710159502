/**
 * `npm run bench`: POST /v1/images through the real Worker (mock backend, no latency) vs. a
 * baseline Worker that only writes the same bytes to R2, both under `wrangler dev` on loopback,
 * at concurrency 1 and 16. Prints a table and rewrites the results block in BENCHMARKS.md.
 *
 * Options (env): BENCH_SECONDS (default 10 per run), BENCH_SIZE (default 1024x1024), BENCH_PORT
 * (default 8791: the full path there, the baseline one above) and BENCH_INSPECTOR_PORT (default
 * BENCH_PORT + 1000, likewise).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import autocannon from "autocannon";
import { seedLocalKey } from "../scripts/keys";
import { QUIET_ENV, wranglerSync } from "../scripts/wrangler";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZE = process.env.BENCH_SIZE ?? "1024x1024";
const KEY = "imk_bench_key";
const STATE = ".bench/state";
const WRANGLER = "node_modules/wrangler/bin/wrangler.js";
const PORT = Number(process.env.BENCH_PORT ?? 8791);
const INSPECTOR_PORT = Number(process.env.BENCH_INSPECTOR_PORT ?? PORT + 1000);
const FULL = `http://127.0.0.1:${PORT}`;
const BASELINE = `http://127.0.0.1:${PORT + 1}`;

interface Result {
  readonly target: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
}

function startWorker(config: string, port: number, inspectorPort: number, persist: string): ChildProcess {
  const child = spawn(process.execPath, [WRANGLER, "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persist, "--show-interactive-dev-session=false", "--log-level", "error"], {
    env: QUIET_ENV,
    stdio: ["ignore", "ignore", "inherit"],
  });
  return child;
}

async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
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

async function drive(target: string, url: string, concurrency: number, headers: Record<string, string>): Promise<Result> {
  let seed = 1;
  const result = await autocannon({
    url,
    connections: concurrency,
    duration: SECONDS,
    requests: [
      {
        method: "POST",
        path: "/v1/images",
        headers: { "content-type": "application/json", ...headers },
        // A fresh seed per request: distinct images and keys, as in real use.
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ prompt: "benchmark lighthouse at dusk", size: SIZE, seed: seed++, source: "bench" }) }),
      },
    ],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  return {
    target,
    concurrency,
    requests: result.requests.total,
    errors: bad,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
  };
}

function table(results: readonly Result[]): string {
  const rows = results.map((r) => `| ${r.target} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${r.p50} | ${r.p99} | ${r.rps.toFixed(1)} |`);
  const ratios = [1, 16].map((c) => {
    const full = results.find((r) => r.target === "full path" && r.concurrency === c)!;
    const base = results.find((r) => r.target === "baseline" && r.concurrency === c)!;
    return `| p50 ratio at concurrency ${c} | ${(full.p50 / Math.max(base.p50, 1)).toFixed(2)}x |`;
  });
  return [
    "| target | concurrency | requests | non-2xx/errors | p50 ms | p99 ms | req/s |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "| full path vs baseline | |",
    "|---|---:|",
    ...ratios,
  ].join("\n");
}

async function main(): Promise<void> {
  rmSync(".bench", { recursive: true, force: true });
  await seedLocalKey(KEY, "bench", "admin", "benchmark");
  // The full path records every attempt: without the ledger's tables its queue consumer would
  // fail (and retry) every batch during the measurement.
  wranglerSync(["d1", "migrations", "apply", "imagen-ledger", "--local", "--persist-to", ".wrangler/state"]);
  // keys.ts writes to .wrangler/state; the bench uses its own state so runs do not pile up.
  const workers = [startWorker("wrangler.toml", PORT, INSPECTOR_PORT, ".wrangler/state"), startWorker("bench/baseline/wrangler.toml", PORT + 1, INSPECTOR_PORT + 1, STATE)];
  const stop = () => workers.forEach((w) => w.kill("SIGTERM"));
  process.on("exit", stop);
  try {
    await Promise.all([waitFor(`${FULL}/healthz`), waitFor(`${BASELINE}/`)]);
    const auth = { authorization: `Bearer ${KEY}` };
    const sample = await fetch(`${FULL}/v1/images`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ prompt: "benchmark lighthouse at dusk", size: SIZE, seed: 1 }),
    });
    if (sample.status !== 201) throw new Error(`warm-up failed: ${sample.status} ${await sample.text()}`);
    const image = ((await sample.json()) as { images: { url: string }[] }).images[0]!;
    const bytes = await (await fetch(image.url, { headers: auth })).arrayBuffer();
    await fetch(`${BASELINE}/bytes`, { method: "PUT", body: bytes });
    console.log(`image ${SIZE}: ${bytes.byteLength} bytes; ${SECONDS}s per run`);

    const results: Result[] = [];
    for (const concurrency of [1, 16]) {
      results.push(await drive("baseline", BASELINE, concurrency, {}));
      results.push(await drive("full path", FULL, concurrency, auth));
    }
    const report = table(results);
    console.log(report);
    const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, wrangler dev (local workerd), image ${SIZE} PNG (${bytes.byteLength} bytes), ${SECONDS}s per run.`;
    const doc = readFileSync("BENCHMARKS.md", "utf8");
    const begin = "<!-- bench:generation:begin -->";
    const end = "<!-- bench:generation:end -->";
    const block = `${begin}\n${stamp}\n\n${report}\n${end}`;
    writeFileSync("BENCHMARKS.md", doc.includes(begin) ? doc.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), block) : `${doc}\n${block}\n`);
  } finally {
    stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
