/**
 * Puts the composition root on the context: handlers read `c.var.deps` and import no wiring.
 *
 * @example
 * app.use(deps());
 * app.get("/v1/backends", (c) => c.json(Object.keys(c.var.deps.config.backends)));
 */
import { createMiddleware } from "hono/factory";
import { appDeps } from "../deps";
import type { AppEnv } from "./context";

export function deps() {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set("deps", appDeps(c.env));
    await next();
  });
}
