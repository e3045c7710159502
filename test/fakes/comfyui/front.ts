/**
 * What stands between a client and ComfyUI on the owner's box: Cloudflare's edge with Access
 * (service-token gate), the tunnel (which may be down), and ComfyUI's own origin check.
 * Returns the answer the front gives instead of ComfyUI, or null to let the request through.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { accessForbiddenPage, accessLoginPage, cloudflareErrorPage } from "./pages";
import type { BoxOptions } from "./types";

export type FrontAnswer =
  | { readonly kind: "reset" }
  | { readonly kind: "hang" }
  | { readonly kind: "answer"; readonly status: number; readonly headers: Record<string, string>; readonly body: string };

export function frontAnswer(options: BoxOptions, headers: IncomingHttpHeaders, path: string): FrontAnswer | null {
  const tunnel = options.tunnel ?? "up";
  if (tunnel === "reset") return { kind: "reset" };
  if (tunnel === "hang") return { kind: "hang" };
  const host = headers.host ?? "127.0.0.1";
  // Access runs at the edge, before the tunnel: a refused token is refused even when the box is off.
  const access = options.access;
  if (access && (headers["cf-access-client-id"] !== access.clientId || headers["cf-access-client-secret"] !== access.clientSecret)) {
    const team = access.team ?? "mrock";
    const cf = { Server: "cloudflare", "CF-RAY": ray() };
    switch (access.mode ?? "redirect") {
      case "redirect": {
        const meta = Buffer.from(JSON.stringify({ host, path })).toString("base64url");
        const location = `https://${team}.cloudflareaccess.com/cdn-cgi/access/login/${host}?kid=${randomBytes(32).toString("hex")}&redirect_url=${encodeURIComponent(path)}&meta=${meta}`;
        const cookie = `CF_AppSession=${randomBytes(8).toString("hex")}; Path=/; Secure; HttpOnly`;
        return answer(302, { ...cf, Location: location, "Set-Cookie": cookie }, "");
      }
      case "forbidden":
        return answer(403, { ...cf, "Content-Type": "text/html; charset=utf-8" }, accessForbiddenPage(host));
      case "unauthorized":
        return answer(401, cf, "");
      case "login_page":
        return answer(200, { ...cf, "Content-Type": "text/html; charset=utf-8" }, accessLoginPage(team, host));
    }
  }
  if (tunnel === "down" || tunnel === "bad_gateway") {
    const status = tunnel === "down" ? 530 : 502;
    const id = ray();
    return answer(status, { "Content-Type": "text/html; charset=UTF-8", Server: "cloudflare", "CF-RAY": id }, cloudflareErrorPage(status, host, id));
  }
  // server.py's origin_only_middleware: a browser Origin that is not this (loopback) host gets a bare 403.
  const origin = headers.origin;
  if (origin !== undefined && originHost(origin) !== host.toLowerCase()) {
    return answer(403, { "Content-Type": "application/octet-stream" }, "");
  }
  return null;
}

function answer(status: number, headers: Record<string, string>, body: string): FrontAnswer {
  return { kind: "answer", status, headers, body };
}

function originHost(origin: string): string {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return "";
  }
}

function ray(): string {
  return `${randomBytes(8).toString("hex")}-AMS`;
}
