/**
 * `npm run bench:replicate`: how soon after a Replicate prediction completes does the Replicate
 * backend (through the runner, as a sync request) return its images — with `Prefer: wait` (the default) versus plain 500 ms
 * polling? Drives the real backend against the fake Replicate started in this process, and
 * measures from the fake's `completed_at` to the attempt resolving. Rewrites the results block
 * in BENCHMARKS.md.
 *
 * Each run uses a fresh fake account whose prediction takes a random 300–1500 ms, so completion
 * falls anywhere between two polls. "500 ms polling" is the same backend with the create call's
 * `Prefer: wait=1` shrunk to 10 ms (the fake's `time_scale`): it answers 202 at once and the
 * backend polls every 500 ms, as a client without sync mode would.
 *
 * Options (env): BENCH_RUNS (default 40 per mode), BENCH_CONCURRENCY (default 4).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import type { Backend, BackendResult, GenerationSpec } from "../src/backends/backend";
import { replicateBackendType, replicateConfigSchema } from "../src/backends/replicate";
import { parseConfig } from "../src/config/load";
import { NO_GUARD } from "../src/core/attempt-guard";
import { CooldownBook } from "../src/core/cooldown";
import { DEFAULT_FALLBACK_ON } from "../src/backends/fallback-triggers";
import type { PipelineDeps } from "../src/core/pipeline";
import { GenerationRunner } from "../src/core/runner";
import { cryptoIdSource } from "../src/lib/ids";
import { systemClock } from "../src/lib/clock";
import { silentLogger } from "../src/lib/log";
import type { Scenario } from "../test/fakes/replicate/control";
import { start } from "../test/fakes/replicate/server";

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const TARGET_P50_MS = 20;

interface Mode {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly scenario: Scenario;
}

const MODES: readonly Mode[] = [
  { name: "Prefer: wait", config: { wait_s: 60, poll_interval_ms: 500 }, scenario: {} },
  // wait=1 × time_scale 0.01 = a 10 ms hold, then polling; Cancel-After 1800 s × 0.01 = 18 s, well past any run.
  { name: "500 ms polling", config: { wait_s: 1, poll_interval_ms: 500, timeout_s: 1800 }, scenario: { time_scale: 0.01 } },
];

async function runOnce(fakeUrl: string, mode: Mode, index: number): Promise<number> {
  const token = `r8_bench${index}${Math.random().toString(36).slice(2, 10)}`;
  const processing = 300 + Math.floor(Math.random() * 1200);
  const scenario: Scenario = { starting_ms: 50, processing_ms: processing, finalize_ms: 0, ...mode.scenario };
  const set = await fetch(`${fakeUrl}/__fake/scenario`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, ...scenario }),
  });
  if (!set.ok) throw new Error(`scenario refused: ${set.status}`);
  const config = replicateConfigSchema.parse({
    type: "replicate",
    model: "black-forest-labs/flux-schnell",
    base_url: `${fakeUrl}/v1`,
    delivery_hosts: ["127.0.0.1"],
    ...mode.config,
  });
  const backend = replicateBackendType.create("bench", config, {
    env: { REPLICATE_API_TOKEN: token },
    fetch: (input, init) => fetch(input, init),
    clock: systemClock,
  });
  const result = await throughRunner(backend, { prompt: "benchmark lighthouse", width: 512, height: 512, seed: index + 1, n: 1 }, `bench-${index}`);
  const returned = Date.now();
  // Drain the image (not timed) so the connection is released and the run is a complete one.
  for (const image of result.images) if ("stream" in image) await new Response(image.stream).arrayBuffer();
  const prediction = (await (await fetch(`${fakeUrl}/v1/predictions/${result.externalId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
    completed_at: string | null;
  };
  if (!prediction.completed_at) throw new Error(`prediction ${result.externalId} has no completed_at`);
  return returned - Date.parse(prediction.completed_at);
}

/** One attempt through the runner every request uses; nothing is stored or ledgered. */
async function throughRunner(backend: Backend, spec: GenerationSpec, requestId: string): Promise<BackendResult> {
  const prepared = {
    plan: { chain: [backend.name], fallbackOn: DEFAULT_FALLBACK_ON, spec, style: null },
    request: { prompt: spec.prompt, n: spec.n },
    caller: { name: "bench", role: "user" as const },
    requestId,
    promptHash: "",
  };
  const deps: PipelineDeps = {
    config: parseConfig({ default_backend: backend.name, backends: { [backend.name]: { type: "mock" } } }),
    backend: () => backend,
    store: { exists: async () => false, putImage: async () => null, delete: async () => {}, claim: async () => true, unclaim: async () => {} },
    usage: { record: async () => {} },
    pricing: { estimate: async () => null },
    guard: NO_GUARD,
    cooldowns: new CooldownBook(),
    clock: systemClock,
    ids: cryptoIdSource(),
    log: silentLogger,
  };
  return (await new GenerationRunner(prepared, deps, { deadlineGraceMs: 0, holdSubmit: true }).run(new AbortController().signal)).result;
}

async function measure(fakeUrl: string, mode: Mode): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      const index = next++;
      latencies.push(await runOnce(fakeUrl, mode, index));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return latencies.sort((a, b) => a - b);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function row(name: string, sorted: readonly number[]): string {
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return `| ${name} | ${sorted.length} | ${percentile(sorted, 50)} | ${percentile(sorted, 90)} | ${percentile(sorted, 99)} | ${mean.toFixed(1)} | ${sorted[0]} | ${sorted.at(-1)} |`;
}

async function main(): Promise<void> {
  const fake = await start();
  try {
    const results: Array<[Mode, number[]]> = [];
    for (const mode of MODES) {
      results.push([mode, await measure(fake.url, mode)]);
      console.log(`${mode.name}: done`);
    }
    const wait = results[0]![1];
    const table = [
      "| mode | runs | p50 ms | p90 ms | p99 ms | mean ms | min ms | max ms |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...results.map(([mode, sorted]) => row(mode.name, sorted)),
      "",
      `Target: \`Prefer: wait\` p50 ≤ ${TARGET_P50_MS} ms after completion — ${percentile(wait, 50) <= TARGET_P50_MS ? "met" : "NOT met"} (${percentile(wait, 50)} ms).`,
    ].join("\n");
    console.log(table);
    const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; fake Replicate in-process on 127.0.0.1, flux-schnell 512x512 PNG, predictions of 300–1500 ms, ${RUNS} runs per mode, ${CONCURRENCY} at a time. Latency = backend \`generate()\` returned − the prediction's \`completed_at\`.`;
    const begin = "<!-- bench:replicate-wait:begin -->";
    const end = "<!-- bench:replicate-wait:end -->";
    const block = `${begin}\n${stamp}\n\n${table}\n${end}`;
    const doc = readFileSync("BENCHMARKS.md", "utf8");
    const section = `\n## Replicate: completion → response, \`Prefer: wait\` vs 500 ms polling (issue: Replicate)\n\n\`npm run bench:replicate\` (bench/replicate-wait.ts): the Replicate backend's sync path against the fake\nReplicate in-process; time from the prediction's completion to the backend returning the images.\n\n${block}\n`;
    writeFileSync("BENCHMARKS.md", doc.includes(begin) ? doc.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), block) : `${doc.trimEnd()}\n${section}`);
  } finally {
    await fake.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
