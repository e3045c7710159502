/**
 * `GET /v1/models` and `GET /v1/models/{model}` in OpenAI's list shape: every instance, every
 * chain (with its backends) and every alias from config, with its status.
 */
import { createRoute } from "@hono/zod-openapi";
import { resolveChain } from "../../config/resolve-chain";
import { ownEntry } from "../../lib/lookup";
import type { ImagenConfig } from "../../config/schema";
import type { App } from "../../http/context";
import { problem } from "../../http/problem";
import { statusBoard } from "../backends";
import { type ModelEntry, ModelIdParam, ModelListResponse, ModelResponse, openAIErrorResponses } from "./schemas";

const list = createRoute({
  method: "get",
  path: "/v1/models",
  operationId: "listModels",
  summary: "Instances and aliases usable as `model`, OpenAI style",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "Models", content: { "application/json": { schema: ModelListResponse } } },
    ...openAIErrorResponses(401, 500),
  },
});

const retrieve = createRoute({
  method: "get",
  path: "/v1/models/{model}",
  operationId: "retrieveModel",
  summary: "One instance or alias, OpenAI style",
  security: [{ bearer: [] }],
  request: { params: ModelIdParam },
  responses: {
    200: { description: "The model", content: { "application/json": { schema: ModelResponse } } },
    ...openAIErrorResponses(401, 404, 500),
  },
});

export function registerModelRoutes(app: App): void {
  app.openapi(list, async (c) => {
    const { config } = c.var.deps;
    const ids = [...Object.keys(config.backends), ...Object.keys(config.chains), ...Object.keys(config.openai.aliases)];
    const data = await Promise.all(ids.map((id) => modelEntry(config, id, statusBoard(c.var.deps))));
    return c.json({ object: "list" as const, data }, 200);
  });

  app.openapi(retrieve, async (c) => {
    const { config } = c.var.deps;
    const { model } = c.req.valid("param");
    resolveModel(config, model);
    return c.json(await modelEntry(config, model, statusBoard(c.var.deps)), 200);
  });
}

/** The instance or chain a `model` names (itself or through an alias); 404 `model_not_found` otherwise. */
export function resolveModel(config: ImagenConfig, model: string): string {
  const target = ownEntry(config.openai.aliases, model) ?? model;
  if (resolveChain(config, target)) return target;
  const message = `The model '${model}' does not exist; GET /v1/models lists the instances and aliases you can use`;
  throw problem("not-found", 404, message, { extra: { code: "model_not_found", errors: [{ field: "model", message }] } });
}

async function modelEntry(config: ImagenConfig, id: string, status: ReturnType<typeof statusBoard>): Promise<ModelEntry> {
  const target = ownEntry(config.openai.aliases, id);
  const name = target ?? id;
  const chain = ownEntry(config.chains, name);
  return {
    id,
    object: "model",
    // Instances come from config and have no creation time.
    created: 0,
    // A chain is ours: its backends may belong to several providers.
    owned_by: chain ? "imagen-edge" : status.backend(name).provider,
    status: await status.of(name),
    edits: status.edits(name),
    ...(target !== undefined && { alias_of: target }),
    ...(chain && { chain: [...chain.backends] }),
  };
}
