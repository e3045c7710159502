/**
 * What an operator should look at after price refreshes, for `GET /v1/pricing` and `/healthz`:
 * sources that failed (their prices were not checked and silently age) and priced lines a source
 * no longer lists (renamed or withdrawn model?).
 *
 * These are open issues, not one run's news: each run carries the previous run's issues forward
 * (`carryIssues`) and records them in its report, so a failed run cannot erase an earlier "no
 * longer listed" warning. A source's failure is resolved by its next successful read; a line's
 * "no longer listed" by the next successful read that lists it again, or once the line is not
 * priced any more.
 */
import { z } from "zod";
import type { RefreshRun } from "./store";

const failedSource = z.object({
  source: z.string(),
  /** The first failure of the current streak. */
  since: z.string(),
  /** The latest failed run. */
  at: z.string(),
  errors: z.array(z.string()),
});

const notListed = z.object({
  source: z.string(),
  lines: z.array(z.string()),
  /** The first run that missed them. */
  since: z.string(),
});

const openIssuesSchema = z.object({
  failed_sources: z.array(failedSource),
  not_listed: z.array(notListed),
});

export type OpenIssues = z.infer<typeof openIssuesSchema>;

/** The id a failure to read the price store itself is filed under. */
const PRICE_STORE = "price store";

/** The part of a source's report (refresh.ts SourceReport) the issues come from. */
export interface SourceOutcomeSummary {
  readonly source: string;
  readonly ok: boolean;
  /** True when the source itself could not be read: nothing of it was checked this run. */
  readonly unreadable: boolean;
  readonly errors: readonly string[];
  readonly not_listed: readonly string[];
}

const NO_ISSUES: OpenIssues = { failed_sources: [], not_listed: [] };

/**
 * The issues open after a run. `storeError` is set when the run could not read the price store:
 * then no source ran and every earlier issue stays. A source that was not run (removed from the
 * config) drops its issues.
 */
export function carryIssues(
  previous: OpenIssues,
  run: { readonly at: string; readonly storeError: string | null; readonly sources: readonly SourceOutcomeSummary[] },
): OpenIssues {
  const failedBefore = new Map(previous.failed_sources.map((f) => [f.source, f]));
  const notListedBefore = new Map(previous.not_listed.map((n) => [n.source, n]));
  if (run.storeError !== null) {
    return {
      failed_sources: [
        ...previous.failed_sources.filter((f) => f.source !== PRICE_STORE),
        { source: PRICE_STORE, since: failedBefore.get(PRICE_STORE)?.since ?? run.at, at: run.at, errors: [run.storeError] },
      ],
      not_listed: previous.not_listed,
    };
  }
  const issues: OpenIssues = { failed_sources: [], not_listed: [] };
  for (const s of run.sources) {
    if (!s.ok) {
      issues.failed_sources.push({ source: s.source, since: failedBefore.get(s.source)?.since ?? run.at, at: run.at, errors: [...s.errors] });
    }
    const before = notListedBefore.get(s.source);
    if (s.unreadable) {
      if (before) issues.not_listed.push(before);
    } else if (s.not_listed.length > 0) {
      issues.not_listed.push({ source: s.source, lines: [...s.not_listed], since: before?.since ?? run.at });
    }
  }
  return issues;
}

/**
 * A recorded report's open issues. A report from before issues were recorded (or a foreign one)
 * yields its own sources' "not listed" lines, or nothing.
 */
export function recordedIssues(lastRun: RefreshRun | null): OpenIssues {
  if (!lastRun) return NO_ISSUES;
  const recorded = z.object({ open_issues: openIssuesSchema }).safeParse(lastRun.report);
  if (recorded.success) return recorded.data.open_issues;
  const legacy = z
    .object({
      sources: z.array(z.object({ source: z.string(), not_listed: z.array(z.string()).catch([]) }).catch({ source: "", not_listed: [] })),
    })
    .safeParse(lastRun.report);
  if (!legacy.success) return NO_ISSUES;
  return {
    failed_sources: [],
    not_listed: legacy.data.sources.filter((s) => s.not_listed.length > 0).map((s) => ({ source: s.source, lines: s.not_listed, since: lastRun.started_at })),
  };
}

export function pricingWarnings(lastRun: RefreshRun | null): string[] {
  const issues = recordedIssues(lastRun);
  return [
    ...issues.failed_sources.map(
      (f) => `pricing: ${failureText(f)}${f.since === f.at ? "" : ` (failing since ${f.since})`}; the last known prices stay current`,
    ),
    ...issues.not_listed.map(
      (n) =>
        `pricing: source ${n.source} no longer lists ${n.lines.join(", ")} (since ${n.since}); ` +
        "the last known price stays current: check whether the model was renamed or withdrawn",
    ),
  ];
}

/** `ok`, or `degraded: …` naming each failed source, when and why, for /healthz. */
export function pricingHealth(lastRun: RefreshRun | null): string {
  const failed = recordedIssues(lastRun).failed_sources;
  return failed.length === 0 ? "ok" : `degraded: ${failed.map(failureText).join("; ")}`;
}

function failureText(f: z.infer<typeof failedSource>): string {
  return `source ${f.source} failed at ${f.at}: ${f.errors.join("; ")}`;
}
