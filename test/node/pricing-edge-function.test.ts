/**
 * The pricing-refresh Supabase Edge Function runs in Deno, not workerd or Node, so it is checked
 * and tested with the real Deno runtime (npm `deno`): `deno check` type-checks the entry point
 * and everything it imports from src/, `deno test` runs handler_test.ts (fake fetch answering with
 * the Portkey fixtures, in-memory price store), and the entry point itself is booted with
 * `deno run` against a local stand-in for Supabase's Data API to see the wiring end to end.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { fakeSupabaseKey } from "../helpers/keys";

const edgeKey = fakeSupabaseKey("secret", "edge");

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url).href);
const deno = `${root}tools/node_modules/.bin/deno`;
const fn = "supabase/functions/pricing-refresh";
const config = `${fn}/deno.json`;
// NO_COLOR keeps output readable in a failure message; DENO_NO_UPDATE_CHECK keeps Deno offline.
const denoEnv = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };

async function denoCommand(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(deno, args, { cwd: root, env: denoEnv, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** Answers every Data API call like PostgREST does for a rejected key (401, PGRST301). */
async function rejectingDataApi(): Promise<{ url: string; seen: SeenRequest[]; server: Server }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "PGRST301", details: null, hint: null, message: "JWSError JWSInvalidSignature" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

/** Boots index.ts on an ephemeral port; resolves with its base URL once Deno says it listens. */
function bootFunction(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(deno, ["run", "--allow-net", "--allow-env", "--allow-read", "--config", config, `${fn}/index.ts`], {
    cwd: root,
    env: { ...denoEnv, DENO_SERVE_ADDRESS: "tcp:127.0.0.1:0", ...env },
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /Listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (listening?.[1]) resolve({ url: listening[1], child, output: () => output });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`deno exited with ${code} before listening:\n${output}`)));
  });
}

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

describe("pricing-refresh Edge Function (Deno)", () => {
  it("type-checks under Deno, entry point and shared src/ code included", async () => {
    const result = await denoCommand(["check", "--config", config, `${fn}/index.ts`, `${fn}/handler.ts`]);
    expect(result.output).not.toMatch(/error/i);
    expect(result.code).toBe(0);
  });

  it("passes its Deno tests", async () => {
    const result = await denoCommand(["test", "--allow-read", "--config", config, fn]);
    const summary = /ok \| (\d+) passed \| 0 failed/.exec(result.output);
    expect(summary, result.output).not.toBeNull();
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(8);
    expect(result.code).toBe(0);
  });

  it("boots, refuses callers without the secret, and reads prices from Supabase's mai schema with the key", async () => {
    const api = await rejectingDataApi();
    cleanups.push(() => api.server.close());
    const fnServer = await bootFunction({
      PRICING_REFRESH_SECRET: "edge-test-secret",
      SUPABASE_URL: api.url,
      SUPABASE_SERVICE_ROLE_KEY: edgeKey,
      // No network sources: this test is about the wiring, not Portkey.
      PRICING_CONFIG: '{"sources": []}',
    });
    cleanups.push(() => fnServer.child.kill());

    const refused = await fetch(fnServer.url, { method: "POST" });
    expect(refused.status).toBe(401);
    expect(api.seen).toEqual([]);

    const response = await fetch(fnServer.url, { method: "POST", headers: { "x-pricing-refresh-secret": "edge-test-secret" } });
    const report = (await response.json()) as { ok: boolean; error: string };
    expect(response.status, fnServer.output()).toBe(503);
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/^price store unreachable: Supabase price store current failed: HTTP 401 PGRST301/);
    expect(report.error).not.toContain(edgeKey);

    // The previous run is read first (its open warnings are carried), then the price table.
    expect(api.seen[0]?.url).toMatch(/^\/rest\/v1\/imagen_pricing_runs\?select=\*&order=started_at\.desc/);
    const read = api.seen.find((r) => r.url.startsWith("/rest/v1/imagen_pricing?"));
    expect(read?.method).toBe("GET");
    expect(read?.url).toMatch(/^\/rest\/v1\/imagen_pricing\?select=\*&effective_to=is\.null/);
    expect(read?.headers["accept-profile"]).toBe("mai");
    expect(read?.headers.apikey).toBe(edgeKey);
    // Then it tried to record the failed run.
    expect(api.seen.some((r) => r.method === "POST" && r.url.startsWith("/rest/v1/imagen_pricing_runs"))).toBe(true);
  });
});
