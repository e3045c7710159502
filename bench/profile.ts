/**
 * `npm run bench:profile`: where the Worker's CPU goes on the full generation path. Starts the
 * Worker under `wrangler dev`, drives POST /v1/images at concurrency 16 for BENCH_SECONDS while
 * the V8 sampling profiler runs inside workerd (through wrangler's inspector port), and prints the
 * functions with the most self time, grouped by source file.
 *
 * Options (env): BENCH_SECONDS (default 8), BENCH_PORT (default 8836), BENCH_INSPECTOR_PORT
 * (default 9336), BENCH_TOP (default 40 rows). Loopback only; the Worker is stopped at the end.
 */
import { drive, prepareLocalState, startWranglerDev, stopAllOnExit, waitFor } from "./harness";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const PORT = Number(process.env.BENCH_PORT ?? 8836);
const INSPECTOR_PORT = Number(process.env.BENCH_INSPECTOR_PORT ?? 9336);
const TOP = Number(process.env.BENCH_TOP ?? 40);
const KEY = "imk_bench_key";
const URL_ = `http://127.0.0.1:${PORT}`;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

/**
 * A minimal Chrome DevTools Protocol client over wrangler's inspector proxy, which wants an
 * `Origin` header (Node's WebSocket takes one as an undici extension) and renumbers message ids,
 * so calls go one at a time and an answer with an id settles the call in flight — the first one
 * its `accept` takes (the proxy answers some of its own calls on the same socket).
 */
async function inspector(): Promise<{
  call: (method: string, params?: object, accept?: (result: unknown) => boolean) => Promise<unknown>;
  close: () => void;
}> {
  const origin = `http://127.0.0.1:${INSPECTOR_PORT}`;
  const targets = (await (await fetch(`${origin}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  if (!targets[0]) throw new Error("no inspector target");
  const init = { headers: { origin } } as unknown as string[];
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl, init);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", reject);
  });
  let inFlight: { resolve: (value: unknown) => void; reject: (error: Error) => void; accept: (result: unknown) => boolean } | null = null;
  socket.addEventListener("message", (message: MessageEvent) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown; error?: unknown };
    if (data.id === undefined || !inFlight || (!data.error && !inFlight.accept(data.result))) return;
    const call = inFlight;
    inFlight = null;
    if (data.error) call.reject(new Error(JSON.stringify(data.error)));
    else call.resolve(data.result);
  });
  let id = 0;
  return {
    call: (method, params = {}, accept = () => true) =>
      new Promise((resolve, reject) => {
        inFlight = { resolve, reject, accept };
        socket.send(JSON.stringify({ id: ++id, method, params }));
      }),
    close: () => socket.close(),
  };
}

async function main(): Promise<void> {
  await prepareLocalState(KEY);
  const worker = startWranglerDev(PORT, INSPECTOR_PORT);
  const stop = stopAllOnExit([worker]);
  try {
    await waitFor(`${URL_}/healthz`);
    const load = {
      target: "full path",
      url: URL_,
      path: "/v1/images",
      headers: { authorization: `Bearer ${KEY}` },
      body: (n: number) => ({ prompt: "benchmark lighthouse at dusk", size: "1024x1024", seed: n, source: "bench" }),
    };
    await drive({ ...load, concurrency: 4, seconds: 2 }); // warm the isolate and its caches
    const cdp = await inspector();
    await cdp.call("Profiler.enable");
    await cdp.call("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.call("Profiler.start");
    const result = await drive({ ...load, concurrency: 16, seconds: SECONDS });
    const { profile } = (await cdp.call("Profiler.stop", {}, (result) => typeof result === "object" && result !== null && "profile" in result)) as {
      profile: { nodes: ProfileNode[] };
    };
    cdp.close();
    console.log(`${result.requests} requests, ${result.errors} errors, p50 ${result.p50} ms, ${result.rps.toFixed(1)} req/s`);
    const self = new Map<string, number>();
    let total = 0;
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      total += hits;
      const { functionName, url, lineNumber } = node.callFrame;
      const name = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
      self.set(name, (self.get(name) ?? 0) + hits);
    }
    const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    for (const [name, hits] of rows) console.log(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`);
  } finally {
    stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
