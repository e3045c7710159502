/**
 * `npm run bench:openai`: OpenAI's `POST /v1/images/generations` through three contenders, all
 * answering with the same fake OpenAI upstream (test/fakes/openai, a separate Node process) on
 * loopback, in one run, at concurrency 1 and 16:
 *
 *  - "imagen-edge": this Worker under `wrangler dev` (local workerd), its `openai` backend pointed
 *    at the fake through `providers.openai.base_url`; every image is stored in R2 and ledgered
 *    (queue → D1), and the answer carries it as b64_json, as OpenAI's does.
 *  - "portkey": Portkey's open-source gateway (@portkey-ai/gateway). Its package ships only a Node
 *    build (build/start-server.js), so it runs under Node, not workerd; `x-portkey-provider:
 *    openai` + `x-portkey-custom-host` send it to the fake (loopback is on its trusted-host list).
 *    It proxies: it stores and records nothing.
 *  - "upstream direct": the fake itself, the floor every proxy adds to.
 *
 * Target (issue "Performance (benchmark)"): imagen-edge's p50 at concurrency 1 ≤ Portkey's.
 * Rewrites the `openai-compare` block of BENCHMARKS.md.
 *
 * The contenders are interleaved in rounds (the machine's load drifts; each sees the same drift),
 * every row carries the load average before it, and the comparison uses each one's median.
 *
 * Options (env): BENCH_SECONDS (default 10 per run), BENCH_ROUNDS (default 3), BENCH_OPENAI_PORT (default 8833: the fake
 * there, Portkey +1, the Worker +2) and BENCH_OPENAI_INSPECTOR_PORT (default 9335).
 * Only loopback addresses are used; every server is stopped (its process group) at the end.
 */
import { readFileSync, writeFileSync } from "node:fs";
import {
  drive,
  loadAverages,
  measuredStamp,
  localImagenConfig,
  prepareLocalState,
  type Result,
  resultRows,
  startServer,
  startWranglerDev,
  stopAllOnExit,
  waitFor,
  writeBenchmarkBlock,
} from "./harness";
import { newKey } from "../test/fakes/openai-style/control";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PORT = Number(process.env.BENCH_OPENAI_PORT ?? 8833);
const INSPECTOR_PORT = Number(process.env.BENCH_OPENAI_INSPECTOR_PORT ?? 9335);
const UPSTREAM = `http://127.0.0.1:${PORT}`;
const PORTKEY = `http://127.0.0.1:${PORT + 1}`;
const OURS = `http://127.0.0.1:${PORT + 2}`;
const OUR_KEY = "imk_bench_key";
/** A fresh key per run, shaped as the fake upstream expects; it never leaves loopback. */
const UPSTREAM_KEY = newKey("openai");
const MODEL = "gpt-image-1.5";
const INSTANCE = "openai-images";
const SIZE = "1024x1024";
const PATH = "/v1/images/generations";
/** BENCH_COMPARE_TREE=<another checkout>: its Worker runs as one more contender ("imagen-edge before"), same rounds. */
const COMPARE_TREE = process.env.BENCH_COMPARE_TREE;
const BEFORE = `http://127.0.0.1:${PORT + 3}`;
const CONTENDERS = ["upstream direct", "portkey", ...(COMPARE_TREE ? (["imagen-edge before"] as const) : []), "imagen-edge"] as const;

/** wrangler.toml's IMAGEN_CONFIG with the OpenAI family pointed at the fake. */
function benchConfig(): string {
  const config = localImagenConfig();
  const providers = { ...(config.providers as Record<string, unknown> | undefined), openai: { base_url: `${UPSTREAM}/v1` } };
  return JSON.stringify({ ...config, providers });
}

function startAll() {
  const tsx = "node_modules/.bin/tsx";
  const upstream = startServer("fake OpenAI", tsx, ["test/fakes/openai/server.ts", "--port", String(PORT)]);
  // --headless: no log UI; NODE_ENV=production also skips its dev-only routes.
  const portkey = startServer(
    "portkey",
    process.execPath,
    ["bench/node_modules/@portkey-ai/gateway/build/start-server.js", `--port=${PORT + 1}`, "--headless"],
    {
      ...process.env,
      NODE_ENV: "production",
      TRUSTED_CUSTOM_HOSTS: "127.0.0.1",
    },
  );
  const vars = ["--var", `IMAGEN_CONFIG:${benchConfig()}`, "--var", `OPENAI_API_KEY:${UPSTREAM_KEY}`];
  const ours = startWranglerDev(PORT + 2, INSPECTOR_PORT, vars);
  const before = COMPARE_TREE
    ? [
        startWranglerDev(PORT + 3, INSPECTOR_PORT + 1, vars, {
          name: "imagen-edge before",
          config: "wrangler.toml",
          persistTo: ".wrangler/state",
          cwd: COMPARE_TREE,
        }),
      ]
    : [];
  return [upstream, portkey, ours, ...before];
}

const prompt = (n: number) => `benchmark lighthouse at dusk, take ${n}`;

/** Each contender's request: the same OpenAI body, with what that contender needs to route it. */
function loads(concurrency: number) {
  const common = { path: PATH, concurrency, seconds: SECONDS };
  return {
    "upstream direct": {
      ...common,
      target: "upstream direct",
      url: UPSTREAM,
      headers: { authorization: `Bearer ${UPSTREAM_KEY}` },
      body: (n: number) => ({ model: MODEL, prompt: prompt(n), size: SIZE }),
    },
    portkey: {
      ...common,
      target: "portkey",
      url: PORTKEY,
      headers: { authorization: `Bearer ${UPSTREAM_KEY}`, "x-portkey-provider": "openai", "x-portkey-custom-host": `${UPSTREAM}/v1` },
      body: (n: number) => ({ model: MODEL, prompt: prompt(n), size: SIZE }),
    },
    "imagen-edge": {
      ...common,
      target: "imagen-edge",
      url: OURS,
      headers: { authorization: `Bearer ${OUR_KEY}` },
      body: (n: number) => ({ model: INSTANCE, prompt: prompt(n), size: SIZE, user: "bench" }),
    },
    "imagen-edge before": {
      ...common,
      target: "imagen-edge before",
      url: BEFORE,
      headers: { authorization: `Bearer ${OUR_KEY}` },
      body: (n: number) => ({ model: INSTANCE, prompt: prompt(n), size: SIZE, user: "bench" }),
    },
  } as const;
}

/** One request through each contender, so a misrouted one fails loudly before any measuring. */
async function warmUp(): Promise<number> {
  let bytes = 0;
  const all = loads(1);
  for (const load of CONTENDERS.map((target) => all[target])) {
    const response = await fetch(`${load.url}${PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...load.headers },
      body: JSON.stringify(load.body(0)),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${load.target} warm-up: ${response.status} ${text.slice(0, 300)}`);
    const image = (JSON.parse(text) as { data: { b64_json?: string }[] }).data[0]?.b64_json;
    if (!image) throw new Error(`${load.target} warm-up: no b64_json in ${text.slice(0, 300)}`);
    bytes = Buffer.from(image, "base64").byteLength;
  }
  return bytes;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function verdict(results: readonly Result[]): string {
  const at = (target: string, c: number) => {
    const runs = results.filter((r) => r.target === target && r.concurrency === c);
    return { p50: median(runs.map((r) => r.p50)), rps: median(runs.map((r) => r.rps)) };
  };
  const lines = [1, 16].flatMap((c) => {
    const ours = at("imagen-edge", c);
    const portkey = at("portkey", c);
    const direct = at("upstream direct", c);
    return [
      `| imagen-edge p50 ÷ portkey p50 at concurrency ${c} | ${(ours.p50 / Math.max(portkey.p50, 1)).toFixed(2)}x |`,
      `| imagen-edge req/s ÷ portkey req/s at concurrency ${c} | ${(ours.rps / Math.max(portkey.rps, 0.1)).toFixed(2)}x |`,
      `| added p50 over upstream at concurrency ${c}: imagen-edge / portkey | ${ours.p50 - direct.p50} ms / ${portkey.p50 - direct.p50} ms |`,
      ...(COMPARE_TREE ? [`| added p50 over upstream at concurrency ${c}: imagen-edge before | ${at("imagen-edge before", c).p50 - direct.p50} ms |`] : []),
    ];
  });
  const met = at("imagen-edge", 1).p50 <= at("portkey", 1).p50;
  return [
    `| comparison (medians over ${ROUNDS} rounds) | |`,
    "|---|---:|",
    ...lines,
    "",
    `Target (imagen-edge p50 ≤ Portkey p50 at concurrency 1, while also storing and ledgering): **${met ? "met" : "not met"}**.`,
  ].join("\n");
}

async function main(): Promise<void> {
  await prepareLocalState(OUR_KEY);
  if (COMPARE_TREE) await prepareLocalState(OUR_KEY, `${COMPARE_TREE}/.wrangler/state`);
  const servers = startAll();
  const stop = stopAllOnExit(servers);
  try {
    await Promise.all([
      waitFor(`${UPSTREAM}/v1/models`),
      waitFor(`${PORTKEY}/`),
      waitFor(`${OURS}/healthz`),
      ...(COMPARE_TREE ? [waitFor(`${BEFORE}/healthz`)] : []),
    ]);
    const bytes = await warmUp();
    const load = loadAverages();
    console.log(`image ${SIZE} PNG: ${bytes} bytes; ${SECONDS}s per run; load average before: ${load}`);
    const results: Result[] = [];
    for (const concurrency of [1, 16]) {
      const byTarget = loads(concurrency);
      for (let round = 0; round < ROUNDS; round++) for (const target of CONTENDERS) results.push(await drive(byTarget[target]));
    }
    const report = [...resultRows(results), "", verdict(results)].join("\n");
    console.log(report);
    const stamp =
      `${measuredStamp(load)} ` +
      `imagen-edge under wrangler dev (local workerd); Portkey ` +
      `${portkeyVersion()} and the fake upstream under Node. Image ${SIZE} PNG (${bytes} bytes, base64 in every answer), ${SECONDS}s per run, ${ROUNDS} rounds of interleaved contenders.`;
    writeFileSync("BENCHMARKS.md", writeBenchmarkBlock(readFileSync("BENCHMARKS.md", "utf8"), "openai-compare", `${stamp}\n\n${report}`));
  } finally {
    stop();
  }
}

function portkeyVersion(): string {
  return (JSON.parse(readFileSync("bench/node_modules/@portkey-ai/gateway/package.json", "utf8")) as { version: string }).version;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
