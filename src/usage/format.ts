/**
 * Usage reports as text: `table` is the aligned table with totals that `imagen usage` users read; `csv` is
 * RFC 4180 for spreadsheets.
 */
import type { UsageGroupKey, UsageGroupRow, UsageReport, UsageRow, UsageTotals } from "./ledger";

const TOTAL_COLUMNS = ["CALLS", "OK", "FAILED", "IMAGES", "COST_USD"] as const;

function totalsCells(t: UsageTotals): string[] {
  return [String(t.calls), String(t.succeeded), String(t.failed), String(t.images), t.cost_usd.toFixed(4)];
}

export function reportRows(report: UsageReport, groupBy: readonly UsageGroupKey[]): string[][] {
  const header = [...groupBy.map((k) => k.toUpperCase()), ...TOTAL_COLUMNS];
  const rows = report.groups.map((g: UsageGroupRow) => [...groupBy.map((k) => g.group[k] ?? "-"), ...totalsCells(g)]);
  const total = [...groupBy.map((_, i) => (i === 0 ? "TOTAL" : "")), ...totalsCells(report.totals)];
  return [header, ...rows, total];
}

const RAW_COLUMNS = ["CREATED", "CALLER", "SOURCE", "REF", "BACKEND", "MODEL", "SEED", "SIZE", "IMAGES", "LATENCY_MS", "COST_USD", "OK", "ERROR"] as const;

export function rawRows(rows: readonly UsageRow[]): string[][] {
  return [
    [...RAW_COLUMNS],
    ...rows.map((r) => [
      r.occurred_at,
      r.caller,
      r.source ?? "-",
      r.ref ?? "-",
      r.backend,
      r.model,
      r.seed === null ? "-" : String(r.seed),
      `${r.width}x${r.height}`,
      String(r.images_produced),
      String(r.latency_ms),
      r.cost_usd_estimate === null ? "-" : r.cost_usd_estimate.toFixed(4),
      r.success ? "yes" : "no",
      r.success ? "" : `${r.error_code ?? "error"}: ${r.error_message ?? ""}`,
    ]),
  ];
}

/** Columns padded to their widest cell, two spaces apart, numbers right-aligned. */
export function alignedTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  const numeric = widths.map((_, i) =>
    rows.slice(1).every((row) => row[i] === undefined || row[i] === "" || row[i] === "-" || /^-?\d+(\.\d+)?$/.test(row[i]!)),
  );
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
  return `${lines.join("\n")}\n`;
}

export function csv(rows: readonly (readonly string[])[]): string {
  const quote = (cell: string) => (/[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
  return `${rows.map((row) => row.map(quote).join(",")).join("\r\n")}\r\n`;
}
