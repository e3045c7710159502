/**
 * A fake webhook receiver (the caller's `callback_url` endpoint) for the async-job tests and
 * local runs: a real HTTP server on 127.0.0.1 that records every POST exactly as received and
 * answers as scripted.
 *
 *   npx tsx test/fakes/receiver/server.ts --port 9020
 *
 * Control (plain JSON, so tests inside workerd drive it with fetch; see ./control.ts):
 *   POST /__fake/inboxes {fail_first?, fail_status?}  → {id, url}: a fresh inbox at /hook/<id>;
 *        its first `fail_first` deliveries get `fail_status` (default 503), later ones 204.
 *   GET  /__fake/inboxes/<id>                         → every delivery: {headers, body, status}
 * A redirect can be scripted with fail_status 302 (it carries a Location to /elsewhere).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import type { Delivery, InboxOptions } from "./control";

interface Inbox {
  readonly options: InboxOptions;
  readonly deliveries: Delivery[];
}

export async function start(options: { port?: number; host?: string } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const inboxes = new Map<string, Inbox>();
  let next = 1;
  let base = "";
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "POST" && path === "/__fake/inboxes") {
      const id = String(next++);
      inboxes.set(id, { options: body ? (JSON.parse(body) as InboxOptions) : {}, deliveries: [] });
      return json(res, 200, { id, url: `${base}/hook/${id}` });
    }
    const read = /^\/__fake\/inboxes\/([^/]+)$/.exec(path);
    if (req.method === "GET" && read) {
      const inbox = inboxes.get(read[1]!);
      return inbox ? json(res, 200, inbox.deliveries) : json(res, 404, { error: "no such inbox" });
    }
    const hook = /^\/hook\/([^/]+)$/.exec(path);
    const inbox = hook ? inboxes.get(hook[1]!) : undefined;
    if (!inbox || req.method !== "POST") return json(res, 404, { error: "not found" });
    const failing = inbox.deliveries.length < (inbox.options.fail_first ?? 0);
    const status = failing ? (inbox.options.fail_status ?? 503) : 204;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
    inbox.deliveries.push({ headers, body, status });
    if (status >= 300 && status < 400) res.setHeader("location", `${base}/elsewhere`);
    res.statusCode = status;
    res.end(status === 204 ? undefined : "scripted failure");
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  base = `http://${options.host ?? "127.0.0.1"}:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(value));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flag = process.argv.indexOf("--port");
  start({ port: flag > 0 ? Number(process.argv[flag + 1]) : 9020 }).then((fake) => console.log(`fake webhook receiver on ${fake.url}`));
}
