/**
 * Bearer API-key authentication: resolves the caller (name + role) or answers 401.
 * `requireAdmin` guards admin-only routes.
 */
import type { MiddlewareHandler } from "hono";
import { ApiKeyStore } from "../auth/api-keys";
import type { AppEnv } from "./context";
import { problem } from "./problem";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="imagen-edge"' };

export function apiKeyAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw unauthorized("send an API key as 'Authorization: Bearer <key>'");
    }
    const check = await new ApiKeyStore(c.env.API_KEYS).check(match[1]!);
    if (!check.ok) {
      throw unauthorized(check.reason === "revoked" ? "this API key was revoked" : "unknown API key");
    }
    c.set("caller", { name: check.record.caller, role: check.record.role });
    c.set("apiKey", check.record);
    c.set("log", c.get("log").child({ caller: check.record.caller, key_id: check.record.id }));
    await next();
  };
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("caller").role !== "admin") throw problem("forbidden", 403, "this endpoint needs an admin API key");
    await next();
  };
}

function unauthorized(detail: string) {
  return problem("unauthorized", 401, detail, { headers: CHALLENGE });
}
