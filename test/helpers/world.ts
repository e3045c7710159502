/**
 * The test world: API keys seeded into the real local KV, requests sent through the real Worker
 * (or through the app with a different config), objects read back from the real local R2.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createApp } from "../../src/app";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Role } from "../../src/core/request";
import type { Env } from "../../src/env";
import { jsonLogger, type LogLevel } from "../../src/lib/log";

export const BASE = "http://imagen.test";

let counter = 0;

/** A fresh API key for `caller`, stored hashed in KV like any real key. */
export async function seedKey(caller: string, role: Role = "user"): Promise<string> {
  const key = `imk_test_${caller.replace(/\W/g, "_")}_${++counter}_${crypto.randomUUID().slice(0, 8)}`;
  await new ApiKeyStore(env.API_KEYS).add(key, caller, role, null, new Date());
  return key;
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** Through the deployed Worker entry point with the shipped wrangler.toml config (`origin`: where it was sent). */
export function callWorker(path: string, init: RequestInit = {}, origin = BASE): Promise<Response> {
  return exports.default.fetch(new Request(origin + path, init));
}

/** Where `wrangler dev` listens: a loopback origin, the only one the shipped config builds job URLs from. */
export const LOCAL_DEV_ORIGIN = "http://127.0.0.1:8787";

export function postJson(_path: string, key: string | null, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? bearer(key) : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

interface CapturedLog {
  readonly level: LogLevel;
  readonly line: string;
}

/** The real app with another IMAGEN_CONFIG (same bindings, plus `secrets`), capturing its log lines. */
export function appWithConfig(config: unknown, secrets: Record<string, string> = {}) {
  const logs: CapturedLog[] = [];
  const app = createApp(jsonLogger({ service: "test" }, (line, level) => logs.push({ line, level })));
  const testEnv = { ...env, ...secrets, IMAGEN_CONFIG: config } as Env;
  return {
    logs,
    /** `origin`: where the request was sent (`wrangler dev` listens on a loopback one). */
    async call(path: string, init: RequestInit = {}, origin = BASE): Promise<Response> {
      const ctx = createExecutionContext();
      const response = await app.fetch(new Request(origin + path, init), testEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
  };
}

/** Every object key in the bucket (for "nothing was written" assertions). */
export async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.IMAGES.list({ ...(cursor && { cursor }) });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.sort();
}
