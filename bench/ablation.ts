/**
 * `npm run bench:ablation`: what each piece of the full generation path costs, against the same
 * baseline Worker as `npm run bench` (one R2 write of the same PNG bytes), all in one run:
 *
 *  - "full path": as `npm run bench` drives it (explicit seed → the reuse index is read before
 *    and written after the generation, in the caller's Durable Object);
 *  - "full, no seed": nothing to reuse, so no Durable Object round trip at all;
 *  - "full, no seed, no sidecar": the same with `output.sidecar = false`, one R2 object per image.
 *
 * The two full-path Workers differ only in that config value, each under `wrangler dev` with its
 * own local state. Concurrency 1 and 16, BENCH_SECONDS each (default 8). Rewrites the `ablation`
 * block of BENCHMARKS.md. Options (env): BENCH_SECONDS, BENCH_ABLATION_PORT (default 8851: the
 * full path there, sidecar-off +1, baseline +2; inspectors at +1000).
 */
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import {
  drive,
  loadAverages,
  localImagenConfig,
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

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SIZE = "1024x1024";
const KEY = "imk_bench_key";
const PORT = Number(process.env.BENCH_ABLATION_PORT ?? 8851);
const FULL = `http://127.0.0.1:${PORT}`;
const NO_SIDECAR = `http://127.0.0.1:${PORT + 1}`;
const BASELINE = `http://127.0.0.1:${PORT + 2}`;
const BASELINE_WORKER: WorkerProject = { name: "baseline", config: "bench/baseline/wrangler.toml", persistTo: ".bench/ablation-baseline" };

interface Arm {
  readonly target: string;
  readonly url: string;
  readonly seeded: boolean;
}

const ARMS: readonly Arm[] = [
  { target: "baseline", url: BASELINE, seeded: true },
  { target: "full path", url: FULL, seeded: true },
  { target: "full, no seed", url: FULL, seeded: false },
  { target: "full, no seed, no sidecar", url: NO_SIDECAR, seeded: false },
];

function load(arm: Arm, concurrency: number): Load {
  return {
    target: arm.target,
    url: arm.url,
    path: "/v1/images",
    concurrency,
    seconds: SECONDS,
    headers: arm.url === BASELINE ? {} : { authorization: `Bearer ${KEY}` },
    body: (n: number) => ({ prompt: "benchmark lighthouse at dusk", size: SIZE, source: "bench", ...(arm.seeded && { seed: n }) }),
  };
}

function sidecarOff(): string[] {
  const config = localImagenConfig();
  const output = { ...(config.output as Record<string, unknown> | undefined), sidecar: false };
  return ["--var", `IMAGEN_CONFIG:${JSON.stringify({ ...config, output })}`];
}

/** The bytes the full path makes, handed to the baseline to write from then on. */
async function primeBaseline(): Promise<void> {
  const auth = { authorization: `Bearer ${KEY}` };
  const sample = await fetch(`${FULL}/v1/images`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ prompt: "benchmark lighthouse at dusk", size: SIZE }),
  });
  if (sample.status !== 201) throw new Error(`warm-up failed: ${sample.status} ${await sample.text()}`);
  const image = ((await sample.json()) as { images: { url: string }[] }).images[0]!;
  const bytes = await (await fetch(image.url, { headers: auth })).arrayBuffer();
  await fetch(`${BASELINE}/bytes`, { method: "PUT", body: bytes });
}

function ratios(results: readonly Result[]): string[] {
  const base = (c: number) => results.find((r) => r.target === "baseline" && r.concurrency === c)!;
  return [
    "| arm | p50 ÷ baseline, c=1 | req/s ÷ baseline, c=16 |",
    "|---|---:|---:|",
    ...ARMS.filter((a) => a.url !== BASELINE).map((arm) => {
      const at = (c: number) => results.find((r) => r.target === arm.target && r.concurrency === c)!;
      return `| ${arm.target} | ${(at(1).p50 / Math.max(base(1).p50, 1)).toFixed(2)}x | ${(at(16).rps / Math.max(base(16).rps, 0.1)).toFixed(2)}x |`;
    }),
  ];
}

async function main(): Promise<void> {
  rmSync(".bench/ablation-baseline", { recursive: true, force: true });
  rmSync(".bench/ablation-no-sidecar", { recursive: true, force: true });
  await prepareLocalState(KEY);
  await prepareLocalState(KEY, ".bench/ablation-no-sidecar");
  const stop = stopAllOnExit([
    startWranglerDev(PORT, PORT + 1000),
    startWranglerDev(PORT + 1, PORT + 1001, sidecarOff(), {
      name: "imagen-edge (no sidecar)",
      config: "wrangler.toml",
      persistTo: ".bench/ablation-no-sidecar",
    }),
    startWranglerDev(PORT + 2, PORT + 1002, [], BASELINE_WORKER),
  ]);
  try {
    await Promise.all([waitFor(`${FULL}/healthz`), waitFor(`${NO_SIDECAR}/healthz`), waitFor(`${BASELINE}/`)]);
    await primeBaseline();
    const machineLoad = loadAverages();
    const results: Result[] = [];
    for (const concurrency of [1, 16]) for (const arm of ARMS) results.push(await drive(load(arm, concurrency)));
    const report = [...resultRows(results), "", ...ratios(results)].join("\n");
    console.log(report);
    const stamp = `${measuredStamp(machineLoad)} wrangler dev (local workerd), image ${SIZE} PNG, ${SECONDS}s per run.`;
    writeFileSync("BENCHMARKS.md", writeBenchmarkBlock(readFileSync("BENCHMARKS.md", "utf8"), "ablation", `${stamp}\n\n${report}`));
  } finally {
    stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
