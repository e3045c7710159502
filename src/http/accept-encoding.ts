/**
 * A request whose `Accept-Encoding` rules out every coding an answer can come in — identity, and
 * the gzip and br the runtime applies to JSON — is refused (406) before anything runs. Left to
 * run, the runtime replaces the finished JSON answer with its own 415: a paid 201 would be lost
 * after the work was done and charged. RFC 9110 §12.5.3 (qvalues; `*` stands for any coding not
 * listed). The runtime hands the Worker `Accept-Encoding: br, gzip` and keeps the client's own
 * header in `request.cf.clientAcceptEncoding`; that is the one judged.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { problem } from "./problem";

/** What an answer of this service can be sent as: plain, or compressed by the runtime. */
const CODINGS = ["identity", "gzip", "br"] as const;

export function refuseUnanswerableEncodings(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = clientAcceptEncoding(c.req.raw);
    if (header !== undefined && !CODINGS.some((coding) => acceptsCoding(header, coding))) {
      throw problem("not-acceptable", 406, `Accept-Encoding "${header}" rules out every coding this service answers in (${CODINGS.join(", ")})`);
    }
    await next();
  };
}

function clientAcceptEncoding(request: Request): string | undefined {
  const cf = (request as { readonly cf?: { readonly clientAcceptEncoding?: unknown } }).cf;
  return typeof cf?.clientAcceptEncoding === "string" ? cf.clientAcceptEncoding : (request.headers.get("accept-encoding") ?? undefined);
}

/** Whether `coding` has a nonzero weight in `header` (identity is acceptable unless ruled out). */
function acceptsCoding(header: string, coding: string): boolean {
  const weights = new Map<string, number>();
  for (const element of header.split(",")) {
    const [name, ...params] = element.split(";").map((part) => part.trim().toLowerCase());
    if (!name) continue;
    const q = params.find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    weights.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const own = weights.get(coding) ?? weights.get("*");
  if (own !== undefined) return own > 0;
  return coding === "identity";
}
