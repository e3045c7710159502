/**
 * A paid one-shot call is never sent twice across a restart of the runtime itself: the Worker runs
 * under `wrangler dev` with its state persisted to a directory of this test, an async job calls
 * the Together fake (which holds the call open), the runtime's whole process group is killed
 * while the call is out, and a new `wrangler dev` starts on the same state. The job's alarm runs
 * again there, finds the attempt stored as sent without an answer, and ends it as unknown — held,
 * never re-sent. The fake counts the creates.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedLocalKey } from "../../scripts/keys";
import { QUIET_ENV } from "../../scripts/wrangler";
import type { RunningFake } from "../global-setup";
import { creates, newKey, requestsOf, setScenario } from "../fakes/openai-style/control";
import { start as startTogether } from "../fakes/together/server";
import { testConfig } from "../helpers/config";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
/** wrangler needs Node 22: the project's pinned one (npm scripts run it), whatever Node runs vitest. */
const PINNED_NODE = join(ROOT, "node_modules", "node", "bin", "node");
const NODE = existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath;
const CALLER = "restart-caller";
const API_KEY = `imk_test_${"7".repeat(32)}`;
const URL_SECRET = randomBytes(32).toString("base64url");

let together: RunningFake;
let state: string;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  together = await startTogether();
  state = await mkdtemp(join(tmpdir(), "imagen-restart-"));
  await seedLocalKey(API_KEY, CALLER, "user", "restart test", state);
  const migrated = spawnSync(NODE, [WRANGLER, "d1", "migrations", "apply", "imagen-ledger", "--local", "--persist-to", state], {
    cwd: ROOT,
    env: QUIET_ENV,
    encoding: "utf8",
  });
  if (migrated.status !== 0) throw new Error(`ledger migrations failed:\n${migrated.stdout}\n${migrated.stderr}`);
});

afterAll(async () => {
  for (const child of running) stop(child);
  await together?.close();
  if (state) await rm(state, { recursive: true, force: true });
});

/** A port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** `wrangler dev` on the persisted state, in a process group of its own (so a stop ends workerd too). */
async function startRuntime(config: object, togetherKey: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const inspector = await freePort();
  const child = spawn(
    NODE,
    [
      WRANGLER,
      "dev",
      "-c",
      "wrangler.toml",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      "--log-level",
      "error",
      "--var",
      `IMAGEN_CONFIG:${JSON.stringify(config)}`,
      "--var",
      `TOGETHER_API_KEY:${togetherKey}`,
      "--var",
      `IMAGEN_URL_SECRET:${URL_SECRET}`,
    ],
    { cwd: ROOT, env: QUIET_ENV, stdio: "ignore", detached: true },
  );
  running.add(child);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    try {
      // Any answer means the runtime is up (healthz itself may report a config problem).
      return (await fetch(`${url}/healthz`)).status > 0 || undefined;
    } catch {
      return undefined;
    }
  }, 240_000);
  return { url, child };
}

/** Kills the runtime's whole process group at once: no shutdown hook of ours runs. */
function stop(child: ChildProcess): Promise<void> {
  running.delete(child);
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // The group is gone already.
  }
  return exited;
}

async function until<T>(check: () => Promise<T | undefined>, withinMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

describe("a restart of the runtime while a one-shot paid call is out", () => {
  it("kill wrangler dev mid-call, start it again on the same state: the job ends unknown and the fake saw exactly one create", async () => {
    const togetherKey = newKey("together");
    // The create is held open far longer than the test runs: only the restart can end it.
    await setScenario(together.url, togetherKey, { delay_ms: 600_000 });
    const config = testConfig({
      providers: { together: { base_url: `${together.url}/v1` } },
      backends: { together: { type: "together", model: "black-forest-labs/FLUX.1-schnell", default_steps: 4, timeout_s: 600 } },
      default_backend: "together",
      guard: { callers: { [CALLER]: { daily_usd: 1 } } },
    });
    const auth = { authorization: `Bearer ${API_KEY}` };

    const first = await startRuntime(config, togetherKey);
    const accepted = await fetch(`${first.url}/v1/images`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({ prompt: "a fox across a restart", size: "512x512", seed: 11 }),
    });
    expect(accepted.status).toBe(202);
    const job = (await accepted.json()) as { id: string };
    await until(async () => (creates(await requestsOf(together.url, togetherKey)).length === 1 ? true : undefined), 120_000);

    await stop(first.child);
    const second = await startRuntime(config, togetherKey);
    const ended = await until(
      async () => {
        const response = await fetch(`${second.url}/v1/jobs/${job.id}`, { headers: auth });
        if (response.status !== 200) return undefined;
        const document = (await response.json()) as { status: string; error?: { attempts?: { cost_exposure: string; detail: string }[] } };
        return document.status === "running" || document.status === "queued" ? undefined : document;
      },
      180_000,
      500,
    );
    expect(ended.status).toBe("failed");
    expect(ended.error?.attempts).toMatchObject([{ cost_exposure: "unknown" }]);
    expect(ended.error?.attempts?.[0]?.detail).toMatch(/went out before a restart .* not sent again/);
    expect(creates(await requestsOf(together.url, togetherKey))).toHaveLength(1);
    // The budget still holds the attempt at its worst case: unknown is not zero.
    const budget = (await (await fetch(`${second.url}/v1/budget`, { headers: auth })).json()) as { daily: { reserved_usd: number } };
    expect(budget.daily.reserved_usd).toBeGreaterThan(0);
    await stop(second.child);
  }, 600_000);
});
