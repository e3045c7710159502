/**
 * A fake Replicate HTTP API (a real node:http server) for tests and local runs.
 *
 *   npx tsx test/fakes/replicate/server.ts --port 9010     → base_url http://127.0.0.1:9010/v1
 *
 * What it speaks, as Replicate does (see docs/replicate.md for the reference):
 *  - POST /v1/models/{owner}/{name}/predictions (a `version` in the body is a 422) and
 *    POST /v1/predictions {version: hash | owner/name | owner/name:hash}; GET /v1/predictions/{id};
 *    POST /v1/predictions/{id}/cancel; GET /v1/webhooks/default/secret; GET /v1/account.
 *  - GET /v1/predictions: the account's predictions, newest first, 100 per page, as
 *    `{next, previous, results}` where `next` / `previous` are full URLs carrying a `cursor`.
 *  - Bearer auth: any token shaped like `r8_…` is an account of its own; anything else gets the
 *    401 problem+json. Accounts are isolated, so parallel tests each use their own token.
 *  - `Prefer: wait` / `wait=N` (1..60): 201 once the outputs exist (status may still say
 *    `processing`, metrics empty), 202 if N runs out first; no Prefer: 201 with `starting`.
 *  - `Cancel-After: 30s | 5m | 1h30m` (min 5 s): aborted if still starting, canceled if running.
 *  - starting → processing → output written → succeeded, timing per scenario; logs carry
 *    `Using seed: N`; metrics.predict_time; version "hidden" on the model endpoint.
 *  - Outputs on /delivery/… URLs serving real PNG / WebP / JPEG bytes (per output_format,
 *    default webp) that EXPIRE: after output_ttl_ms they answer 404 and the prediction has
 *    `output: null, data_removed: true`. Array output for flux-schnell/dev, one string for
 *    flux-1.1-pro/pro. Optional `data:` URI outputs.
 *  - 422 `invalid_fields` from per-model input schemas (e.g. num_inference_steps > 4 on schnell).
 *  - Signed webhooks (Standard Webhooks) per webhook_events_filter, see ./webhooks.ts.
 *  - FLUX.1 Kontext (flux-kontext-pro / -max / -dev): `input_image` is taken when the prediction
 *    is created, as Replicate takes file inputs: a data URI is decoded, an http(s) URL fetched
 *    (loopback hosts only, see ../input-images.ts). An image it cannot take fails the prediction.
 *    The output is about one megapixel in the input's ratio (`aspect_ratio: match_input_image`,
 *    the default) or the ratio asked for.
 *
 * Test control (nothing here is Replicate's):
 *  - POST /__fake/scenario {token, ...Scenario}: set the account's behaviour (resets its queues).
 *    `next_create` / `next_get` / `next_cancel` / `next_download`: scripted answers consumed one
 *    per matching request, e.g. {"status":429,"retry_after":1}, {"status":429,"retry_after_header":2},
 *    {"status":500}, {"status":402}, {"network_error":true}; then normal behaviour resumes.
 *    A scripted create with `after_create: true` makes the prediction first and then answers
 *    as scripted: the response lost after the work was accepted. `next_list` scripts the list.
 *  - GET /__fake/requests?token=…  every request the account made (method, path, headers, body).
 *  - GET /__fake/webhooks?token=…  every webhook attempt (exact headers + body, status or error).
 *  - GET /__fake/inputs?token=…    every input image the account's predictions took (sha256, size, or why not).
 *  - GET /__fake/models            the known models and their fake version ids.
 * `time_scale` multiplies the durations clients express in seconds (Prefer wait, Cancel-After,
 * webhook retries) so tests need not wait whole seconds; it is 1 unless a scenario sets it.
 */
import { randomBytes, randomInt } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { takeInputImage, type InputImageRecord } from "../input-images";
import { CONTENT_TYPES, encodeImage } from "./images";
import {
  INPUT_IMAGE,
  modelByName,
  modelByVersion,
  numOutputs,
  outputFormatOf,
  producedSize,
  takesInputImage,
  validateInput,
  versionOf,
  MODELS,
  type FakeModel,
} from "./models";
import type { RequestRecord, Scenario, Scripted, WebhookEvent } from "./control";
import { newWebhookSecret, WebhookSender } from "./webhooks";

export interface StartOptions {
  readonly port?: number;
  readonly host?: string;
  /** Behaviour of accounts that never set a scenario. */
  readonly defaults?: Scenario;
}

export interface RunningFake {
  readonly url: string;
  close(): Promise<void>;
}

const DEFAULT_SCENARIO = {
  starting_ms: 40,
  processing_ms: 120,
  finalize_ms: 30,
  outcome: "succeeded",
  output_mode: "url",
  output_ttl_ms: 3_600_000,
  chunked_downloads: false,
  time_scale: 1,
  list_page_size: 100,
} as const;

const TOKEN = /^r8_[A-Za-z0-9_-]{4,}$/;
const ALL_EVENTS: readonly WebhookEvent[] = ["start", "output", "logs", "completed"];

class Account {
  scenario: Scenario = {};
  queues = { create: [] as Scripted[], get: [] as Scripted[], cancel: [] as Scripted[], download: [] as Scripted[], list: [] as Scripted[] };
  readonly requests: RequestRecord[] = [];
  readonly inputs: (InputImageRecord & { readonly prediction_id: string })[] = [];
  readonly secret = newWebhookSecret();
  readonly webhooks = new WebhookSender(
    () => this.secret,
    () => this.scenario.webhooks ?? {},
    () => this.setting("time_scale"),
  );

  constructor(private readonly defaults: Scenario) {
    this.configure(defaults);
  }

  configure(scenario: Scenario): void {
    this.scenario = { ...this.defaults, ...scenario };
    this.queues = {
      create: [...(scenario.next_create ?? [])],
      get: [...(scenario.next_get ?? [])],
      cancel: [...(scenario.next_cancel ?? [])],
      download: [...(scenario.next_download ?? [])],
      list: [...(scenario.next_list ?? [])],
    };
  }

  setting<K extends keyof typeof DEFAULT_SCENARIO>(key: K): NonNullable<Scenario[K]> | (typeof DEFAULT_SCENARIO)[K] {
    return (this.scenario[key] ?? DEFAULT_SCENARIO[key]) as NonNullable<Scenario[K]>;
  }
}

interface FakePrediction {
  readonly id: string;
  readonly account: Account;
  readonly model: FakeModel;
  readonly version: string;
  readonly input: Record<string, unknown>;
  readonly seed: number;
  readonly createdAt: number;
  readonly startAt: number;
  readonly outputAt: number;
  readonly doneAt: number;
  readonly outcome: NonNullable<Scenario["outcome"]>;
  readonly error: string;
  readonly deadline?: number;
  canceledAt?: number;
  readonly ttlMs: number;
  readonly outputMode: "url" | "data_uri";
  readonly outputHost?: string;
  readonly chunked: boolean;
  readonly webhook?: string;
  readonly events: ReadonlySet<WebhookEvent>;
  readonly emitted: Set<WebhookEvent>;
  readonly timers: Set<NodeJS.Timeout>;
  /** The image a Kontext prediction edits, as taken when it was created. */
  readonly inputImage?: { readonly bytes: Buffer; readonly width: number; readonly height: number };
}

export async function start(options: StartOptions = {}): Promise<RunningFake> {
  const accounts = new Map<string, Account>();
  const predictions = new Map<string, FakePrediction>();
  const images = new Map<string, Buffer>();
  let base = "";

  const accountFor = (token: string) => {
    let account = accounts.get(token);
    if (!account) {
      account = new Account(options.defaults ?? {});
      accounts.set(token, account);
    }
    return account;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { title: "Internal Server Error", detail: String(error), status: 500 });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", base);
    const path = url.pathname;
    const body = await readBody(req);

    // ---- test control -------------------------------------------------------------------
    if (path.startsWith("/__fake/")) {
      if (req.method === "POST" && path === "/__fake/scenario") {
        const { token, ...scenario } = (body ?? {}) as Scenario & { token?: string };
        if (!token || !TOKEN.test(token)) return send(res, 400, { detail: "scenario needs a token like r8_…" });
        accountFor(token).configure(scenario);
        return send(res, 200, { ok: true });
      }
      if (req.method === "GET" && path === "/__fake/requests") {
        return send(res, 200, accounts.get(url.searchParams.get("token") ?? "")?.requests ?? []);
      }
      if (req.method === "GET" && path === "/__fake/inputs") {
        return send(res, 200, accounts.get(url.searchParams.get("token") ?? "")?.inputs ?? []);
      }
      if (req.method === "GET" && path === "/__fake/webhooks") {
        return send(res, 200, accounts.get(url.searchParams.get("token") ?? "")?.webhooks.records ?? []);
      }
      if (req.method === "GET" && path === "/__fake/models") {
        return send(
          res,
          200,
          MODELS.map((m) => ({ ...m, version: versionOf(m.name) })),
        );
      }
      return send(res, 404, { detail: "Not found." });
    }

    // ---- output files (public, like replicate.delivery) ---------------------------------
    const delivery = /^\/delivery\/xezq\/([a-z0-9]+)\/out-(\d+)\.(png|webp|jpg)$/.exec(path);
    if (delivery && req.method === "GET") {
      const prediction = predictions.get(delivery[1]!);
      if (!prediction) return sendText(res, 404, "Not Found");
      record(prediction.account, req, path, null);
      const scripted = prediction.account.queues.download.shift();
      if (scripted) return answerScripted(res, scripted);
      const index = Number(delivery[2]);
      const state = stateOf(prediction, Date.now());
      if (!state.hasOutput || state.dataRemoved || index >= numOutputs(prediction.model, prediction.input)) {
        return sendText(res, 404, "Not Found");
      }
      const bytes = imageFor(prediction, index);
      res.statusCode = 200;
      res.setHeader("content-type", CONTENT_TYPES[outputFormatOf(prediction.model, prediction.input)]);
      if (prediction.chunked) {
        // No Content-Length: Node sends Transfer-Encoding: chunked.
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        res.end(bytes.subarray(Math.floor(bytes.length / 2)));
      } else {
        res.setHeader("content-length", bytes.length);
        res.end(bytes);
      }
      return;
    }

    // ---- the API ------------------------------------------------------------------------
    if (!path.startsWith("/v1/")) return send(res, 404, { detail: "Not found.", status: 404 });
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !TOKEN.test(token)) {
      return send(res, 401, { title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 });
    }
    const account = accountFor(token);
    record(account, req, path, body);

    const modelRoute = /^\/v1\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(path);
    if (req.method === "POST" && (modelRoute || path === "/v1/predictions")) {
      const scripted = account.queues.create.shift();
      if (scripted && !scripted.after_create) {
        if (scripted.hang_ms) await hold(res, scripted.hang_ms);
        if (scriptsAnAnswer(scripted)) return answerScripted(res, scripted);
      }
      return createPrediction(req, res, account, body, modelRoute ? `${modelRoute[1]}/${modelRoute[2]}` : null, scripted);
    }
    if (req.method === "GET" && path === "/v1/predictions") {
      const scripted = account.queues.list.shift();
      if (scripted) return answerScripted(res, scripted);
      return send(res, 200, listPage(account, url.searchParams.get("cursor")));
    }
    const getRoute = /^\/v1\/predictions\/([a-z0-9]+)$/.exec(path);
    if (req.method === "GET" && getRoute) {
      const scripted = account.queues.get.shift();
      if (scripted?.hang_ms) await hold(res, scripted.hang_ms);
      if (scripted && scriptsAnAnswer(scripted)) return answerScripted(res, scripted);
      const prediction = predictions.get(getRoute[1]!);
      if (!prediction || prediction.account !== account) return send(res, 404, { detail: "Not found.", status: 404 });
      return send(res, 200, view(prediction, Date.now()));
    }
    const cancelRoute = /^\/v1\/predictions\/([a-z0-9]+)\/cancel$/.exec(path);
    if (req.method === "POST" && cancelRoute) {
      const scripted = account.queues.cancel.shift();
      if (scripted) return answerScripted(res, scripted);
      const prediction = predictions.get(cancelRoute[1]!);
      if (!prediction || prediction.account !== account) return send(res, 404, { detail: "Not found.", status: 404 });
      const now = Date.now();
      if (!stateOf(prediction, now).terminal) {
        prediction.canceledAt = now;
        refresh(prediction);
      }
      return send(res, 200, view(prediction, now));
    }
    if (req.method === "GET" && path === "/v1/account") {
      return send(res, 200, { type: "user", username: "fake-user", name: "Fake User", github_url: null });
    }
    if (req.method === "GET" && path === "/v1/webhooks/default/secret") {
      return send(res, 200, { key: account.secret });
    }
    return send(res, 404, { detail: "Not found.", status: 404 });
  }

  async function createPrediction(
    req: IncomingMessage,
    res: ServerResponse,
    account: Account,
    body: unknown,
    routeModel: string | null,
    lostAnswer?: Scripted,
  ): Promise<void> {
    if (typeof body !== "object" || body === null) return send(res, 400, { title: "Bad request", detail: "body must be a JSON object", status: 400 });
    const request = body as { version?: unknown; input?: unknown; webhook?: unknown; webhook_events_filter?: unknown };
    let model: FakeModel | undefined;
    let version: string;
    if (routeModel) {
      if (request.version !== undefined) {
        return send(res, 422, {
          title: "Invalid request",
          detail: "version is not allowed when creating a prediction with a model; use POST /v1/predictions instead",
          status: 422,
        });
      }
      model = modelByName(routeModel);
      if (!model) return send(res, 404, { title: "Not found", detail: `Model ${routeModel} not found`, status: 404 });
      version = "hidden";
    } else {
      const ref = typeof request.version === "string" ? request.version : "";
      const [name, hash] = ref.includes("/") ? (ref.split(":") as [string, string | undefined]) : [undefined, ref];
      model = hash ? modelByVersion(hash) : name ? modelByName(name) : undefined;
      if (!model || (name && hash && model.name !== name)) {
        return send(res, 422, {
          title: "Invalid version or not permitted",
          detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
          status: 422,
        });
      }
      version = hash ?? versionOf(model.name);
    }
    const input = (typeof request.input === "object" && request.input !== null ? request.input : {}) as Record<string, unknown>;
    const invalid = validateInput(model.family, input);
    if (invalid.length > 0) {
      return send(res, 422, {
        title: "Input validation failed",
        detail: invalid.map((f) => `- ${f.field}: ${f.description}\n`).join(""),
        status: 422,
        invalid_fields: invalid,
      });
    }

    const scale = account.setting("time_scale");
    const prefer = parsePrefer(headerValue(req, "prefer"));
    if (prefer === "invalid") return send(res, 400, { title: "Invalid Prefer header", detail: "use Prefer: wait or wait=N with N in 1..60", status: 400 });
    const cancelAfter = parseCancelAfter(headerValue(req, "cancel-after"));
    if (cancelAfter === "invalid") {
      return send(res, 422, { title: "Invalid Cancel-After header", detail: "use a duration of at least 5s, e.g. 30s, 5m, 1h30m", status: 422 });
    }
    const webhook = typeof request.webhook === "string" ? request.webhook : undefined;
    if (webhook !== undefined && !URL.canParse(webhook)) {
      return send(res, 422, { title: "Invalid webhook", detail: "webhook must be a URL", status: 422 });
    }
    const filter = Array.isArray(request.webhook_events_filter)
      ? request.webhook_events_filter.filter((e): e is WebhookEvent => ALL_EVENTS.includes(e as WebhookEvent))
      : ALL_EVENTS;

    // Replicate takes file inputs when the prediction is created; one it cannot take fails the prediction.
    const id = newPredictionId();
    let inputImage: FakePrediction["inputImage"];
    let inputProblem: string | undefined;
    if (takesInputImage(model) && typeof input[INPUT_IMAGE] === "string") {
      const taken = await takeInputImage(INPUT_IMAGE, input[INPUT_IMAGE] as string);
      account.inputs.push({ ...taken.record, prediction_id: id });
      if (taken.image) inputImage = taken.image;
      else inputProblem = `Failed to read ${INPUT_IMAGE}: ${taken.record.error}`;
    }

    const now = Date.now();
    const startAt = now + account.setting("starting_ms");
    const outputAt = startAt + account.setting("processing_ms");
    const prediction: FakePrediction = {
      id,
      account,
      model,
      version,
      input,
      // FLUX replaces a missing (or 0) seed with a random 16-bit one and logs it.
      seed: typeof input.seed === "number" && input.seed !== 0 ? input.seed : randomInt(1, 65536),
      createdAt: now,
      startAt,
      outputAt,
      doneAt: outputAt + account.setting("finalize_ms"),
      outcome: inputProblem ? "failed" : account.setting("outcome"),
      error: inputProblem ?? account.scenario.error ?? "CUDA out of memory. Tried to allocate 2.00 GiB",
      ...(cancelAfter !== null ? { deadline: now + cancelAfter * 1000 * scale } : {}),
      ttlMs: account.setting("output_ttl_ms"),
      outputMode: account.setting("output_mode"),
      ...(account.scenario.output_host ? { outputHost: account.scenario.output_host } : {}),
      chunked: account.setting("chunked_downloads"),
      ...(webhook ? { webhook } : {}),
      events: new Set(filter),
      emitted: new Set(),
      timers: new Set(),
      ...(inputImage && { inputImage }),
    };
    predictions.set(prediction.id, prediction);
    if (prediction.webhook) schedule(prediction);
    if (lostAnswer?.hang_ms) await hold(res, lostAnswer.hang_ms);
    if (lostAnswer && scriptsAnAnswer(lostAnswer)) return answerScripted(res, lostAnswer);

    if (prefer === null) return send(res, 201, view(prediction, Date.now()));
    const waitUntil = now + prefer * 1000 * scale;
    while (Date.now() < waitUntil) {
      const state = stateOf(prediction, Date.now());
      if (state.hasOutput || state.terminal) break;
      await sleep(Math.min(5, waitUntil - Date.now()));
    }
    const state = stateOf(prediction, Date.now());
    return send(res, state.hasOutput || state.terminal ? 201 : 202, view(prediction, Date.now()));
  }

  /**
   * One page of the account's predictions, newest first. The cursor is opaque to clients; here
   * it is the offset into that order, so a page stays put while newer predictions arrive only
   * as far as Replicate's own (time-based) cursor does.
   */
  function listPage(account: Account, cursor: string | null) {
    const mine = [...predictions.values()].filter((p) => p.account === account).sort((a, b) => b.createdAt - a.createdAt);
    const size = account.setting("list_page_size");
    const decoded = cursor === null ? 0 : Number(Buffer.from(cursor, "base64url").toString("utf8"));
    const offset = Number.isInteger(decoded) && decoded >= 0 ? decoded : 0;
    const now = Date.now();
    const pageUrl = (at: number) => `${base}/v1/predictions?cursor=${Buffer.from(String(at)).toString("base64url")}`;
    return {
      next: offset + size < mine.length ? pageUrl(offset + size) : null,
      previous: offset > 0 ? pageUrl(Math.max(0, offset - size)) : null,
      results: mine.slice(offset, offset + size).map((p) => view(p, now)),
    };
  }

  /** Wake up at every transition to send webhooks. */
  function schedule(prediction: FakePrediction): void {
    const at = [prediction.createdAt, prediction.startAt, prediction.outputAt, prediction.doneAt];
    if (prediction.deadline !== undefined) at.push(prediction.deadline);
    for (const when of at) wakeAt(prediction, when);
  }

  /**
   * Node measures a timer from its event loop's cached clock, which a busy machine leaves stale:
   * the timer can fire before `Date.now()` reaches `when`. The transition has not happened then
   * (stateOf reads Date.now()), so sleep again for the rest instead of missing it for good.
   */
  function wakeAt(prediction: FakePrediction, when: number): void {
    const timer = setTimeout(
      () => {
        prediction.timers.delete(timer);
        if (Date.now() < when) wakeAt(prediction, when);
        else refresh(prediction);
      },
      Math.max(0, when - Date.now()),
    );
    timer.unref();
    prediction.timers.add(timer);
  }

  function refresh(prediction: FakePrediction): void {
    if (!prediction.webhook) return;
    const now = Date.now();
    const state = stateOf(prediction, now);
    const due: WebhookEvent[] = ["start"];
    if (state.status !== "starting") due.push("logs");
    if (state.hasOutput) due.push("output");
    if (state.terminal) due.push("completed");
    for (const event of due) {
      if (prediction.emitted.has(event) || prediction.emitted.has("completed")) continue;
      prediction.emitted.add(event);
      // `start` describes the prediction as it started, however late a busy machine runs this timer.
      const as = event === "start" ? prediction.createdAt : now;
      if (prediction.events.has(event)) prediction.account.webhooks.send(prediction.webhook, event, view(prediction, as));
    }
    if (state.terminal) for (const timer of prediction.timers) clearTimeout(timer);
  }

  function view(prediction: FakePrediction, now: number) {
    const state = stateOf(prediction, now);
    const { id } = prediction;
    const count = numOutputs(prediction.model, prediction.input);
    const format = outputFormatOf(prediction.model, prediction.input);
    let output: string | string[] | null = null;
    if (state.hasOutput && !state.dataRemoved) {
      const urls = Array.from({ length: count }, (_, i) =>
        prediction.outputMode === "data_uri"
          ? `data:${CONTENT_TYPES[format]};base64,${imageFor(prediction, i).toString("base64")}`
          : prediction.outputHost
            ? `https://${prediction.outputHost}/xezq/${id}/out-${i}.${format}`
            : `${base}/delivery/xezq/${id}/out-${i}.${format}`,
      );
      output = prediction.model.output === "single" ? urls[0]! : urls;
    }
    const logs = [
      state.started ? `Using seed: ${prediction.seed}\n` : "",
      state.started && now >= (prediction.startAt + prediction.outputAt) / 2 ? "Running\n" : "",
      state.hasOutput ? `Total safe images: ${count} out of ${count}\n` : "",
      state.status === "failed" ? `${prediction.error}\n` : "",
    ].join("");
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    return {
      id,
      model: prediction.account.scenario.model_echo ?? prediction.model.name,
      version: prediction.version,
      input: prediction.input,
      logs,
      output,
      data_removed: state.dataRemoved,
      error: state.status === "failed" ? prediction.error : null,
      status: state.status,
      source: "api",
      created_at: iso(prediction.createdAt),
      started_at: state.started ? iso(prediction.startAt) : null,
      completed_at: state.terminal ? iso(state.endAt) : null,
      ...(prediction.deadline !== undefined ? { deadline: iso(prediction.deadline) } : {}),
      urls: {
        get: `${base}/v1/predictions/${id}`,
        cancel: `${base}/v1/predictions/${id}/cancel`,
        web: `https://replicate.com/p/${id}`,
      },
      metrics:
        state.terminal && state.started
          ? {
              predict_time: (Math.min(state.endAt, prediction.doneAt) - prediction.startAt) / 1000,
              total_time: (state.endAt - prediction.createdAt) / 1000,
              ...(state.status === "succeeded" ? { image_count: count } : {}),
            }
          : {},
      ...(prediction.webhook ? { webhook: prediction.webhook, webhook_events_filter: [...prediction.events] } : {}),
    };
  }

  function imageFor(prediction: FakePrediction, index: number): Buffer {
    const key = `${prediction.id}/${index}`;
    let bytes = images.get(key);
    if (!bytes) {
      const [width, height] = producedSize(prediction.model, prediction.input, prediction.inputImage);
      // An edit's colour also follows its input image, so a different input gives a different output.
      const tint = prediction.inputImage ? prediction.inputImage.bytes.reduce((sum, byte) => (sum + byte) % 256, 0) : 0;
      const colour = [(prediction.seed * 37 + index * 90 + tint) % 256, (prediction.seed * 11) % 256, (index * 70 + 40) % 256] as const;
      bytes = encodeImage(outputFormatOf(prediction.model, prediction.input), width, height, colour);
      images.set(key, bytes);
    }
    return bytes;
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  base = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  return {
    url: base,
    close: async () => {
      for (const prediction of predictions.values()) for (const timer of prediction.timers) clearTimeout(timer);
      for (const account of accounts.values()) account.webhooks.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface PredictionState {
  readonly status: "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";
  readonly started: boolean;
  readonly terminal: boolean;
  readonly endAt: number;
  readonly hasOutput: boolean;
  readonly dataRemoved: boolean;
}

/** Where a prediction stands at `now`: its natural course, cut short by a cancel or its deadline. */
function stateOf(p: FakePrediction, now: number): PredictionState {
  let endAt = p.outcome === "hang" ? Infinity : p.outcome === "succeeded" ? p.doneAt : p.outputAt;
  let endStatus: PredictionState["status"] = p.outcome === "hang" ? "processing" : p.outcome;
  if (p.canceledAt !== undefined && p.canceledAt < endAt) {
    endAt = p.canceledAt;
    endStatus = "canceled";
  }
  if (p.deadline !== undefined && p.deadline < endAt) {
    endAt = p.deadline;
    endStatus = p.deadline < p.startAt ? "aborted" : "canceled";
  }
  const terminal = now >= endAt;
  const status = terminal ? endStatus : now < p.startAt ? "starting" : "processing";
  const hasOutput = p.outcome === "succeeded" && now >= p.outputAt && endAt >= p.outputAt;
  return {
    status,
    started: now >= p.startAt && !(terminal && endStatus === "aborted"),
    terminal,
    endAt,
    hasOutput,
    dataRemoved: hasOutput && now >= p.outputAt + p.ttlMs,
  };
}

/** Whether a scripted entry says what to answer (a bare `hang_ms` only delays the usual answer). */
function scriptsAnAnswer(scripted: Scripted): boolean {
  return scripted.status !== undefined || scripted.network_error === true || scripted.html !== undefined || scripted.body !== undefined;
}

/** Waits `ms` before answering, or until the client hangs up. */
function hold(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    }
    res.once("close", done);
  });
}

function answerScripted(res: ServerResponse, scripted: Scripted): void {
  if (scripted.network_error) {
    res.socket?.destroy();
    return;
  }
  const status = scripted.status ?? 500;
  if (scripted.retry_after_header !== undefined) res.setHeader("retry-after", String(scripted.retry_after_header));
  if (scripted.html !== undefined) {
    res.statusCode = status;
    res.setHeader("content-type", "text/html");
    res.end(scripted.html);
    return;
  }
  send(res, status, scripted.body ?? defaultErrorBody(status, scripted));
}

function defaultErrorBody(status: number, scripted: Scripted): unknown {
  switch (status) {
    case 401:
      return { title: "Unauthenticated", detail: "You did not pass a valid authentication token", status };
    case 402:
      return {
        title: "Insufficient credit",
        detail:
          "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit. Once you purchase credit, please wait a few minutes before trying again.",
        status,
      };
    case 422:
      return { title: "Input validation failed", detail: "- input: invalid\n", status, invalid_fields: [] };
    case 429:
      return {
        title: "Request was throttled.",
        detail: "Request was throttled. Your rate limit resets in ~30s.",
        status,
        ...(scripted.retry_after !== undefined ? { retry_after: scripted.retry_after } : {}),
      };
    default:
      return { title: status >= 500 ? "Internal Server Error" : "Error", detail: `scripted ${status}`, status };
  }
}

/** null = no Prefer wait; a number = seconds to wait. */
function parsePrefer(header: string | undefined): number | null | "invalid" {
  if (!header) return null;
  const match = /(?:^|[,;\s])wait(?:=(\d+))?(?:$|[,;\s])/.exec(header);
  if (!match) return null;
  if (match[1] === undefined) return 60;
  const seconds = Number(match[1]);
  return seconds >= 1 && seconds <= 60 ? seconds : "invalid";
}

/** Seconds, null when absent. Below 5 s is refused (Replicate's documented minimum). */
function parseCancelAfter(header: string | undefined): number | null | "invalid" {
  if (header === undefined) return null;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(header.trim());
  if (!match || header.trim() === "") return "invalid";
  const seconds = Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
  return seconds >= 5 ? seconds : "invalid";
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function record(account: Account, req: IncomingMessage, path: string, body: unknown): void {
  const headers: Record<string, string> = {};
  for (const name of ["prefer", "cancel-after", "content-type"]) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  account.requests.push({ method: req.method ?? "GET", path, headers, body, at: Date.now() });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", status >= 400 ? "application/problem+json" : "application/json");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "text/plain");
  res.end(text);
}

function newPredictionId(): string {
  // Replicate ids: 26 lowercase base32 characters.
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return Array.from(randomBytes(26), (b) => alphabet[b % 32]).join("");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Standalone: npx tsx test/fakes/replicate/server.ts --port 9010
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const portFlag = process.argv.indexOf("--port");
  const port = portFlag > 0 ? Number(process.argv[portFlag + 1]) : 9010;
  start({ port }).then((fake) => {
    console.log(`fake Replicate on ${fake.url} (base_url ${fake.url}/v1); any r8_… token works`);
  });
}
