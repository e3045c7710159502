/**
 * `npm run bench`: POST /v1/images through the real Worker (mock backend, no latency) vs. a
 * baseline Worker that only writes the same bytes to R2, both under `wrangler dev` on loopback,
 * at concurrency 1 and 16. Concurrency 16 runs twice on the full path: 16 connections of one
 * caller (they queue on that caller's one Durable Object) and 16 callers with a key each, so the
 * per-caller object's serial rate shows on its own. The arms are interleaved in rounds (the
 * machine's load drifts; each arm sees the same drift) and every row carries the load average
 * before it. Prints a table and rewrites the results block in BENCHMARKS.md.
 *
 * BENCH_COMPARE_TREE=<another checkout> adds its full path as arms of the same rounds ("before"),
 * e.g. a copy of the commit before a change: before and after then see the same load
 * (BENCH_COMPARE_LABEL names it in the stamp, e.g. "commit 7fb9b82").
 *
 * Options (env): BENCH_SECONDS (default 10 per run), BENCH_ROUNDS (default 2), BENCH_SIZE (default 1024x1024), BENCH_PORT
 * (default 8791: the full path there, the baseline one above) and BENCH_INSPECTOR_PORT (default
 * BENCH_PORT + 1000, likewise).
 */
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import {
  drive,
  IMAGEN_EDGE,
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
import { seedLocalKey } from "../scripts/keys";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZE = process.env.BENCH_SIZE ?? "1024x1024";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const KEY = "imk_bench_key";
const CALLERS = 16;
/** One key per caller of the 16-caller arm: connection i uses key i. */
const callerKey = (i: number) => `${KEY}_${i}`;
const PORT = Number(process.env.BENCH_PORT ?? 8791);
const INSPECTOR_PORT = Number(process.env.BENCH_INSPECTOR_PORT ?? PORT + 1000);
const FULL = `http://127.0.0.1:${PORT}`;
const BASELINE = `http://127.0.0.1:${PORT + 1}`;
const COMPARE_TREE = process.env.BENCH_COMPARE_TREE;
const COMPARED = `http://127.0.0.1:${PORT + 2}`;
const COMPARED_WORKER: WorkerProject | null = COMPARE_TREE
  ? { name: "compared", config: "wrangler.toml", persistTo: ".wrangler/state", cwd: COMPARE_TREE }
  : null;
/** Its own state, wiped per run, so runs do not pile up objects. */
const BASELINE_WORKER: WorkerProject = { name: "baseline", config: "bench/baseline/wrangler.toml", persistTo: ".bench/state" };

type Target = "baseline" | "full path" | "full path, 16 callers";
type Arm = { readonly target: Target | `before: ${Exclude<Target, "baseline">}`; readonly concurrency: number };
const ARMS: readonly Arm[] = [
  { target: "baseline", concurrency: 1 },
  ...(COMPARE_TREE ? [{ target: "before: full path", concurrency: 1 } as const] : []),
  { target: "full path", concurrency: 1 },
  { target: "baseline", concurrency: 16 },
  ...(COMPARE_TREE ? [{ target: "before: full path", concurrency: 16 } as const] : []),
  { target: "full path", concurrency: 16 },
  ...(COMPARE_TREE ? [{ target: "before: full path, 16 callers", concurrency: 16 } as const] : []),
  { target: "full path, 16 callers", concurrency: 16 },
];

function load({ target, concurrency }: Arm): Load {
  return {
    target,
    url: target === "baseline" ? BASELINE : target.startsWith("before: ") ? COMPARED : FULL,
    path: "/v1/images",
    concurrency,
    seconds: SECONDS,
    headers: target === "baseline" ? {} : { authorization: `Bearer ${KEY}` },
    ...(target.endsWith("16 callers") ? { connectionHeaders: (i: number) => ({ authorization: `Bearer ${callerKey(i % CALLERS)}` }) } : {}),
    // A fresh seed per request: distinct images and keys, as in real use.
    body: (seed: number) => ({ prompt: "benchmark lighthouse at dusk", size: SIZE, seed, source: "bench" }),
  };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Each ratio from the arms' medians over the rounds. */
function ratios(results: readonly Result[]): string[] {
  const of = (target: string, c: number) => results.filter((r) => r.target === target && r.concurrency === c);
  const p50 = (target: string, c: number) => median(of(target, c).map((r) => r.p50));
  const rps = (target: string, c: number) => median(of(target, c).map((r) => r.rps));
  const rows = (prefix: string) => [
    `| ${prefix}p50 ratio at concurrency 1 | ${(p50(`${prefix}full path`, 1) / Math.max(p50("baseline", 1), 1)).toFixed(2)}x |`,
    `| ${prefix}p50 ratio at concurrency 16, one caller | ${(p50(`${prefix}full path`, 16) / Math.max(p50("baseline", 16), 1)).toFixed(2)}x |`,
    `| ${prefix}req/s ratio at concurrency 16, one caller | ${(rps(`${prefix}full path`, 16) / Math.max(rps("baseline", 16), 0.1)).toFixed(2)}x |`,
    `| ${prefix}req/s ratio at concurrency 16, 16 callers | ${(rps(`${prefix}full path, 16 callers`, 16) / Math.max(rps("baseline", 16), 0.1)).toFixed(2)}x |`,
  ];
  return [`| full path vs baseline (medians over ${ROUNDS} rounds) | |`, "|---|---:|", ...(COMPARE_TREE ? rows("before: ") : []), ...rows("")];
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
  const states = [IMAGEN_EDGE.persistTo, ...(COMPARE_TREE ? [`${COMPARE_TREE}/${IMAGEN_EDGE.persistTo}`] : [])];
  if (COMPARE_TREE) await prepareLocalState(KEY, states[1]);
  for (const state of states) for (let i = 0; i < CALLERS; i++) await seedLocalKey(callerKey(i), `bench-${i}`, "user", "benchmark caller", state);
  const stop = stopAllOnExit([
    startWranglerDev(PORT, INSPECTOR_PORT),
    startWranglerDev(PORT + 1, INSPECTOR_PORT + 1, [], BASELINE_WORKER),
    ...(COMPARED_WORKER ? [startWranglerDev(PORT + 2, INSPECTOR_PORT + 2, [], COMPARED_WORKER)] : []),
  ]);
  try {
    await Promise.all([waitFor(`${FULL}/healthz`), waitFor(`${BASELINE}/`), ...(COMPARE_TREE ? [waitFor(`${COMPARED}/healthz`)] : [])]);
    const bytes = await primeBaseline();
    const machineLoad = loadAverages();
    console.log(`image ${SIZE}: ${bytes} bytes; ${SECONDS}s per run; load average before: ${machineLoad}`);
    const results: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) for (const arm of ARMS) results.push(await drive(load(arm)));
    const report = [...resultRows(results), "", ...ratios(results)].join("\n");
    console.log(report);
    const stamp =
      `${measuredStamp(machineLoad)} ` +
      `wrangler dev (local workerd), image ${SIZE} PNG (${bytes} bytes), ${SECONDS}s per run, ${ROUNDS} rounds of interleaved arms.` +
      (COMPARE_TREE ? ` "before:" rows: ${process.env.BENCH_COMPARE_LABEL ?? "the compared checkout"}, run beside this one.` : "");
    writeFileSync("BENCHMARKS.md", writeBenchmarkBlock(readFileSync("BENCHMARKS.md", "utf8"), "generation", `${stamp}\n\n${report}`));
  } finally {
    stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
