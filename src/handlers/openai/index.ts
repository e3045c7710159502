/**
 * The OpenAI-compatible API: `POST /v1/images/generations`, `POST /v1/images/edits` (and a 400 for
 * `/v1/images/variations`), `GET /v1/models[/{model}]`, answering
 * errors in OpenAI's shape (src/http/openai-errors.ts). README "OpenAI-compatible API".
 */
import type { App } from "../../http/context";
import { openAIErrorShape } from "../../http/openai-errors";
import { registerEditRoutes } from "./edits";
import { registerGenerationRoute } from "./generations";
import { registerModelRoutes } from "./models";

/** Paths whose errors are OpenAI-shaped; everything else keeps problem+json. */
const OPENAI_PATHS = ["/v1/images/generations", "/v1/images/edits", "/v1/images/variations", "/v1/models", "/v1/models/*"] as const;

/** Whether errors on `path` are answered in OpenAI's shape (for answers made outside the routes, like 405). */
export function isOpenAIPath(path: string): boolean {
  return OPENAI_PATHS.some((pattern) => (pattern.endsWith("/*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern));
}

/** Before the API-key check, so that its 401 is OpenAI-shaped on these paths too. */
export function useOpenAIErrorShape(app: App): void {
  for (const path of OPENAI_PATHS) app.use(path, openAIErrorShape());
}

export function registerOpenAIRoutes(app: App): void {
  registerGenerationRoute(app);
  registerEditRoutes(app);
  registerModelRoutes(app);
}
