/**
 * One fake "home GPU box": ComfyUI's HTTP API (server.py + execution.py behaviour: validation,
 * a queue that runs one job at a time, in-memory history, /view files, /upload/image into the
 * input folder that LoadImage reads, /ws progress frames)
 * behind a Cloudflare-Tunnel-and-Access-like front (service-token gate, tunnel-down pages).
 * Each test can have its own box (see server.ts), so parallel tests never share state.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { posix } from "node:path";
import { sniffImage } from "../../../src/backends/image-size";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { frontAnswer } from "./front";
import { executionOrder, loaderSignature, pythonJson, traceSize } from "./graph";
import { parseJson, send, sendJson, STATUS_TEXT } from "./http";
import { DEFAULT_MODELS, nodeClasses, validatePrompt, type InputFolder, type NodeClass, type Prompt } from "./nodes";
import { renderPng } from "./png";
import type { BoxOptions, BoxState, FailNext, RecordedRequest, UploadRecord } from "./types";
import { acceptWebSocket, type WsConnection } from "./websocket";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEFAULT_GPU = { name: "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", vramTotal: 25_756_696_576, vramFree: 22_548_578_304 };
const MAX_RECORDED = 1000;

type Message = [string, Record<string, unknown>];

interface Job {
  readonly number: number;
  readonly promptId: string;
  readonly prompt: Prompt;
  readonly extraData: Record<string, unknown>;
  readonly outputs: string[];
}

interface Run {
  readonly job: Job;
  interrupted: boolean;
  /** Set by a restart: the run vanishes without a history entry. */
  lost: boolean;
  /** Ends the current step early: ComfyUI checks the interrupt flag between sampler steps. */
  wake?: () => void;
}

interface HistoryEntry {
  prompt: unknown[];
  outputs: Record<string, { images: { filename: string; subfolder: string; type: string }[] }>;
  status: { status_str: "success" | "error"; completed: boolean; messages: Message[] };
  meta: Record<string, unknown>;
}

export class FakeBox {
  private options: BoxOptions;
  private number = 0;
  private pending: Job[] = [];
  private running: Run | null = null;
  private history = new Map<string, HistoryEntry>();
  private files = new Map<string, Buffer>();
  private counters = new Map<string, number>();
  private sockets = new Map<string, WsConnection>();
  private requests: RecordedRequest[] = [];
  private uploads: UploadRecord[] = [];
  private interrupts: BoxState["interrupts"] = [];
  private failNext: FailNext | null = null;
  private loaded = "";
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly id: string,
    options: BoxOptions = {},
  ) {
    this.options = options;
  }

  /** A request for ComfyUI: through the tunnel and the Access gate first. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void {
    this.record(req, path, body);
    const front = frontAnswer(this.options, req.headers, path);
    if (front?.kind === "reset") return void req.socket.destroy();
    // Left unanswered: the client's own deadline (or hang-up) ends it.
    if (front?.kind === "hang") return;
    if (front) return send(res, front.status, front.headers, front.body);
    const url = new URL(path, "http://box");
    const route = url.pathname.startsWith("/api/") ? url.pathname.slice(4) : url.pathname;
    this.route(req.method ?? "GET", route, url.searchParams, body, res, req.headers["content-type"]);
  }

  /** GET /ws upgrade, through the same front. */
  upgrade(req: IncomingMessage, socket: Duplex, path: string): void {
    this.record(req, path, Buffer.alloc(0));
    const raw = (status: number, headers: Record<string, string>, body: string) => {
      const lines = Object.entries({ ...headers, "Content-Length": String(Buffer.byteLength(body)), Connection: "close" }).map(([k, v]) => `${k}: ${v}`);
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n${lines.join("\r\n")}\r\n\r\n${body}`);
    };
    const front = frontAnswer(this.options, req.headers, path);
    if (front?.kind === "reset") return void socket.destroy();
    if (front?.kind === "hang") return;
    if (front) return raw(front.status, front.headers, front.body);
    const url = new URL(path, "http://box");
    if (url.pathname !== "/ws" && url.pathname !== "/api/ws") return raw(404, { "Content-Type": "text/plain" }, "404: Not Found");
    const sid = url.searchParams.get("clientId") || randomBytes(16).toString("hex");
    this.sockets.get(sid)?.close();
    const connection = acceptWebSocket(req, socket, () => {
      if (this.sockets.get(sid) === connection) this.sockets.delete(sid);
    });
    if (!connection) return;
    this.sockets.set(sid, connection);
    connection.sendJson({ type: "status", data: { status: this.queueInfo(), sid } });
  }

  /** Test controls under `/__fake/`; never gated. */
  control(method: string, path: string, body: Buffer, res: ServerResponse): void {
    const json = () => (body.length > 0 ? JSON.parse(body.toString("utf8")) : {});
    if (method === "GET" && path === "/__fake/state") return sendJson(res, 200, this.state());
    if (method === "GET" && path === "/__fake/requests") return sendJson(res, 200, this.requests);
    if (method === "GET" && path === "/__fake/uploads") return sendJson(res, 200, this.uploads);
    if (method === "DELETE" && path === "/__fake/requests") {
      this.requests = [];
      return sendJson(res, 200, {});
    }
    if (method === "POST" && path === "/__fake/configure") {
      this.options = { ...this.options, ...(json() as BoxOptions) };
      this.pump();
      return sendJson(res, 200, this.options);
    }
    if (method === "POST" && path === "/__fake/restart") {
      this.restart();
      return sendJson(res, 200, {});
    }
    if (method === "POST" && path === "/__fake/fail-next") {
      this.failNext = json() as FailNext;
      return sendJson(res, 200, {});
    }
    sendJson(res, 404, { error: `no control ${method} ${path}` });
  }

  shutdown(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets.values()) socket.close();
    if (this.running) this.running.lost = true;
  }

  // --- ComfyUI routes ------------------------------------------------------------------------

  private route(method: string, path: string, query: URLSearchParams, body: Buffer, res: ServerResponse, contentType?: string): void {
    const historyMatch = /^\/history\/([^/]+)$/.exec(path);
    if (method === "POST" && path === "/prompt") return this.postPrompt(body, res);
    if (method === "POST" && path === "/upload/image") return void this.uploadImage(body, contentType, res);
    if (method === "GET" && path === "/prompt") return sendJson(res, 200, this.queueInfo());
    if (method === "GET" && historyMatch) {
      const id = decodeURIComponent(historyMatch[1]!);
      const entry = this.history.get(id);
      return sendJson(res, 200, entry ? { [id]: entry } : {});
    }
    if (method === "GET" && path === "/history") {
      const max = query.get("max_items");
      const entries = [...this.history.entries()];
      return sendJson(res, 200, Object.fromEntries(max === null ? entries : entries.slice(-Number(max))));
    }
    if (method === "POST" && path === "/history") {
      const request = parseJson(body) as { clear?: boolean; delete?: string[] } | undefined;
      if (request?.clear) this.history.clear();
      for (const id of request?.delete ?? []) this.history.delete(id);
      return send(res, 200, {}, "");
    }
    if (method === "GET" && path === "/queue") {
      return sendJson(res, 200, {
        queue_running: this.running ? [queueItem(this.running.job)] : [],
        queue_pending: this.pending.map(queueItem),
      });
    }
    if (method === "POST" && path === "/queue") {
      const request = parseJson(body) as { clear?: boolean; delete?: string[] } | undefined;
      if (request?.clear) this.pending = [];
      for (const id of request?.delete ?? []) this.pending = this.pending.filter((job) => job.promptId !== id);
      return send(res, 200, {}, "");
    }
    if (method === "POST" && path === "/interrupt") return this.postInterrupt(body, res);
    if (method === "GET" && path === "/view") return this.view(query, res);
    if (method === "GET" && path === "/system_stats") return sendJson(res, 200, this.systemStats());
    if (method === "GET" && path === "/object_info") return sendJson(res, 200, this.objectInfo());
    if (["/prompt", "/queue", "/interrupt", "/view", "/system_stats", "/history", "/upload/image"].includes(path)) {
      return send(res, 405, { "Content-Type": "text/plain; charset=utf-8" }, "405: Method Not Allowed");
    }
    send(res, 404, { "Content-Type": "text/plain; charset=utf-8" }, "404: Not Found");
  }

  private postPrompt(body: Buffer, res: ServerResponse): void {
    const request = parseJson(body) as
      | { prompt?: unknown; prompt_id?: unknown; client_id?: unknown; extra_data?: unknown; number?: unknown; front?: unknown }
      | undefined;
    if (request === undefined || typeof request !== "object" || request === null) {
      return send(res, 500, { "Content-Type": "text/plain; charset=utf-8" }, "500 Internal Server Error\n\nServer got itself in trouble");
    }
    let number: number;
    if (typeof request.number === "number") number = request.number;
    else {
      number = request.front ? -this.number : this.number;
      this.number += 1;
    }
    if (!("prompt" in request)) {
      return sendJson(res, 400, {
        error: { type: "no_prompt", message: "No prompt provided", details: "No prompt provided", extra_info: {} },
        node_errors: {},
      });
    }
    let promptId: string = randomUUID();
    if (!this.options.legacyPromptIds && request.prompt_id !== undefined) {
      if (typeof request.prompt_id !== "string" || !UUID.test(request.prompt_id)) {
        return sendJson(res, 400, {
          error: { type: "invalid_prompt_id", message: "Invalid prompt_id", details: "prompt_id must be a lowercase UUID", extra_info: {} },
          node_errors: {},
        });
      }
      promptId = request.prompt_id;
    }
    const validation = validatePrompt(request.prompt, this.classes());
    if (!validation.ok) return sendJson(res, 400, { error: validation.error, node_errors: validation.nodeErrors });
    const extraData: Record<string, unknown> = typeof request.extra_data === "object" && request.extra_data !== null ? { ...request.extra_data } : {};
    if (request.client_id !== undefined) extraData.client_id = request.client_id;
    this.pending.push({ number, promptId, prompt: request.prompt as Prompt, extraData, outputs: validation.outputs });
    this.broadcastStatus();
    sendJson(res, 200, { prompt_id: promptId, number, node_errors: validation.nodeErrors });
    this.pump();
  }

  /**
   * server.py image_upload: multipart `image` (a file), optional `type` (input, the default, temp or
   * output), `subfolder` and `overwrite` ("true"/"1"). Without overwrite a taken name gets " (1)",
   * " (2)", … — unless the file there has the same bytes, which is then reused. Answers
   * `{name, subfolder, type}`; a missing file, an empty filename or a subfolder outside the folder: 400.
   */
  private async uploadImage(body: Buffer, contentType: string | undefined, res: ServerResponse): Promise<void> {
    let form: FormData;
    try {
      form = await new Request("http://box/upload/image", { method: "POST", headers: contentType ? { "content-type": contentType } : {}, body }).formData();
    } catch {
      return send(res, 400, {}, "");
    }
    const image = form.get("image");
    if (!(image instanceof File)) return send(res, 400, {}, "");
    if (image.name === "") return send(res, 400, {}, "");
    const type = String(form.get("type") ?? "input");
    if (!["input", "temp", "output"].includes(type)) {
      return send(res, 500, { "Content-Type": "text/plain; charset=utf-8" }, "500 Internal Server Error\n\nServer got itself in trouble");
    }
    const subfolder = String(form.get("subfolder") ?? "");
    const folder = subfolder === "" ? "" : posix.normalize(subfolder);
    if (folder.startsWith("/") || folder === ".." || folder.startsWith("../") || image.name.includes("/") || image.name === "..") return send(res, 400, {}, "");
    const bytes = Buffer.from(await image.arrayBuffer());
    const overwrite = form.get("overwrite");
    let name = image.name;
    if (overwrite !== "true" && overwrite !== "1") {
      const dot = name.lastIndexOf(".");
      const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
      for (let i = 1; ; i++) {
        const existing = this.files.get(fileKey(type, folder, name));
        if (!existing || existing.equals(bytes)) break;
        name = `${stem} (${i})${extension}`;
      }
    }
    this.files.set(fileKey(type, folder, name), bytes);
    this.uploads.push({
      name,
      subfolder,
      type,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      byte_length: bytes.length,
      content_type: image.type || null,
    });
    sendJson(res, 200, { name, subfolder, type });
  }

  private postInterrupt(body: Buffer, res: ServerResponse): void {
    const request = parseJson(body) as { prompt_id?: unknown } | undefined;
    const target = typeof request?.prompt_id === "string" ? request.prompt_id : null;
    // Targeted interrupts stop only that prompt, and only while it runs (v0.3.6x+).
    const hit = this.running !== null && (target === null || this.running.job.promptId === target);
    if (hit) {
      this.running!.interrupted = true;
      this.running!.wake?.();
    }
    this.interrupts.push({ promptId: target, interrupted: hit });
    send(res, 200, {}, "");
  }

  private view(query: URLSearchParams, res: ServerResponse): void {
    const requested = query.get("filename");
    if (requested === null) return send(res, 404, {}, "");
    if (requested.startsWith("/") || requested.includes("..")) return send(res, 400, {}, "");
    const type = query.get("type") ?? "output";
    if (!["output", "input", "temp"].includes(type)) return send(res, 400, {}, "");
    const subfolder = query.get("subfolder") ?? "";
    if (subfolder.includes("..") || subfolder.startsWith("/")) return send(res, 403, {}, "");
    const filename = requested.split("/").pop()!;
    const file = this.files.get(fileKey(type, subfolder, filename));
    if (!file) return send(res, 404, { "Content-Type": "text/plain; charset=utf-8" }, "404: Not Found");
    const headers: Record<string, string> = { "Content-Type": "image/png", "Content-Disposition": `filename="${filename}"` };
    if (this.options.viewContentLength === false) {
      // Chunked: write in pieces so Node uses Transfer-Encoding: chunked.
      res.writeHead(200, headers);
      const half = Math.floor(file.length / 2);
      res.write(file.subarray(0, half));
      res.end(file.subarray(half));
      return;
    }
    send(res, 200, headers, file);
  }

  // --- the executor --------------------------------------------------------------------------

  private pump(): void {
    if (this.running || this.options.paused || this.pending.length === 0) return;
    this.pending.sort((a, b) => a.number - b.number);
    const job = this.pending.shift()!;
    const run: Run = { job, interrupted: false, lost: false };
    this.running = run;
    void this.execute(run)
      .catch((error: unknown) => console.error("fake ComfyUI executor crashed", error))
      .finally(() => {
        if (this.running === run) this.running = null;
        this.broadcastStatus();
        this.pump();
      });
  }

  private async execute(run: Run): Promise<void> {
    const { job } = run;
    const clientId = typeof job.extraData.client_id === "string" ? job.extraData.client_id : undefined;
    const messages: Message[] = [];
    const emit = (type: string, data: Record<string, unknown>, keep = false) => {
      if (keep) messages.push([type, data]);
      if (clientId) this.sockets.get(clientId)?.sendJson({ type, data });
    };
    const failure = this.failNext;
    this.failNext = null;
    const order = executionOrder(job.prompt, job.outputs);
    const failAt = failure ? (failure.node_id ?? order.find((id) => job.prompt[id]!.class_type === "KSampler") ?? order[0]) : undefined;
    const executed: string[] = [];

    this.broadcastStatus();
    emit("execution_start", { prompt_id: job.promptId, timestamp: Date.now() }, true);
    emit("execution_cached", { nodes: [], prompt_id: job.promptId, timestamp: Date.now() }, true);

    const models = loaderSignature(job.prompt);
    if (models !== this.loaded && (this.options.loadMs ?? 0) > 0) await this.sleep(this.options.loadMs!, run);
    this.loaded = models;
    const samplers = order.filter((id) => job.prompt[id]!.class_type === "KSampler");

    for (const id of order) {
      if (run.lost) return;
      const node = job.prompt[id]!;
      emit("executing", { node: id, display_node: id, prompt_id: job.promptId });
      const steps = node.class_type === "KSampler" ? Number(node.inputs.steps) : samplers.length === 0 && this.classes()[node.class_type]?.output ? 1 : 0;
      for (let step = 1; step <= steps; step++) {
        await this.sleep(this.options.stepMs ?? 5, run);
        if (run.lost) return;
        if (run.interrupted) return this.finishInterrupted(run, messages, emit, id, executed);
        if (id === failAt) return this.finishFailed(run, messages, emit, id, executed, failure!);
        if (node.class_type === "KSampler") emit("progress", { value: step, max: steps, prompt_id: job.promptId, node: id });
      }
      if (run.interrupted) return this.finishInterrupted(run, messages, emit, id, executed);
      if (id === failAt) return this.finishFailed(run, messages, emit, id, executed, failure!);
      executed.push(id);
    }

    const outputs: HistoryEntry["outputs"] = {};
    const meta: Record<string, unknown> = {};
    for (const id of job.outputs) {
      const images = this.saveImages(job, id);
      outputs[id] = { images };
      meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
      emit("executed", { node: id, display_node: id, output: { images }, prompt_id: job.promptId });
    }
    emit("execution_success", { prompt_id: job.promptId, timestamp: Date.now() }, true);
    emit("executing", { node: null, prompt_id: job.promptId });
    this.history.set(job.promptId, {
      prompt: queueItem(job),
      outputs,
      status: { status_str: "success", completed: true, messages },
      meta,
    });
  }

  private finishFailed(
    run: Run,
    messages: Message[],
    emit: (t: string, d: Record<string, unknown>, keep?: boolean) => void,
    nodeId: string,
    executed: string[],
    failure: FailNext,
  ): void {
    const node = run.job.prompt[nodeId];
    emit(
      "execution_error",
      {
        prompt_id: run.job.promptId,
        node_id: nodeId,
        node_type: node?.class_type ?? "unknown",
        executed,
        exception_message: failure.exception_message ?? "Allocation on device would exceed allowed memory. (out of memory)",
        exception_type: failure.exception_type ?? "torch.OutOfMemoryError",
        traceback: ['  File "/ComfyUI/execution.py", line 496, in execute\n'],
        current_inputs: {},
        current_outputs: {},
        timestamp: Date.now(),
      },
      true,
    );
    this.history.set(run.job.promptId, { prompt: queueItem(run.job), outputs: {}, status: { status_str: "error", completed: false, messages }, meta: {} });
  }

  private finishInterrupted(
    run: Run,
    messages: Message[],
    emit: (t: string, d: Record<string, unknown>, keep?: boolean) => void,
    nodeId: string,
    executed: string[],
  ): void {
    emit(
      "execution_interrupted",
      { prompt_id: run.job.promptId, node_id: nodeId, node_type: run.job.prompt[nodeId]?.class_type, executed, timestamp: Date.now() },
      true,
    );
    this.history.set(run.job.promptId, { prompt: queueItem(run.job), outputs: {}, status: { status_str: "error", completed: false, messages }, meta: {} });
  }

  /** SaveImage / PreviewImage: one PNG per batch item, named like ComfyUI does. */
  private saveImages(job: Job, outputId: string): HistoryEntry["outputs"][string]["images"] {
    const node = job.prompt[outputId]!;
    const size = traceSize(job.prompt, outputId, this.classes(), (image) => this.loadedSize(image)) ?? { width: 512, height: 512, batch: 1, seed: 0 };
    const temp = this.classes()[node.class_type]!.output === "temp";
    const prefix = temp ? `ComfyUI_temp_${randomBytes(3).toString("hex").slice(0, 5)}` : String(node.inputs.filename_prefix ?? "ComfyUI");
    const slash = prefix.lastIndexOf("/");
    const subfolder = slash >= 0 ? prefix.slice(0, slash) : "";
    const base = slash >= 0 ? prefix.slice(slash + 1) : prefix;
    const type = temp ? "temp" : "output";
    const text: Record<string, string> = {};
    if (!this.options.disableMetadata) {
      text.prompt = pythonJson(job.prompt);
      const pnginfo = job.extraData.extra_pnginfo;
      if (typeof pnginfo === "object" && pnginfo !== null) {
        for (const [key, value] of Object.entries(pnginfo)) text[key] = pythonJson(value);
      }
    }
    const images = [];
    for (let index = 0; index < size.batch; index++) {
      const counterKey = `${type}/${subfolder}/${base}`;
      const counter = (this.counters.get(counterKey) ?? 0) + 1;
      this.counters.set(counterKey, counter);
      const filename = `${base}_${String(counter).padStart(5, "0")}_.png`;
      this.files.set(fileKey(type, subfolder, filename), renderPng(size.width, size.height, size.seed % 997, index, text));
      images.push({ filename, subfolder, type });
    }
    return images;
  }

  // --- state and helpers ---------------------------------------------------------------------

  private restart(): void {
    if (this.running) {
      this.running.lost = true;
      this.running.wake?.();
    }
    this.running = null;
    this.pending = [];
    this.history.clear();
    this.loaded = "";
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private state(): BoxState {
    return {
      running: this.running ? [this.running.job.promptId] : [],
      pending: this.pending.map((job) => job.promptId),
      history: [...this.history.keys()],
      interrupts: this.interrupts,
    };
  }

  private record(req: IncomingMessage, path: string, body: Buffer): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    this.requests.push({ method: req.method ?? "GET", path, headers, body: body.toString("utf8") });
    if (this.requests.length > MAX_RECORDED) this.requests.shift();
  }

  private classes(): Readonly<Record<string, NodeClass>> {
    return nodeClasses({ ...DEFAULT_MODELS, ...this.options.models }, this.inputFolder());
  }

  /** What LoadImage sees: the files under `input/`. */
  private inputFolder(): InputFolder {
    const names = [...this.files.keys()].filter((key) => key.startsWith("input/")).map((key) => key.slice("input/".length).replace(/^\//, ""));
    return { names, exists: (annotated) => this.annotatedFile(annotated) !== undefined };
  }

  /** folder_paths.get_annotated_filepath: `sub/name.png [output]` → that file's bytes. */
  private annotatedFile(annotated: string): Buffer | undefined {
    const match = /^(.*?)(?: \[(input|output|temp)\])?$/.exec(annotated)!;
    const path = match[1]!;
    const slash = path.lastIndexOf("/");
    return this.files.get(fileKey(match[2] ?? "input", slash >= 0 ? path.slice(0, slash) : "", slash >= 0 ? path.slice(slash + 1) : path));
  }

  private loadedSize(image: string): { width: number; height: number } | undefined {
    const file = this.annotatedFile(image);
    const sniffed = file ? sniffImage(file) : null;
    return sniffed ? { width: sniffed.width, height: sniffed.height } : undefined;
  }

  private queueInfo() {
    return { exec_info: { queue_remaining: this.pending.length + (this.running ? 1 : 0) } };
  }

  private broadcastStatus(): void {
    for (const socket of this.sockets.values()) socket.sendJson({ type: "status", data: { status: this.queueInfo() } });
  }

  private systemStats() {
    const gpu = this.options.gpu ?? DEFAULT_GPU;
    return {
      system: {
        os: "posix",
        ram_total: 68_719_476_736,
        ram_free: 51_539_607_552,
        comfyui_version: "0.3.64",
        required_frontend_version: "1.27.10",
        python_version: "3.12.3 (main, Sep 11 2024, 14:17:37) [GCC 13.2.0]",
        pytorch_version: "2.8.0+cu128",
        embedded_python: false,
        argv: ["main.py", "--listen", "127.0.0.1", "--port", "8188"],
      },
      devices: [{ name: gpu.name, type: "cuda", index: 0, vram_total: gpu.vramTotal, vram_free: gpu.vramFree, torch_vram_total: 0, torch_vram_free: 0 }],
    };
  }

  private objectInfo() {
    return Object.fromEntries(
      Object.entries(this.classes()).map(([name, cls]) => [
        name,
        {
          input: { required: cls.required },
          input_order: { required: Object.keys(cls.required) },
          output: cls.returns,
          output_node: cls.output !== undefined,
          name,
          display_name: name,
        },
      ]),
    );
  }

  private sleep(ms: number, run: Run): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        run.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.timers.add(timer);
      run.wake = done;
    });
  }
}

function queueItem(job: Job): unknown[] {
  return [job.number, job.promptId, job.prompt, job.extraData, job.outputs];
}

function fileKey(type: string, subfolder: string, filename: string): string {
  return `${type}/${subfolder}/${filename}`;
}
