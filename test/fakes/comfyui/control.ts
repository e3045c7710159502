/**
 * Steering the fake ComfyUI from tests (plain fetch, so it runs inside workerd): make a fresh
 * box, change its front (Access, tunnel) or queue, and read what it received.
 */
import type { BoxOptions, BoxState, FailNext, RecordedRequest, UploadRecord } from "./types";

export interface FakeComfyBox {
  /** ComfyUI's base URL for this box (the "tunnel hostname"). */
  readonly url: string;
  configure(options: BoxOptions): Promise<void>;
  restart(): Promise<void>;
  failNext(failure?: FailNext): Promise<void>;
  state(): Promise<BoxState>;
  /** Requests ComfyUI (or the gate) received, control calls excluded. */
  requests(): Promise<RecordedRequest[]>;
  /** Files `/upload/image` stored, oldest first (sha-256 of the bytes, name answered, folder). */
  uploads(): Promise<UploadRecord[]>;
}

export async function createBox(fakeUrl: string, options: BoxOptions = {}): Promise<FakeComfyBox> {
  const created = await call<{ url: string }>(`${fakeUrl}/__fake/boxes`, "POST", options);
  const url = created.url;
  return {
    url,
    configure: (patch) => call(`${url}/__fake/configure`, "POST", patch).then(() => undefined),
    restart: () => call(`${url}/__fake/restart`, "POST", {}).then(() => undefined),
    failNext: (failure = {}) => call(`${url}/__fake/fail-next`, "POST", failure).then(() => undefined),
    state: () => call<BoxState>(`${url}/__fake/state`, "GET"),
    requests: () => call<RecordedRequest[]>(`${url}/__fake/requests`, "GET"),
    uploads: () => call<UploadRecord[]>(`${url}/__fake/uploads`, "GET"),
  };
}

async function call<T>(url: string, method: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`fake ComfyUI control ${method} ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
