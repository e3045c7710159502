/**
 * `npm run bench:guard`: what the spend guard adds to one generation on the mock path. One Worker
 * under `wrangler dev` (loopback) with two mock instances that differ only in price:
 *
 *  - "guard on": `mock-paid` (`cost_per_image_usd`), for a caller with a daily cap, so every
 *    attempt reserves its worst case in the caller's Durable Object under its attempt id before
 *    the backend runs (one round trip) and settles its charge there after the answer;
 *  - "guard off": `mock` (free), whose attempts reserve nothing (no Durable Object round trip);
 *  - "guard on + key, seed, rate limit": `mock-paid` for a second caller whose key has a rate
 *    limit, each request with a fresh Idempotency-Key and a fresh explicit seed (so it is looked
 *    up in the reuse window and never found): the rate-limit take, the key's claim, the reuse
 *    lookup and the reservation all reach the caller's object before the backend runs — in one
 *    round trip since they travel together (src/guard/admission.ts), in four before.
 *
 * The arms run in the same process at concurrency 1, in the order off, on, full, full, on, off
 * (so a drift in the machine's load hits all alike), BENCH_SECONDS each. Only the full arm sends
 * an explicit seed. Target (issue "guard overhead"): p50(on) − p50(off) ≤ 2 ms.
 * Rewrites the `guard-overhead` block of BENCHMARKS.md.
 *
 * Options (env): BENCH_SECONDS (default 10 per run), BENCH_SIZE (default 256x256: a small image
 * keeps rendering and R2 noise below the difference measured), BENCH_GUARD_PORT (default 8837)
 * and BENCH_GUARD_INSPECTOR_PORT (default 9337). Every server is stopped at the end.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { seedLocalKey } from "../scripts/keys";
import {
  drive,
  IMAGEN_EDGE,
  loadAverages,
  measuredStamp,
  type Load,
  localImagenConfig,
  prepareLocalState,
  type Result,
  resultRows,
  startWranglerDev,
  stopAllOnExit,
  waitFor,
  writeBenchmarkBlock,
} from "./harness";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZE = process.env.BENCH_SIZE ?? "256x256";
const PORT = Number(process.env.BENCH_GUARD_PORT ?? 8837);
const INSPECTOR_PORT = Number(process.env.BENCH_GUARD_INSPECTOR_PORT ?? 9337);
const URL_ = `http://127.0.0.1:${PORT}`;
const KEY = "imk_bench_key";
/** The caller `prepareLocalState` gives the key. */
const CALLER = "bench";
/** Far above what a run spends (≈ $0.001 × a few thousand images), so no request is refused. */
const DAILY_CAP_USD = 1000;
/** The full arm's key and caller: its own object, and a rate limit that no run reaches. */
const FULL_KEY = "imk_bench_admit_key";
const FULL_CALLER = "bench-admit";
const FULL = "guard on + key, seed, rate limit";
const ARMS = { "guard off": "mock", "guard on": "mock-paid", [FULL]: "mock-paid" } as const;
type Arm = keyof typeof ARMS;
const ORDER: readonly Arm[] = ["guard off", "guard on", FULL, FULL, "guard on", "guard off"];

function benchConfig(): string {
  const config = localImagenConfig();
  const backends = {
    ...(config.backends as Record<string, unknown>),
    mock: { type: "mock", model: "mock-png", latency_ms: 0 },
    "mock-paid": { type: "mock", model: "mock-png", latency_ms: 0, cost_per_image_usd: 0.001 },
  };
  const callers = {
    [CALLER]: { daily_usd: DAILY_CAP_USD },
    [FULL_CALLER]: { daily_usd: DAILY_CAP_USD, rate_limit: { requests: 100_000, window_seconds: 60 } },
  };
  const guard = { ...(config.guard as Record<string, unknown> | undefined), callers };
  return JSON.stringify({ ...config, backends, guard });
}

function load(arm: Arm): Load {
  const full = arm === FULL;
  // Unique per run of the process, so a key or seed of an earlier run is never replayed.
  const run = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    target: arm,
    url: URL_,
    path: "/v1/images",
    concurrency: 1,
    seconds: SECONDS,
    headers: { authorization: `Bearer ${full ? FULL_KEY : KEY}` },
    body: (n: number) => ({
      prompt: `benchmark lighthouse at dusk, take ${n}${full ? ` of ${run}` : ""}`,
      size: SIZE,
      backend: ARMS[arm],
      source: "bench",
      ...(full && { seed: n + 1 }),
    }),
    ...(full && { requestHeaders: (n: number) => ({ "idempotency-key": `bench-${run}-${n}` }) }),
  };
}

interface DailyBudget {
  readonly cap_usd: number | null;
  readonly spent_usd: number;
  readonly reserved_usd: number;
}

/** The caller's daily period as the guard's Durable Object sees it. */
async function dailyBudget(): Promise<DailyBudget> {
  const response = await fetch(`${URL_}/v1/budget`, { headers: { authorization: `Bearer ${KEY}` } });
  if (response.status !== 200) throw new Error(`GET /v1/budget: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { daily: DailyBudget }).daily;
}

const committed = (b: DailyBudget) => b.spent_usd + b.reserved_usd;

/** One request per arm: each must succeed, the cap must be in force, and only the paid arm may reach the guard's books. */
async function warmUp(): Promise<void> {
  for (const arm of ["guard off", "guard on"] as const) {
    const before = await dailyBudget();
    const response = await fetch(`${URL_}/v1/images`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify(load(arm).body(0)),
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`${arm} warm-up: ${response.status} ${text.slice(0, 300)}`);
    const after = await dailyBudget();
    if (after.cap_usd !== DAILY_CAP_USD) throw new Error(`daily cap not in force: ${JSON.stringify(after)}`);
    const charged = committed(after) > committed(before);
    if (charged !== (arm === "guard on")) throw new Error(`${arm} warm-up: guard books went ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  }
  const full = load(FULL);
  const response = await fetch(`${URL_}/v1/images`, {
    method: "POST",
    headers: { "content-type": "application/json", ...full.headers, ...full.requestHeaders?.(0) },
    body: JSON.stringify(full.body(0)),
  });
  const text = await response.text();
  if (response.status !== 201 || response.headers.get("ratelimit") === null) throw new Error(`${FULL} warm-up: ${response.status} ${text.slice(0, 300)}`);
}

function verdict(results: readonly Result[]): string {
  const p50s = (arm: Arm) => results.filter((r) => r.target === arm).map((r) => r.p50);
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const overhead = mean(p50s("guard on")) - mean(p50s("guard off"));
  const met = overhead <= 2;
  return [
    "| comparison | |",
    "|---|---:|",
    `| p50 guard off (mean of ${p50s("guard off").length} runs) | ${mean(p50s("guard off")).toFixed(1)} ms |`,
    `| p50 guard on (mean of ${p50s("guard on").length} runs) | ${mean(p50s("guard on")).toFixed(1)} ms |`,
    `| p50 ${FULL} (mean of ${p50s(FULL).length} runs) | ${mean(p50s(FULL)).toFixed(1)} ms |`,
    `| guard overhead (p50 on − p50 off) | ${overhead.toFixed(1)} ms |`,
    `| key, seed and rate limit on top (p50 full − p50 on) | ${(mean(p50s(FULL)) - mean(p50s("guard on"))).toFixed(1)} ms |`,
    "",
    `Target (guard overhead p50 ≤ 2 ms at concurrency 1): **${met ? "met" : "not met"}** in this run.`,
  ].join("\n");
}

async function main(): Promise<void> {
  await prepareLocalState(KEY);
  await seedLocalKey(FULL_KEY, FULL_CALLER, "user", "benchmark", IMAGEN_EDGE.persistTo);
  const stop = stopAllOnExit([startWranglerDev(PORT, INSPECTOR_PORT, ["--var", `IMAGEN_CONFIG:${benchConfig()}`])]);
  try {
    await waitFor(`${URL_}/healthz`);
    await warmUp();
    const machineLoad = loadAverages();
    console.log(`image ${SIZE}; ${SECONDS}s per run; load average before: ${machineLoad}`);
    const before = await dailyBudget();
    const results: Result[] = [];
    for (const arm of ORDER) results.push(await drive(load(arm)));
    const after = await dailyBudget();
    const paid = results.filter((r) => r.target === "guard on").reduce((sum, r) => sum + r.requests, 0);
    const books = `The guard's daily books (caller ${CALLER}) grew by $${(committed(after) - committed(before)).toFixed(3)} over ${paid} "guard on" requests at $0.001 each.`;
    const report = [...resultRows(results), "", verdict(results), "", books].join("\n");
    console.log(report);
    const stamp =
      `${measuredStamp(machineLoad)} ` +
      `One Worker under wrangler dev (local workerd), mock backend, ` +
      `image ${SIZE} PNG, concurrency 1, ${SECONDS}s per run, arms in the order ${ORDER.join(", ")}.`;
    writeFileSync("BENCHMARKS.md", writeBenchmarkBlock(readFileSync("BENCHMARKS.md", "utf8"), "guard-overhead", `${stamp}\n\n${report}`));
  } finally {
    stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
