/**
 * GET /v1/backends: every configured instance with its type, model, default flag and status (a
 * backend cooling down after failing as unreachable says until when), and every chain with the
 * status of the backend that would serve it now; and the configured style names (the web form's
 * style picker).
 */
import { createRoute } from "@hono/zod-openapi";
import { type Backend, type BackendStatus, describeStatus } from "../backends/backend";
import type { App } from "../http/context";
import { BackendsResponse, problemResponses } from "./schemas";
import { ROUTES } from "../routes";
import { ownEntry } from "../lib/lookup";
import { COOLING_PREFIX, coolingDownLine } from "../core/cooldown";
import { DEFAULT_FALLBACK_ON } from "../backends/fallback-triggers";
import { type AppDeps, cooldownsFor } from "../deps";
import { type Clock, systemClock } from "../lib/clock";

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
    const { config } = c.var.deps;
    const status = statusBoard(c.var.deps);
    const backends = await Promise.all(
      Object.entries(config.backends).map(async ([name, instance]) => ({
        name,
        type: instance.type,
        model: status.backend(name).model,
        default: name === config.default_backend,
        fallback: instance.fallback ?? [],
        fallback_on: [...(instance.fallback_on ?? DEFAULT_FALLBACK_ON)],
        edits: editLimits(status.backend(name)),
        status: await status.of(name),
      })),
    );
    const chains = await Promise.all(
      Object.entries(config.chains).map(async ([name, chain]) => ({
        name,
        default: name === config.default_backend,
        backends: chain.backends,
        fallback_on: [...(chain.fallback_on ?? DEFAULT_FALLBACK_ON)],
        edits: status.edits(name),
        status: await status.of(name),
      })),
    );
    // Names only: a template may carry house wording the operator keeps to itself.
    const styles = Object.entries(config.styles).map(([name, style]) => ({ name, size: style.size ? `${style.size.width}x${style.size.height}` : null }));
    return c.json({ backends, chains, styles }, 200);
  });
}

/** Status lines of instances and chains, as the listings show them. */
export function statusBoard(deps: Pick<AppDeps, "config" | "backend">, clock: Clock = systemClock) {
  const cooldowns = cooldownsFor(deps.config);
  const ofInstance = async (name: string): Promise<string> => {
    const cooling = cooldowns.coolingUntil(name, clock.now());
    return cooling ? coolingDownLine(cooling.until, cooling.reason) : instanceStatus(deps.backend(name));
  };
  return {
    backend: deps.backend,
    /** Whether an instance edits, or a chain has a member that does (an edit on it runs on those). */
    edits(name: string): boolean {
      const chain = ownEntry(deps.config.chains, name);
      return (chain ? chain.backends : [name]).some((member) => deps.backend(member).edits !== undefined);
    },
    /** An instance's line, or a chain's: the member that would serve it now. */
    async of(name: string): Promise<string> {
      const chain = ownEntry(deps.config.chains, name);
      if (!chain) return ofInstance(name);
      const members = await Promise.all(chain.backends.map(async (member) => ({ member, status: await ofInstance(member) })));
      return chainStatus(members, (chain.fallback_on ?? DEFAULT_FALLBACK_ON).includes("unreachable"));
    },
  };
}

/**
 * `ok`, `ok via <member>` when earlier members cannot serve, else every member's line. A chain
 * that does not fall back on unreachable stops at a member cooling down (the runner does too).
 */
function chainStatus(members: readonly { readonly member: string; readonly status: string }[], skipsCooling: boolean): string {
  const serving = members.findIndex((m) => m.status.startsWith("ok"));
  if (serving === 0) return members[0]!.status;
  const story = (list: typeof members) => list.map((m) => `${m.member}: ${m.status}`).join("; ");
  const stuck = skipsCooling ? -1 : members.findIndex((m) => m.status.startsWith(COOLING_PREFIX));
  if (stuck !== -1 && (serving === -1 || stuck < serving))
    return `unavailable (${story(members.slice(0, stuck + 1))}; this chain does not fall back on unreachable)`;
  if (serving > 0) return `ok via ${members[serving]!.member} (${story(members.slice(0, serving))})`;
  return `unavailable (${story(members)})`;
}

/** What an instance takes in an edit, or null when it only makes images from text. */
function editLimits(backend: Backend): { max_images: number; mask: boolean } | null {
  return backend.edits ? { max_images: backend.edits.maxImages, mask: backend.edits.mask } : null;
}

/** The status line of one instance, probed within a time limit. */
async function instanceStatus(backend: Backend): Promise<string> {
  return describeStatus(await statusWithin(backend.status(), STATUS_TIMEOUT_MS));
}

async function statusWithin(probe: Promise<BackendStatus>, ms: number): Promise<BackendStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<BackendStatus>((resolve) => {
    timer = setTimeout(() => resolve({ state: "unreachable", reason: `status probe took longer than ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([
      probe.catch(
        (error: unknown): BackendStatus => ({
          state: "unreachable",
          reason: error instanceof Error ? error.message : String(error),
        }),
      ),
      timeout,
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
