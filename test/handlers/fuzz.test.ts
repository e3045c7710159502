/**
 * Regression guard over every route the app serves, enumerated from the app itself (its route
 * table, joined with /openapi.json for parameter and body schemas), so a route added later is
 * fuzzed without touching this file. For any input, whoever sends it:
 *  - never a 5xx (the config has only a healthy mock backend, so a 5xx can only be a crash);
 *  - every answer carries X-Request-Id, and every error is problem+json with that `request_id`
 *    (OpenAI's `{error: {message, type, …}}` on the OpenAI-compatible routes);
 *  - a 4xx stores nothing in R2 and sends no usage event to the ledger.
 * A failure prints fast-check's counterexample and the seed; re-run that seed to reproduce it.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, it } from "vitest";
import { createApp } from "../../src/app";
import type { Env } from "../../src/env";
import { jsonLogger } from "../../src/lib/log";
import type { UsageEvent } from "../../src/usage/event";
import { testConfig } from "../helpers/config";
import { type FuzzRequest, type OpenApiDocument, type RouteShape, requestsTo, routeShapes } from "../helpers/fuzz-inputs";
import { BASE, bearer, seedKey } from "../helpers/world";

/** Fixed, so a failure is reproducible; change it to explore further. */
const SEED = 20261130;
/** Sized so the whole file stays well under a minute on a busy 2-core machine. */
const RUNS_PER_ROUTE = 60;

/** The R2 bucket, noting every write. */
function recordingBucket(bucket: R2Bucket, writes: string[]): R2Bucket {
  return new Proxy(bucket, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "put" || property === "createMultipartUpload") {
        return (key: string, ...rest: unknown[]) => {
          writes.push(key);
          return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** A usage queue that keeps what it is given (nothing reaches the ledger but through it). */
function recordingQueue(events: UsageEvent[]): Queue<UsageEvent> {
  return {
    send: async (event: UsageEvent) => void events.push(event),
    sendBatch: async (batch: Iterable<MessageSendRequest<UsageEvent>>) => void events.push(...[...batch].map((m) => m.body)),
  } as unknown as Queue<UsageEvent>;
}

const writes: string[] = [];
const events: UsageEvent[] = [];
const app = createApp(jsonLogger({ service: "fuzz" }, () => {}));
const fuzzEnv = {
  ...env,
  IMAGEN_CONFIG: testConfig({ backends: { mock: { type: "mock", model: "mock-png" } } }),
  IMAGES: recordingBucket(env.IMAGES, writes),
  USAGE_EVENTS: recordingQueue(events),
} as Env;
const keys: Record<"user" | "admin", string> = { user: "", admin: "" };
/** Names this world knows: its backend and style, its callers, dates, a group key. */
const VOCABULARY = ["mock", "blog-header", "fuzz-user", "fuzz-admin", "2026-05-01", "2026-06-01", "backend,caller", "replicate", "1"];

async function send(r: FuzzRequest): Promise<Response> {
  const headers = new Headers();
  if (r.identity === "user" || r.identity === "admin") for (const [k, v] of Object.entries(bearer(keys[r.identity]))) headers.set(k, v);
  if (r.identity === "malformed") headers.set("authorization", "Basic Zm9vOmJhcg==");
  if (r.identity === "unknown-key") headers.set("authorization", "Bearer imk_not_a_key_anyone_has");
  if (r.contentType) headers.set("content-type", r.contentType);
  const url = new URL(BASE + r.path);
  for (const [k, v] of Object.entries(r.query)) url.searchParams.set(k, v);
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(url, { method: r.method, headers, ...(r.body !== null && { body: r.body }) }), fuzzEnv, ctx);
  // Whatever the request left running (usage delivery) must have happened before we look.
  await waitOnExecutionContext(ctx);
  return response;
}

/** The OpenAI-compatible routes answer errors in OpenAI's shape instead of problem+json. */
const OPENAI_ROUTES = new Set([
  "POST /v1/images/generations",
  "POST /v1/images/edits",
  "POST /v1/images/variations",
  "GET /v1/models",
  "GET /v1/models/:model",
]);

async function checkAnswer(r: FuzzRequest): Promise<void> {
  writes.length = 0;
  events.length = 0;
  const response = await send(r);
  const text = await response.text();
  const requestId = response.headers.get("x-request-id");
  const fail = (what: string) => {
    throw new Error(`${r.method} ${r.path} → ${response.status}: ${what}\n${text.slice(0, 500)}`);
  };
  if (response.status >= 500) fail("a server error for client input");
  if (!requestId) fail("no X-Request-Id header");
  if (response.status < 400) return;
  const isProblem = /^application\/problem\+json/.test(response.headers.get("content-type") ?? "");
  // A method no route has (405), or a path that normalises away from the route (`/v1/models/..`,
  // 404), is answered by the app itself, before any route's shape: problem+json like elsewhere.
  if (OPENAI_ROUTES.has(r.route) && !(isProblem && (response.status === 405 || response.status === 404))) {
    // OpenAI's own error shape on its routes (the SDKs read nothing else); the id stays in the header.
    const body = JSON.parse(text) as { error?: { message?: unknown; type?: unknown } };
    if (typeof body.error?.message !== "string" || typeof body.error.type !== "string") fail("an error not in OpenAI's shape");
  } else {
    if (!isProblem) fail("an error that is not problem+json");
    const problem = JSON.parse(text) as { request_id?: unknown };
    if (problem.request_id !== requestId) fail(`request_id ${JSON.stringify(problem.request_id)} is not the X-Request-Id ${requestId}`);
  }
  if (writes.length > 0) fail(`a ${response.status} stored ${JSON.stringify(writes)} in R2`);
  if (events.length > 0) fail(`a ${response.status} sent ${events.length} usage event(s) to the ledger`);
}

// The routes come from the app itself: its route table, and its own /openapi.json for the schemas.
const doc = (await (await app.request("/openapi.json", {}, fuzzEnv)).json()) as OpenApiDocument;
const shapes: RouteShape[] = routeShapes(app.routes, doc);

beforeAll(async () => {
  keys.user = await seedKey("fuzz-user");
  keys.admin = await seedKey("fuzz-admin", "admin");
});

describe("fuzzing every route with bad input", () => {
  it("finds the routes to fuzz in the app itself", () => {
    const names = shapes.map((s) => `${s.method} ${s.pattern}`);
    // A few anchors, so an enumeration that silently finds nothing cannot pass.
    for (const route of ["POST /v1/images", "GET /v1/images/:key", "GET /v1/usage", "POST /v1/keys", "GET /healthz"]) {
      if (!names.includes(route)) throw new Error(`route ${route} not enumerated; found ${names.join(", ")}`);
    }
  });

  it.each(shapes.map((shape) => [`${shape.method} ${shape.pattern}`, shape] as const))(
    "%s: never 5xx; errors are problem+json with the request id; a 4xx stores and ledgers nothing",
    async (_route, shape) => {
      const requests = requestsTo(shape, VOCABULARY);
      await fc.assert(fc.asyncProperty(requests, checkAnswer), { seed: SEED, numRuns: RUNS_PER_ROUTE });
    },
  );
});
