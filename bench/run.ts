/**
 * `npm run bench`: POST /v1/images through the real Worker (mock backend, no latency) vs. a
 * baseline Worker that only writes the same bytes to R2, both under `wrangler dev` on loopback,
 * at concurrency 1 and 16. Prints a table and rewrites the results block in BENCHMARKS.md.
 *
 * Options (env): BENCH_SECONDS (default 10 per run), BENCH_SIZE (default 1024x1024), BENCH_PORT
 * (default 8791: the full path there, the baseline one above) and BENCH_INSPECTOR_PORT (default
 * BENCH_PORT + 1000, likewise).
 */
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import {
  drive,
  loadAverages,
  measuredStamp,
  type Load,
  prepareLocalState,
  type Result,
  resultRows,
  startWranglerDev,
  stopAllOnExit,
  waitFor,
  type WorkerProject,
  writeBenchmarkBlock,
} from "./harness";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZE = process.env.BENCH_SIZE ?? "1024x1024";
const KEY = "imk_bench_key";
const PORT = Number(process.env.BENCH_PORT ?? 8791);
const INSPECTOR_PORT = Number(process.env.BENCH_INSPECTOR_PORT ?? PORT + 1000);
const FULL = `http://127.0.0.1:${PORT}`;
const BASELINE = `http://127.0.0.1:${PORT + 1}`;
/** Its own state, wiped per run, so runs do not pile up objects. */
const BASELINE_WORKER: WorkerProject = { name: "baseline", config: "bench/baseline/wrangler.toml", persistTo: ".bench/state" };

function load(target: "baseline" | "full path", concurrency: number): Load {
  return {
    target,
    url: target === "baseline" ? BASELINE : FULL,
    path: "/v1/images",
    concurrency,
    seconds: SECONDS,
    headers: target === "baseline" ? {} : { authorization: `Bearer ${KEY}` },
    // A fresh seed per request: distinct images and keys, as in real use.
    body: (seed: number) => ({ prompt: "benchmark lighthouse at dusk", size: SIZE, seed, source: "bench" }),
  };
}

function ratios(results: readonly Result[]): string[] {
  const at = (target: string, c: number) => results.find((r) => r.target === target && r.concurrency === c)!;
  return [
    "| full path vs baseline | |",
    "|---|---:|",
    ...[1, 16].map((c) => `| p50 ratio at concurrency ${c} | ${(at("full path", c).p50 / Math.max(at("baseline", c).p50, 1)).toFixed(2)}x |`),
    `| req/s ratio at concurrency 16 | ${(at("full path", 16).rps / Math.max(at("baseline", 16).rps, 0.1)).toFixed(2)}x |`,
  ];
}

/** One image through the full path, its bytes given to the baseline to write from then on. */
async function primeBaseline(): Promise<number> {
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
  return bytes.byteLength;
}

async function main(): Promise<void> {
  rmSync(".bench", { recursive: true, force: true });
  await prepareLocalState(KEY);
  const stop = stopAllOnExit([startWranglerDev(PORT, INSPECTOR_PORT), startWranglerDev(PORT + 1, INSPECTOR_PORT + 1, [], BASELINE_WORKER)]);
  try {
    await Promise.all([waitFor(`${FULL}/healthz`), waitFor(`${BASELINE}/`)]);
    const bytes = await primeBaseline();
    const machineLoad = loadAverages();
    console.log(`image ${SIZE}: ${bytes} bytes; ${SECONDS}s per run; load average before: ${machineLoad}`);
    const results: Result[] = [];
    for (const concurrency of [1, 16]) {
      results.push(await drive(load("baseline", concurrency)));
      results.push(await drive(load("full path", concurrency)));
    }
    const report = [...resultRows(results), "", ...ratios(results)].join("\n");
    console.log(report);
    const stamp = `${measuredStamp(machineLoad)} ` + `wrangler dev (local workerd), image ${SIZE} PNG (${bytes} bytes), ${SECONDS}s per run.`;
    writeFileSync("BENCHMARKS.md", writeBenchmarkBlock(readFileSync("BENCHMARKS.md", "utf8"), "generation", `${stamp}\n\n${report}`));
  } finally {
    stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
