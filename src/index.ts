/**
 * The Worker: exports the fetch handler (and, as later issues land, scheduled, queue and the
 * Durable Object classes) and nothing else.
 */
import { createApp } from "./app";
import type { Env } from "./env";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
