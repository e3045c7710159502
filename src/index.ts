/**
 * The Worker: the fetch handler (Hono app), the usage queue consumers, the scheduled price
 * refresh, and the Durable Object classes — nothing else.
 */
import { createApp } from "./app";
import type { Env } from "./env";
import { handleQueue, handleScheduled } from "./worker-events";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env, unknown>;

export { GenerationJob } from "./jobs/generation-job";
export { CallerGuard } from "./guard/caller-guard";
