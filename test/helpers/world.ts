/**
 * The test world: API keys seeded into the real local KV, requests sent through the real Worker
 * (or through the app with a different config), objects read back from the real local R2.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createApp } from "../../src/app";
import { ApiKeyStore } from "../../src/auth/api-keys";
import type { Role } from "../../src/lib/caller";
import type { Env } from "../../src/env";
import { jsonLogger, type LogLevel } from "../../src/lib/log";
import { callerIndexPrefix } from "../../src/storage/image-index";

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

/**
 * An object the Worker writes after its answer (a sidecar, an index marker), once it is there.
 * Polled, never slept for: on a busy machine the runtime's `waitUntil` work may lag the answer.
 */
export async function eventuallyStored(key: string, withinMs = 30_000): Promise<R2ObjectBody> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const object = await env.IMAGES.get(key);
    if (object) return object;
    if (Date.now() > deadline) throw new Error(`${key} was not stored within ${withinMs} ms of the answer`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether `caller`'s index has a marker for `imageKey` (markers name their image in metadata). */
async function isIndexed(caller: string, imageKey: string): Promise<boolean> {
  let cursor: string | undefined;
  do {
    const page = await env.IMAGES.list({ prefix: callerIndexPrefix(caller), include: ["customMetadata"], ...(cursor && { cursor }) });
    if (page.objects.some((marker) => marker.customMetadata?.key === imageKey)) return true;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return false;
}

/**
 * Waits for what a sync answer leaves to `waitUntil`: each image's sidecar (when the answer
 * links one) and its marker in the caller's index. Polled, with a generous bound.
 */
export async function eventuallyFollowedUp(
  images: readonly { readonly key: string; readonly sidecar_url?: string | null }[],
  withinMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (const image of images) {
    if (image.sidecar_url) await eventuallyStored(`${image.key}.json`, withinMs);
    const caller = (await env.IMAGES.head(image.key))?.customMetadata?.caller;
    if (caller === undefined) throw new Error(`${image.key} has no caller in its metadata`);
    while (!(await isIndexed(caller, image.key))) {
      if (Date.now() > deadline) throw new Error(`${image.key} was not indexed within ${withinMs} ms of the answer`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
