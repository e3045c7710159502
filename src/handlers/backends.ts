/** GET /v1/backends: every configured instance with its type, model, default flag and status. */
import { createRoute } from "@hono/zod-openapi";
import { type Backend, type BackendStatus, describeStatus } from "../backends/backend";
import type { App } from "../http/context";
import { BackendsResponse, problemResponses } from "./schemas";
import { ROUTES } from "../routes";

/** A status probe that hangs must not hang the listing. */
const STATUS_TIMEOUT_MS = 5_000;

const route = createRoute({
  method: "get",
  path: ROUTES.backends,
  operationId: "listBackends",
  summary: "List configured backend instances and their status",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "Configured instances", content: { "application/json": { schema: BackendsResponse } } },
    ...problemResponses(401, 500),
  },
});

export function registerBackendRoutes(app: App): void {
  app.openapi(route, async (c) => {
    const { config, backend: resolve } = c.var.deps;
    const backends = await Promise.all(
      Object.entries(config.backends).map(async ([name, instance]) => {
        const backend = resolve(name);
        return {
          name,
          type: instance.type,
          model: backend.model,
          default: name === config.default_backend,
          fallback: instance.fallback ?? [],
          status: await instanceStatus(backend),
        };
      }),
    );
    return c.json({ backends }, 200);
  });
}

/** The status line of one instance, probed within a time limit. */
export async function instanceStatus(backend: Backend): Promise<string> {
  return describeStatus(await statusWithin(backend.status(), STATUS_TIMEOUT_MS));
}

async function statusWithin(probe: Promise<BackendStatus>, ms: number): Promise<BackendStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<BackendStatus>((resolve) => {
    timer = setTimeout(() => resolve({ state: "unreachable", reason: `status probe took longer than ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([
      probe.catch((error: unknown): BackendStatus => ({
        state: "unreachable",
        reason: error instanceof Error ? error.message : String(error),
      })),
      timeout,
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
