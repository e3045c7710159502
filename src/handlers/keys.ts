/** Admin API-key management: create (plaintext shown once), list, revoke. */
import { createRoute, z } from "@hono/zod-openapi";
import { type ApiKeyRecord, ApiKeyStore, newApiKey } from "../auth/api-keys";
import { requireAdmin } from "../http/auth";
import type { App } from "../http/context";
import { requireJsonBody } from "../http/json-body";
import { problem } from "../http/problem";
import { CreatedKey, CreateKeyRequest, KeyInfo, problemResponses } from "./schemas";
import { ROUTES } from "../routes";

const createKey = createRoute({
  method: "post",
  path: ROUTES.keys,
  operationId: "createKey",
  summary: "Create an API key (admin)",
  security: [{ bearer: [] }],
  middleware: [requireAdmin(), requireJsonBody()] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateKeyRequest } } } },
  responses: {
    201: { description: "Created; the key is shown only here", content: { "application/json": { schema: CreatedKey } } },
    ...problemResponses(400, 401, 403),
  },
});

const listKeys = createRoute({
  method: "get",
  path: ROUTES.keys,
  operationId: "listKeys",
  summary: "List API keys (admin; hashes and secrets are never shown)",
  security: [{ bearer: [] }],
  middleware: [requireAdmin()] as const,
  responses: {
    200: { description: "Keys", content: { "application/json": { schema: z.object({ keys: z.array(KeyInfo) }) } } },
    ...problemResponses(401, 403),
  },
});

const revokeKey = createRoute({
  method: "delete",
  path: ROUTES.key,
  operationId: "revokeKey",
  summary: "Revoke an API key (admin)",
  security: [{ bearer: [] }],
  middleware: [requireAdmin()] as const,
  request: { params: z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, "a key id is 12 hex characters") }) },
  responses: {
    200: { description: "Revoked", content: { "application/json": { schema: KeyInfo } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export function registerKeyRoutes(app: App): void {
  app.openapi(createKey, async (c) => {
    const { caller, role, label, limits } = c.req.valid("json");
    const key = newApiKey();
    const record = await new ApiKeyStore(c.env.API_KEYS).add(key, caller, role, label ?? null, new Date(), limits);
    c.get("log").info("api key created", { key_id: record.id, for_caller: caller, role });
    return c.json({ ...publicView(record), key }, 201);
  });

  app.openapi(listKeys, async (c) => {
    const records = await new ApiKeyStore(c.env.API_KEYS).list();
    return c.json({ keys: records.map(publicView) }, 200);
  });

  app.openapi(revokeKey, async (c) => {
    const { id } = c.req.valid("param");
    const record = await new ApiKeyStore(c.env.API_KEYS).revoke(id, new Date());
    if (!record) throw problem("not-found", 404, `no API key with id ${id}`);
    c.get("log").info("api key revoked", { key_id: id });
    return c.json(publicView(record), 200);
  });
}

function publicView(record: ApiKeyRecord) {
  return {
    id: record.id,
    caller: record.caller,
    role: record.role,
    label: record.label,
    created_at: record.created_at,
    revoked_at: record.revoked_at,
    limits: record.limits ?? null,
  };
}
