/**
 * Fake ComfyUI behind a fake Cloudflare Tunnel + Access: a real HTTP server on 127.0.0.1 that
 * speaks ComfyUI's server.py API (see box.ts for the behaviour) for the workerd tests and for
 * local runs:
 *
 *   npx tsx test/fakes/comfyui/server.ts --port 8188 [--step-ms 250] [--load-ms 2000]
 *       [--access-client-id ID --access-client-secret SECRET [--access-mode redirect|forbidden|unauthorized|login_page]]
 *
 * Boxes: the root path is one box; `POST /__fake/boxes {BoxOptions}` → `{id, url}` makes another,
 * isolated one at `/box/<id>` (own queue, history, files, Access and tunnel settings), so each
 * test gets a fresh box. Control endpoints (never behind the gate), under a box's URL:
 *
 *   GET    /__fake/state       {running, pending, history, interrupts}
 *   GET    /__fake/requests    every request the box got: {method, path, headers, body}
 *   GET    /__fake/uploads     every file /upload/image stored: {name, subfolder, type, sha256, byte_length, content_type}
 *   DELETE /__fake/requests    forget them
 *   POST   /__fake/configure   merge BoxOptions: {access, tunnel, stepMs, loadMs, paused, models,
 *                              viewContentLength, disableMetadata, legacyPromptIds, gpu}
 *   POST   /__fake/restart     ComfyUI restarted: queue, running job and history are gone
 *   POST   /__fake/fail-next   {node_id?, exception_type?, exception_message?}: the next job
 *                              ends with an execution_error at that node (default: the KSampler)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { FakeBox } from "./box";
import type { AccessMode, BoxOptions } from "./types";

export interface FakeComfyServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly port?: number;
  readonly host?: string;
  /** Options of the root box. Tests default to 5 ms per sampler step. */
  readonly box?: BoxOptions;
}

export async function start(options: StartOptions = {}): Promise<FakeComfyServer> {
  const root = new FakeBox("root", { stepMs: 5, ...options.box });
  const boxes = new Map<string, FakeBox>();
  let nextBox = 1;
  let url = "";

  const locate = (rawPath: string): { box: FakeBox; path: string } | undefined => {
    const match = /^\/box\/([^/]+)(\/.*)?$/.exec(rawPath.split("?")[0]!);
    if (!match) return { box: root, path: rawPath };
    const box = boxes.get(match[1]!);
    if (!box) return undefined;
    return { box, path: rawPath.slice(`/box/${match[1]}`.length) || "/" };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const rawPath = req.url ?? "/";
      try {
        if (req.method === "POST" && rawPath === "/__fake/boxes") {
          const id = String(nextBox++);
          const boxOptions = body.length > 0 ? (JSON.parse(body.toString("utf8")) as BoxOptions) : {};
          boxes.set(id, new FakeBox(id, { stepMs: 5, ...boxOptions }));
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ id, url: `${url}/box/${id}` }));
          return;
        }
        const target = locate(rawPath);
        if (!target) {
          res.writeHead(404, { "Content-Type": "text/plain" });
          res.end("no such fake box");
          return;
        }
        if (target.path.startsWith("/__fake/")) target.box.control(req.method ?? "GET", target.path.split("?")[0]!, body, res);
        else target.box.handle(req, res, target.path, body);
      } catch (error) {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`fake ComfyUI error: ${String(error)}`);
      }
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket, _head) => {
    const target = locate(req.url ?? "/");
    if (!target) return socket.destroy();
    target.box.upgrade(req, socket, target.path);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  url = `http://${address.address}:${address.port}`;

  return {
    url,
    close: async () => {
      root.shutdown();
      for (const box of boxes.values()) box.shutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const clientId = argument("access-client-id");
  const clientSecret = argument("access-client-secret");
  const running = await start({
    port: Number(argument("port") ?? 8188),
    box: {
      stepMs: Number(argument("step-ms") ?? 250),
      loadMs: Number(argument("load-ms") ?? 0),
      access: clientId && clientSecret ? { clientId, clientSecret, mode: (argument("access-mode") ?? "redirect") as AccessMode } : null,
    },
  });
  console.log(`fake ComfyUI listening on ${running.url}${clientId ? " (behind a fake Cloudflare Access gate)" : ""}`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
