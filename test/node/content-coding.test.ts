/**
 * `Accept-Encoding` that refuses `identity` (RFC 9110 §12.5.3: `identity;q=0`) reaches the real
 * Worker in workerd over a real socket: the runtime must never have to replace an answer — least
 * of all a 201 for work already done and charged — with its own 415.
 */
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningWorker, startWorker } from "./helpers/worker";

const CONFIG = {
  default_backend: "mock",
  backends: { mock: { type: "mock", model: "mock-png" } },
};

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** node:http, so that exactly these headers are sent and the bytes come back as they were encoded. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function decoded(answer: RawAnswer): string {
  return (answer.headers["content-encoding"] === "gzip" ? gunzipSync(answer.body) : answer.body).toString("utf8");
}

let worker: RunningWorker;

beforeAll(async () => {
  worker = await startWorker({ config: CONFIG });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
});

function generate(acceptEncoding: string): Promise<RawAnswer> {
  return send(
    `${worker.url}/v1/images`,
    "POST",
    { authorization: `Bearer ${worker.userKey}`, "content-type": "application/json", "accept-encoding": acceptEncoding },
    JSON.stringify({ prompt: `encoded ${acceptEncoding}`, size: "64x64" }),
  );
}

async function imageCount(): Promise<number> {
  const page = await send(`${worker.url}/v1/images?limit=100`, "GET", { authorization: `Bearer ${worker.userKey}` });
  return JSON.parse(decoded(page)).images.length;
}

describe("Accept-Encoding", () => {
  for (const acceptEncoding of ["identity;q=0", "*;q=0", "br;q=0, gzip;q=0, identity;q=0", "deflate, identity;q=0"]) {
    it(`that rules out identity, gzip and br is refused with 406 before any work (${acceptEncoding})`, { timeout: 60_000 }, async () => {
      const before = await imageCount();
      const answer = await generate(acceptEncoding);
      expect(answer.status).toBe(406);
      expect(answer.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(decoded(answer)).type).toBe("urn:imagen-edge:problem:not-acceptable");
      expect(await imageCount()).toBe(before);
    });
  }

  for (const acceptEncoding of ["gzip, identity;q=0", "br;q=0.5, *;q=0", "identity", "*"]) {
    it(`that leaves one coding open gets the 201 (${acceptEncoding})`, { timeout: 60_000 }, async () => {
      const answer = await generate(acceptEncoding);
      expect(answer.status).toBe(201);
      if (answer.headers["content-encoding"] !== "br") expect(JSON.parse(decoded(answer)).images).toHaveLength(1);
    });
  }
});
