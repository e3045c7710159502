/**
 * Gives the in-process Worker of a test a real loopback origin (test/fakes/tunnel): requests that
 * arrive there are taken by long-polling the tunnel fake and answered by `serve` — the test's own
 * app — so a provider fake can fetch a signed link on the Worker's public origin over HTTP.
 * Runs inside workerd: fetch only, no node:*.
 */

export interface OpenTunnel {
  /** The origin to configure as `public_base_url`. */
  readonly url: string;
  /** What the tunnel served: method, path (with query) and the Worker's status. */
  log(): Promise<{ method: string; path: string; status: number }[]>;
  /** Stop serving; throws what went wrong while serving, if anything did. */
  close(): Promise<void>;
}

export async function openTunnel(fakeUrl: string, serve: (path: string, init: RequestInit) => Promise<Response>): Promise<OpenTunnel> {
  const opened = await fetch(`${fakeUrl}/__fake/tunnels`, { method: "POST" });
  const { id, url } = await opened.json<{ id: string; url: string }>();
  const control = `${fakeUrl}/__fake/tunnels/${id}`;
  const stop = new AbortController();

  const serving = (async () => {
    while (!stop.signal.aborted) {
      let next: Response;
      try {
        next = await fetch(`${control}/next`, { signal: stop.signal });
      } catch (error) {
        if (stop.signal.aborted) return;
        throw error;
      }
      if (next.status === 204) continue;
      const request = await next.json<{ request_id: string; method: string; path: string; headers: Record<string, string> }>();
      const { host: _host, connection: _connection, ...headers } = request.headers;
      const answer = await serve(request.path, { method: request.method, headers });
      const answerHeaders: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (name !== "content-length" && name !== "transfer-encoding") answerHeaders[name] = value;
      });
      await fetch(`${control}/answer/${request.request_id}`, {
        method: "POST",
        headers: { "x-tunnel-status": String(answer.status), "x-tunnel-headers": JSON.stringify(answerHeaders) },
        body: await answer.arrayBuffer(),
      });
    }
  })();

  return {
    url,
    log: async () => (await fetch(`${control}/log`)).json(),
    async close() {
      stop.abort();
      await serving;
      await fetch(control, { method: "DELETE" });
    },
  };
}
