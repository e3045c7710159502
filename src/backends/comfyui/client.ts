/**
 * The wire to one ComfyUI server, usually the owner's home GPU box behind Cloudflare Tunnel and
 * Access. Every request goes through `send()`, which adds the Access service token, never
 * follows redirects (a redirect is Access sending us to its login page, never an image), never
 * sends an Origin header (ComfyUI answers 403 when Origin and Host differ) and turns the ways a
 * tunnel fails into BackendErrors that say what to do.
 *
 * Routes: ComfyUI server.py (`/prompt`, `/history/{id}`, `/queue`, `/view`, `/interrupt`,
 * `/system_stats`, `/upload/image`, `/ws`). Access: https://developers.cloudflare.com/cloudflare-one/identity/service-tokens/
 */
import type { z } from "zod";
import { BackendError } from "../errors";
import {
  history,
  promptAccepted,
  promptRejected,
  queue,
  systemStats,
  uploaded,
  type HistoryEntry,
  type OutputImage,
  type PromptRejected,
  type Queue,
  type SystemStats,
} from "./protocol";

export interface ComfyConnection {
  /** Where ComfyUI answers, without a trailing slash. */
  readonly baseUrl: string;
  /** globalThis.fetch, or a service / VPC binding's fetch. */
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  /** CF-Access-Client-Id / CF-Access-Client-Secret; empty when the box is not behind Access. */
  readonly accessHeaders: Readonly<Record<string, string>>;
  /** The env var names holding the service token, for messages. */
  readonly accessEnv?: { readonly id: string; readonly secret: string };
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Real-time watchdog for a hung tunnel; the job's own deadline runs on the injected clock. */
  readonly timeoutMs?: number;
}

export type PromptAnswer = { readonly accepted: true; readonly promptId: string } | { readonly accepted: false; readonly rejection: PromptRejected };

const DEFAULT_TIMEOUT_MS = 30_000;
/** Progress is optional: do not hold a generation up for long on a socket that will not open. */
const SOCKET_TIMEOUT_MS = 5_000;

/** Statuses Cloudflare answers with when it cannot reach the origin through the tunnel. */
const TUNNEL_STATUS: Readonly<Record<number, string>> = {
  502: "HTTP 502: the tunnel is up but ComfyUI is not answering on the box",
  521: "HTTP 521 from Cloudflare: the origin refused the connection",
  522: "HTTP 522 from Cloudflare: the connection to the origin timed out",
  523: "HTTP 523 from Cloudflare: the origin is unreachable",
  524: "HTTP 524 from Cloudflare: the origin took too long to answer",
  530: "HTTP 530 from Cloudflare: the tunnel is not connected, so the box is off or cloudflared is not running",
};

const ACCESS_LOGIN = /cloudflareaccess\.com|\/cdn-cgi\/access\//i;

export class ComfyClient {
  /**
   * @param elapsedMs time since the operation began, for "after N ms" in messages
   */
  constructor(
    private readonly connection: ComfyConnection,
    private readonly elapsedMs: () => number,
  ) {}

  /** POST /prompt. A 400 is an answer (validation errors), not a transport failure. */
  async submitPrompt(body: unknown, options: CallOptions): Promise<PromptAnswer> {
    const response = await this.send("/prompt", { method: "POST", json: body, accept: "json", allow: [400] }, options);
    if (response.status === 400) {
      const parsed = promptRejected.safeParse(await this.readJson(response, "/prompt"));
      if (!parsed.success) throw this.unreadable("/prompt", parsed.error);
      return { accepted: false, rejection: parsed.data };
    }
    const accepted = this.parse(promptAccepted, await this.readJson(response, "/prompt"), "/prompt");
    return { accepted: true, promptId: accepted.prompt_id };
  }

  /**
   * POST /upload/image (multipart `image`, `type=input`, `subfolder`, `overwrite`): the file lands
   * in ComfyUI's input folder; the answer is the name a LoadImage node loads it by.
   */
  async uploadImage(
    image: { readonly bytes: Uint8Array; readonly filename: string; readonly mimeType: string; readonly subfolder: string },
    options: CallOptions,
  ): Promise<{ readonly loadName: string }> {
    const form = new FormData();
    form.set("image", new File([image.bytes], image.filename, { type: image.mimeType }));
    form.set("type", "input");
    form.set("subfolder", image.subfolder);
    // Files are named by their hash: the same name always holds the same bytes.
    form.set("overwrite", "true");
    const response = await this.send("/upload/image", { method: "POST", form, accept: "json" }, options);
    const answer = this.parse(uploaded, await this.readJson(response, "/upload/image"), "/upload/image");
    return { loadName: answer.subfolder === "" ? answer.name : `${answer.subfolder}/${answer.name}` };
  }

  /** GET /history/{id}: the entry once the job finished, undefined before (or when unknown). */
  async history(promptId: string, options: CallOptions): Promise<HistoryEntry | undefined> {
    const path = `/history/${encodeURIComponent(promptId)}`;
    const response = await this.send(path, { method: "GET", accept: "json" }, options);
    return this.parse(history, await this.readJson(response, path), path)[promptId];
  }

  async queue(options: CallOptions): Promise<Queue> {
    const response = await this.send("/queue", { method: "GET", accept: "json" }, options);
    return this.parse(queue, await this.readJson(response, "/queue"), "/queue");
  }

  /** GET /view for one output image. The body is left unread for the caller to stream. */
  async view(image: OutputImage, options: CallOptions): Promise<Response> {
    const query = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder, type: image.type });
    const response = await this.send(`/view?${query}`, { method: "GET", accept: "image" }, options);
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith("image/")) {
      await response.body?.cancel();
      throw new BackendError("failed", `ComfyUI sent "${type || "no content type"}" for output ${image.filename}, not an image`);
    }
    return response;
  }

  /** POST /interrupt {prompt_id}: newer servers stop only that prompt, and only if it runs. */
  async interrupt(promptId: string, options: CallOptions): Promise<void> {
    const response = await this.send("/interrupt", { method: "POST", json: { prompt_id: promptId }, accept: "any" }, options);
    await response.body?.cancel();
  }

  /** POST /queue {delete: [id]}: drop a prompt that has not started. */
  async deleteFromQueue(promptId: string, options: CallOptions): Promise<void> {
    const response = await this.send("/queue", { method: "POST", json: { delete: [promptId] }, accept: "any" }, options);
    await response.body?.cancel();
  }

  async systemStats(options: CallOptions): Promise<SystemStats> {
    const response = await this.send("/system_stats", { method: "GET", accept: "json" }, options);
    return this.parse(systemStats, await this.readJson(response, "/system_stats"), "/system_stats");
  }

  /**
   * Open ComfyUI's progress websocket (`/ws?clientId=`) through the same tunnel and token;
   * null when the transport cannot upgrade. Progress is a bonus: callers never depend on it.
   */
  async openSocket(clientId: string, options: CallOptions): Promise<WebSocket | null> {
    const watchdog = armWatchdog(options.timeoutMs ?? SOCKET_TIMEOUT_MS, options.signal);
    try {
      const response = await this.connection.fetch(`${this.connection.baseUrl}/ws?clientId=${encodeURIComponent(clientId)}`, {
        headers: { Upgrade: "websocket", ...this.connection.accessHeaders },
        redirect: "manual",
        signal: watchdog.signal,
      });
      const socket = response.webSocket;
      if (response.status !== 101 || !socket) {
        await response.body?.cancel();
        return null;
      }
      socket.accept();
      return socket;
    } catch {
      return null;
    } finally {
      watchdog.disarm();
    }
  }

  /**
   * One request with the token, `redirect: "manual"` and no Origin. Transport failures,
   * Access refusals and Cloudflare's tunnel errors become BackendErrors here, in one place.
   */
  private async send(
    path: string,
    request: { method: "GET" | "POST"; json?: unknown; form?: FormData; accept: "json" | "image" | "any"; allow?: readonly number[] },
    options: CallOptions,
  ): Promise<Response> {
    const headers = new Headers(this.connection.accessHeaders);
    headers.set("Accept", request.accept === "json" ? "application/json" : request.accept === "image" ? "image/*" : "*/*");
    if (request.json !== undefined) headers.set("Content-Type", "application/json");
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const watchdog = armWatchdog(timeoutMs, options.signal);
    let response: Response;
    try {
      response = await this.connection.fetch(this.connection.baseUrl + path, {
        method: request.method,
        headers,
        // A form sets its own multipart Content-Type (with the boundary).
        body: request.form ?? (request.json === undefined ? undefined : JSON.stringify(request.json)),
        redirect: "manual",
        signal: watchdog.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.unreachable(watchdog.fired() ? `no answer within ${timeoutMs} ms` : `network error: ${messageOf(error)}`, error);
    } finally {
      watchdog.disarm();
    }
    if (request.allow?.includes(response.status)) return response;
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get("location") ?? "";
      if (location === "" || ACCESS_LOGIN.test(location)) {
        throw this.refused(`HTTP ${response.status} to the Cloudflare Access login page`);
      }
      throw this.unreachable(`HTTP ${response.status} redirect to ${stripQuery(location)}; set base_url to the address ComfyUI answers on`);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw this.refused(`HTTP ${response.status}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw this.unreachable(TUNNEL_STATUS[response.status] ?? `ComfyUI answered HTTP ${response.status} to ${request.method} ${path.split("?")[0]}`);
    }
    // ComfyUI answers JSON or images; an HTML page with 200 is a login or interstitial page
    // that something in front of ComfyUI served instead. It must never pass for a result.
    if ((response.headers.get("content-type") ?? "").toLowerCase().includes("text/html")) {
      await response.body?.cancel();
      throw this.refused("an HTML page where ComfyUI's answer was expected");
    }
    return response;
  }

  private async readJson(response: Response, path: string): Promise<unknown> {
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw this.unreadable(path, error);
    }
  }

  private parse<S extends z.ZodType>(schema: S, value: unknown, path: string): z.infer<S> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw this.unreadable(path, parsed.error);
    return parsed.data;
  }

  private unreadable(path: string, cause: unknown): BackendError {
    return new BackendError("unavailable", `ComfyUI sent an unreadable answer to ${path.split("?")[0]}; is base_url a ComfyUI server?`, { cause });
  }

  private unreachable(reason: string, cause?: unknown): BackendError {
    return new BackendError("unavailable", `home ComfyUI unreachable (${reason}, after ${Math.round(this.elapsedMs())} ms)`, { cause });
  }

  private refused(evidence: string): BackendError {
    const env = this.connection.accessEnv;
    const detail = env
      ? `ComfyUI tunnel refused the service token; check ${env.id} / ${env.secret} (got ${evidence})`
      : `ComfyUI tunnel asks for Cloudflare Access credentials (got ${evidence}); create a service token and set access_client_id_env / access_client_secret_env`;
    return new BackendError("auth", detail);
  }
}

/**
 * A real-time deadline for one request. It guards the wire against a hung tunnel; it is not the
 * job timeout (that runs on the injected clock) and is disarmed once the answer's headers arrive
 * so it never cuts a streamed image short.
 */
function armWatchdog(ms: number, outer?: AbortSignal): { signal: AbortSignal; fired(): boolean; disarm(): void } {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new Error(`no answer within ${ms} ms`));
  }, ms);
  const forward = () => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener("abort", forward, { once: true });
  return {
    signal: controller.signal,
    fired: () => fired,
    disarm: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", forward);
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stripQuery(location: string): string {
  return location.split("?")[0]!;
}
