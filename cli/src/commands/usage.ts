/**
 * `imagen usage`: the table its users know — grouped by week, backend, model and caller with totals —
 * or with --raw one row per attempt followed by the same totals. Grouping and sums run in the
 * service's ledger; the raw table is assembled here from every page.
 */
import { alignedTable, csv, rawRows } from "../../../src/usage/format.js";
import type { UsageGroupKey, UsageRow, UsageTotals } from "../../../src/usage/ledger.js";
import type { ApiClient } from "../api.js";
import type { Context } from "../context.js";
import { UsageError } from "../errors.js";
import { printJson } from "../terminal.js";

export const USAGE_FORMATS = ["table", "csv", "json"] as const;
type UsageFormat = (typeof USAGE_FORMATS)[number];

export interface UsageFlags {
  readonly since?: string;
  readonly until?: string;
  readonly raw?: boolean;
  readonly group?: string;
  readonly format?: UsageFormat;
  readonly caller?: string;
}

const PAGE = 500;
/** The ledger's grouping keys (src/usage/ledger.ts), checked here so a typo is a usage error (exit 2). */
const GROUP_KEYS: readonly UsageGroupKey[] = ["week", "day", "backend", "model", "caller", "source", "ref"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function usageCommand(ctx: Context, flags: UsageFlags): Promise<void> {
  for (const [name, value] of [
    ["--since", flags.since],
    ["--until", flags.until],
  ] as const) {
    if (value !== undefined && !DATE.test(value)) throw new UsageError(`${name} takes a UTC date like 2026-05-01, not "${value}"`);
  }
  const unknownKeys = (flags.group ?? "").split(",").filter((key) => key !== "" && !(GROUP_KEYS as readonly string[]).includes(key.trim()));
  if (unknownKeys.length > 0) throw new UsageError(`--group takes ${GROUP_KEYS.join(", ")}; not ${unknownKeys.map((k) => `"${k}"`).join(", ")}`);
  if (flags.raw && flags.group !== undefined) throw new UsageError("--group applies to the grouped table; leave it out with --raw");
  const format: UsageFormat = ctx.json ? "json" : (flags.format ?? "table");
  const client = await ctx.client();
  const filter = { since: flags.since, until: flags.until, caller: flags.caller };

  if (!flags.raw) {
    const query = { ...filter, group: flags.group, format };
    if (format === "json") return printJson(ctx.terminal, await client.json("GET", "/v1/usage", { query }));
    return ctx.terminal.out(await client.text("GET", "/v1/usage", { query }));
  }

  const rows = await allRawRows(client, filter);
  const { totals } = await client.json<{ totals: UsageTotals }>("GET", "/v1/usage", { query: { ...filter, group: "backend" } });
  if (format === "json") return printJson(ctx.terminal, { rows, totals });
  const table = rawRows(rows);
  if (format === "csv") return ctx.terminal.out(csv(table));
  const width = table[0]!.length;
  const total = [
    "TOTAL",
    `${totals.calls} calls`,
    `${totals.succeeded} ok`,
    `${totals.failed} failed`,
    "",
    "",
    "",
    String(totals.images),
    "",
    totals.cost_usd.toFixed(4),
    "",
    "",
  ];
  ctx.terminal.out(alignedTable([...table, total.slice(0, width)]));
}

async function allRawRows(client: ApiClient, filter: Record<string, string | undefined>): Promise<UsageRow[]> {
  const rows: UsageRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.json<{ rows: UsageRow[]; next_cursor: string | null }>("GET", "/v1/usage", {
      query: { ...filter, raw: 1, limit: PAGE, cursor },
    });
    rows.push(...page.rows);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return rows;
}
