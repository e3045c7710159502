/** `imagen keys list|create|revoke` (admin keys only; the service answers 403 otherwise). */
import { alignedTable } from "../../../src/usage/format.js";
import type { ApiKeyInfo } from "../api-types.js";
import type { Context } from "../context.js";
import { UsageError } from "../errors.js";
import { printJson } from "../terminal.js";

/** As the service checks it (src/handlers/keys.ts): a malformed id is the command line's fault. */
const KEY_ID = /^[0-9a-f]{12}$/;

export async function listKeys(ctx: Context): Promise<void> {
  const answer = await (await ctx.client()).json<{ keys: ApiKeyInfo[] }>("GET", "/v1/keys");
  if (ctx.json) return printJson(ctx.terminal, answer);
  ctx.terminal.out(
    alignedTable([
      ["ID", "CALLER", "ROLE", "CREATED", "STATE", "LABEL"],
      ...answer.keys.map((k) => [k.id, k.caller, k.role, k.created_at, k.revoked_at ? `revoked ${k.revoked_at}` : "active", k.label ?? ""]),
    ]),
  );
}

export async function createKey(ctx: Context, caller: string, flags: { role: string; label?: string }): Promise<void> {
  const created = await (await ctx.client()).json<ApiKeyInfo & { key: string }>("POST", "/v1/keys", {
    body: { caller, role: flags.role, ...(flags.label !== undefined && { label: flags.label }) },
  });
  if (ctx.json) return printJson(ctx.terminal, created);
  ctx.terminal.err(`created key ${created.id} for ${created.caller} (${created.role}); it is shown only now:\n`);
  ctx.terminal.out(`${created.key}\n`);
}

export async function revokeKey(ctx: Context, id: string): Promise<void> {
  if (!KEY_ID.test(id)) throw new UsageError(`a key id is 12 hex characters (see \`imagen keys list\`), not "${id}"`);
  const revoked = await (await ctx.client()).json<ApiKeyInfo>("DELETE", `/v1/keys/${encodeURIComponent(id)}`);
  if (ctx.json) return printJson(ctx.terminal, revoked);
  ctx.terminal.out(`revoked ${revoked.id} (${revoked.caller})\n`);
}
