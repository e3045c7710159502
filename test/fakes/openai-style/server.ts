/**
 * The HTTP shell both fake image APIs share (a real node:http server): bearer keys as isolated
 * accounts, request records, scripted failures, delays and dropped connections. What is Together
 * or OpenAI about an answer — validation, error wording, response shape, rate-limit headers —
 * comes from the provider passed in (test/fakes/together/provider.ts, test/fakes/openai/provider.ts).
 *
 * Routes: GET /v1/models, POST /v1/images/generations, POST /v1/images/edits (multipart, for a
 * provider that edits), and the test-only /__fake/scenario and /__fake/requests (see ./control.ts).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { InputImageRecord } from "../input-images";
import type { RecordedRequest, Scenario, ScriptedFailure } from "./control";

/** An answer as the provider would give it. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  /** Input images the provider took to answer (kept on the request's record, never sent). */
  readonly inputs?: readonly InputImageRecord[];
}

export interface FakeProvider {
  /** Keys this provider issues; anything else is a 401. */
  readonly keyPattern: RegExp;
  /** The 401 answer, for a missing key (null) or a malformed one. */
  unauthorized(key: string | null): Answer;
  /** The answer to a scripted failure status (429, 500, 503, …). */
  failure(status: number, retryAfterSeconds: number | undefined): Answer;
  /** GET /v1/models. */
  models(): Answer;
  /** POST /v1/images/generations: validation (fetching any input image it names), then real images. */
  generate(body: unknown): Answer | Promise<Answer>;
  /** POST /v1/images/edits (multipart): absent when the provider has no such route. */
  edit?(form: FakeForm): Answer;
  /** Rate-limit headers on every authenticated answer. */
  rateLimitHeaders(): Record<string, string>;
}

/** A multipart body as the fake read it: text fields, and files with the bytes they carried. */
export interface FakeForm {
  readonly fields: Readonly<Record<string, string>>;
  /** By part name (`image`, `image[]`, `mask`), in the order sent. */
  readonly files: Readonly<Record<string, readonly FakeFile[]>>;
}

interface FakeFile {
  readonly filename: string;
  readonly type: string;
  readonly bytes: Buffer;
}

export interface RunningFake {
  readonly url: string;
  close(): Promise<void>;
}

class Account {
  scenario: Scenario = {};
  queue: ScriptedFailure[] = [];
  readonly requests: RecordedRequest[] = [];
}

export async function startImagesApi(provider: FakeProvider, options: { port?: number } = {}): Promise<RunningFake> {
  const accounts = new Map<string, Account>();
  const accountFor = (key: string) => {
    let account = accounts.get(key);
    if (!account) accounts.set(key, (account = new Account()));
    return account;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { error: { message: String(error), type: "server_error", param: null, code: null } } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const raw = await readRaw(req);
    const form = /^multipart\/form-data/i.test(req.headers["content-type"] ?? "") ? await readForm(raw, req.headers["content-type"]!) : null;
    const body = form ? recordOf(form) : parseJson(raw);

    if (url.pathname === "/__fake/scenario" && req.method === "POST") {
      const { key, ...scenario } = (body ?? {}) as Scenario & { key?: string };
      if (!key || !provider.keyPattern.test(key)) return send(res, { status: 400, body: { detail: "scenario needs a key this provider issues" } });
      const account = accountFor(key);
      account.scenario = scenario;
      account.queue = [...(scenario.fail_next ?? [])];
      return send(res, { status: 200, body: { ok: true } });
    }
    if (url.pathname === "/__fake/requests" && req.method === "GET") {
      return send(res, { status: 200, body: accounts.get(url.searchParams.get("key") ?? "")?.requests ?? [] });
    }

    const key = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? null;
    if (key === null || !provider.keyPattern.test(key)) return send(res, provider.unauthorized(key));
    const account = accountFor(key);
    // Recorded on arrival: a test may look while the answer is still delayed.
    const entry: { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] } = { method: req.method ?? "GET", path: url.pathname, body, status: null };
    account.requests.push(entry);
    const record = (status: number | null) => void (entry.status = status);
    if (account.scenario.delay_ms) await sleep(account.scenario.delay_ms);

    let answer: Answer;
    if (req.method === "GET" && url.pathname === "/v1/models") {
      answer = provider.models();
    } else if (req.method === "POST" && url.pathname === "/v1/images/generations") {
      const scripted = account.queue.shift();
      if (scripted?.drop) {
        record(null);
        res.socket?.destroy();
        return;
      }
      answer = scripted ? provider.failure(scripted.status ?? 500, scripted.retry_after) : await provider.generate(body);
    } else if (req.method === "POST" && url.pathname === "/v1/images/edits" && provider.edit) {
      const scripted = account.queue.shift();
      if (scripted?.drop) {
        record(null);
        res.socket?.destroy();
        return;
      }
      answer = scripted
        ? provider.failure(scripted.status ?? 500, scripted.retry_after)
        : form
          ? provider.edit(form)
          : { status: 400, body: { error: { message: "edits take multipart/form-data", type: "invalid_request_error", param: null, code: null } } };
    } else {
      answer = {
        status: 404,
        body: { error: { message: `Unknown request URL: ${req.method} ${url.pathname}.`, type: "invalid_request_error", param: null, code: "unknown_url" } },
      };
    }
    record(answer.status);
    if (answer.inputs) entry.inputs = answer.inputs;
    send(res, { ...answer, headers: { ...provider.rateLimitHeaders(), ...answer.headers } });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return null;
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
}

/** A multipart body parsed by the platform's own FormData reader (as a server framework would). */
async function readForm(raw: Buffer, contentType: string): Promise<FakeForm | null> {
  let parsed: FormData;
  try {
    parsed = await new Request("http://fake/", { method: "POST", headers: { "content-type": contentType }, body: raw }).formData();
  } catch {
    return null;
  }
  const fields: Record<string, string> = {};
  const files: Record<string, FakeFile[]> = {};
  for (const [name, value] of parsed.entries()) {
    if (typeof value === "string") fields[name] = value;
    else (files[name] ??= []).push({ filename: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) });
  }
  return { fields, files };
}

/** What a test may see of a multipart request: its fields, and each file's name, type, size and sha256 (never the key). */
function recordOf(form: FakeForm | null): unknown {
  if (!form) return null;
  const files = Object.fromEntries(
    Object.entries(form.files).map(([name, list]) => [
      name,
      list.map((file) => ({
        filename: file.filename,
        type: file.type,
        bytes: file.bytes.length,
        sha256: createHash("sha256").update(file.bytes).digest("hex"),
      })),
    ]),
  );
  return { ...form.fields, files };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
