/**
 * A loopback "tunnel" to a Worker that runs inside a test (workerd, reached in-process, so it has
 * no port of its own): what cloudflared is to a deployment. Each tunnel is a real HTTP server on
 * an ephemeral 127.0.0.1 port; a request to it waits until the test, long-polling the control
 * API, takes it, has its Worker answer, and posts the answer back. A provider fake can then fetch
 * a signed link on the Worker's public origin over real HTTP (Replicate's `input_image`,
 * Together's `image_url`).
 *
 *   POST   /__fake/tunnels                          → {id, url}: a new tunnel on its own port
 *   GET    /__fake/tunnels/<id>/next                → 200 {request_id, method, path, headers} for
 *                                                     the next request that came in, or 204 after ~10 s
 *   POST   /__fake/tunnels/<id>/answer/<request_id>  the answer: body = its bytes, `x-tunnel-status`,
 *                                                     `x-tunnel-headers` (JSON object of headers)
 *   GET    /__fake/tunnels/<id>/log                 → every request served: {method, path, status}
 *   DELETE /__fake/tunnels/<id>                     closes it
 * A request the test never takes is answered 504 after 60 s.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const POLL_MS = 10_000;
const UNANSWERED_MS = 60_000;

interface Pending {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout;
}

interface Tunnel {
  readonly server: Server;
  readonly waiting: Pending[];
  readonly taken: Map<string, Pending>;
  readonly log: { method: string; path: string; status: number }[];
  readonly pollers: ((pending: Pending) => void)[];
}

export async function start(options: { port?: number } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const tunnels = new Map<string, Tunnel>();
  let next = 1;
  let requestNumber = 1;

  async function open(): Promise<{ id: string; url: string }> {
    const id = String(next++);
    const tunnel: Tunnel = { server: createServer((req, res) => arrive(tunnel, req, res)), waiting: [], taken: new Map(), log: [], pollers: [] };
    await new Promise<void>((resolve) => tunnel.server.listen(0, "127.0.0.1", resolve));
    tunnels.set(id, tunnel);
    return { id, url: `http://127.0.0.1:${(tunnel.server.address() as AddressInfo).port}` };
  }

  function arrive(tunnel: Tunnel, req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
    const id = String(requestNumber++);
    const timer = setTimeout(() => {
      tunnel.taken.delete(id);
      const index = tunnel.waiting.findIndex((p) => p.id === id);
      if (index >= 0) tunnel.waiting.splice(index, 1);
      res.writeHead(504, { "content-type": "text/plain" }).end("the test never answered");
    }, UNANSWERED_MS);
    const pending: Pending = { id, method: req.method ?? "GET", path: req.url ?? "/", headers, res, timer };
    const poller = tunnel.pollers.shift();
    if (poller) poller(pending);
    else tunnel.waiting.push(pending);
  }

  function take(tunnel: Tunnel, res: ServerResponse): void {
    const handOut = (pending: Pending) => {
      clearTimeout(wait);
      tunnel.taken.set(pending.id, pending);
      json(res, 200, { request_id: pending.id, method: pending.method, path: pending.path, headers: pending.headers });
    };
    const queued = tunnel.waiting.shift();
    const wait = setTimeout(() => {
      const index = tunnel.pollers.indexOf(handOut);
      if (index >= 0) tunnel.pollers.splice(index, 1);
      res.writeHead(204).end();
    }, POLL_MS);
    if (queued) return handOut(queued);
    tunnel.pollers.push(handOut);
    res.on("close", () => {
      const index = tunnel.pollers.indexOf(handOut);
      if (index >= 0) tunnel.pollers.splice(index, 1);
      clearTimeout(wait);
    });
  }

  function answer(tunnel: Tunnel, requestId: string, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const pending = tunnel.taken.get(requestId);
    if (!pending) return json(res, 404, { error: "no such request waiting" });
    tunnel.taken.delete(requestId);
    clearTimeout(pending.timer);
    const status = Number(req.headers["x-tunnel-status"] ?? 200);
    const headers = JSON.parse(String(req.headers["x-tunnel-headers"] ?? "{}")) as Record<string, string>;
    pending.res.writeHead(status, { ...headers, "content-length": String(body.length) }).end(body);
    tunnel.log.push({ method: pending.method, path: pending.path, status });
    json(res, 200, { ok: true });
  }

  const control = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      if (req.method === "POST" && path === "/__fake/tunnels") {
        void open().then((opened) => json(res, 200, opened));
        return;
      }
      const match = /^\/__fake\/tunnels\/([^/]+)(\/next|\/log|\/answer\/([^/]+))?$/.exec(path);
      const tunnel = match ? tunnels.get(match[1]!) : undefined;
      if (!match || !tunnel) return json(res, 404, { error: "no such tunnel" });
      if (req.method === "GET" && match[2] === "/next") return take(tunnel, res);
      if (req.method === "GET" && match[2] === "/log") return json(res, 200, tunnel.log);
      if (req.method === "POST" && match[3] !== undefined) return answer(tunnel, match[3], req, Buffer.concat(chunks), res);
      if (req.method === "DELETE" && match[2] === undefined) {
        tunnels.delete(match[1]!);
        shut(tunnel);
        return json(res, 200, { ok: true });
      }
      json(res, 404, { error: "unknown control" });
    });
  });

  function shut(tunnel: Tunnel): void {
    for (const pending of [...tunnel.waiting, ...tunnel.taken.values()]) clearTimeout(pending.timer);
    tunnel.server.closeAllConnections();
    tunnel.server.close();
  }

  await new Promise<void>((resolve) => control.listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  return {
    url,
    close: async () => {
      for (const tunnel of tunnels.values()) shut(tunnel);
      control.closeAllConnections();
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }).end(text);
}
