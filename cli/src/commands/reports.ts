/** Read-only listings: `imagen backends`, `imagen images`, `imagen budget`. */
import { alignedTable } from "../../../src/usage/format.js";
import type { BackendInfo, BudgetAnswer, ChainInfo, BudgetPeriod, ImageListing } from "../api-types.js";
import type { Context } from "../context.js";
import { printJson, usd } from "../terminal.js";

export async function backendsCommand(ctx: Context): Promise<void> {
  const answer = await (await ctx.client()).json<{ backends: BackendInfo[]; chains: ChainInfo[] }>("GET", "/v1/backends");
  if (ctx.json) return printJson(ctx.terminal, answer);
  ctx.terminal.out(
    alignedTable([
      ["NAME", "TYPE", "MODEL", "DEFAULT", "EDITS", "STATUS"],
      ...answer.backends.map((b) => [b.name, b.type, b.model, b.default ? "yes" : "", editsCell(b.edits), b.status]),
      // A chain's MODEL is its members, in the order they are tried.
      ...answer.chains.map((c) => [c.name, "chain", c.backends.join(">"), c.default ? "yes" : "", c.edits ? "yes" : "no", c.status]),
    ]),
  );
}

/** "no", or how many images (and whether a mask) one edit may carry. */
function editsCell(edits: BackendInfo["edits"]): string {
  if (edits === null) return "no";
  return `${edits.max_images} image${edits.max_images === 1 ? "" : "s"}${edits.mask ? " + mask" : ""}`;
}

export async function imagesCommand(ctx: Context, flags: { limit?: number; cursor?: string }): Promise<void> {
  const answer = await (await ctx.client()).json<ImageListing>("GET", "/v1/images", { query: { limit: flags.limit, cursor: flags.cursor } });
  if (ctx.json) return printJson(ctx.terminal, answer);
  ctx.terminal.out(
    alignedTable([
      ["CREATED", "KEY", "SIZE", "BACKEND", "MODEL", "SEED", "COST_USD"],
      ...answer.images.map((i) => [
        i.created_at,
        i.key,
        i.width === null || i.height === null ? "-" : `${i.width}x${i.height}`,
        i.backend,
        i.model ?? "-",
        i.seed === null ? "-" : String(i.seed),
        i.cost_usd_estimate === null ? "-" : i.cost_usd_estimate.toFixed(4),
      ]),
    ]),
  );
  if (answer.next_cursor) ctx.terminal.err(`more: imagen images --cursor ${answer.next_cursor}\n`);
}

export async function budgetCommand(ctx: Context): Promise<void> {
  const answer = await (await ctx.client()).json<BudgetAnswer>("GET", "/v1/budget");
  if (ctx.json) return printJson(ctx.terminal, answer);
  const money = (amount: number | null) => (amount === null ? "no cap" : usd(amount));
  ctx.terminal.out(
    alignedTable([
      ["PERIOD", "CAP", "SPENT", "RESERVED", "REMAINING", "RESETS_AT"],
      ...(["daily", "monthly"] as const).map((period) => {
        const b: BudgetPeriod = answer[period];
        return [period, money(b.cap_usd), usd(b.spent_usd), usd(b.reserved_usd), money(b.remaining_usd), b.resets_at];
      }),
    ]),
  );
}
