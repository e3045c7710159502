/**
 * The price refresh: read every source, compare with the current price table, and apply only
 * what is safe to apply without a human.
 *
 * Per candidate price (one provider/model/unit/quality/size line):
 * - same rate as the current row → unchanged;
 * - a change within `threshold` (relative, default 25%) → applied: the store closes the old row
 *   and opens a new one, so usage rows keep pointing at the rate they used;
 * - a change beyond the threshold → held for review, not applied;
 * - a rate outside the plausible band (default $0.0001–$1 per image or megapixel) → held as
 *   "units look wrong" (cents read as dollars or the reverse), whatever the drift;
 * - a price line for a model we do not price yet → held ONLY if the model is wanted (a configured
 *   backend uses it) or already priced in another dimension: there is no old rate to compare with,
 *   so a human approves the first one. Every other model the source lists (Portkey's files list
 *   dozens we do not run) is only counted in the report: holding them would bury the changes
 *   that need attention.
 * Every line a source lists supersedes the held proposals of that line for any other rate, so an
 * outdated proposal cannot be approved later (held.ts).
 * A proposal an operator rejected is not held again while the source keeps publishing the same
 * rate (counted as `declined`); another rate supersedes it, as any proposal (held.ts).
 * A source that fails (network, HTTP status, malformed body, HTML instead of JSON, timeout)
 * changes nothing: the last known prices stay current, and the failure is in the report. Every
 * run is recorded with its report and the issues still open (warnings.ts): a failed run keeps the
 * earlier runs' warnings.
 */
import type { Clock } from "../lib/clock";
import { type Logger, silentLogger } from "../lib/log";
import { heldRateId, rejectedRates } from "./held";
import { modelId, normaliseModel, normaliseProvider, priceKeyId, roundRate } from "./model-key";
import type { CandidatePrice, PriceSource, RejectedEntry, SourceResult } from "./sources/source";
import type { PriceKey, PriceRow, PriceStore } from "./store";
import { carryIssues, type OpenIssues, recordedIssues } from "./warnings";

const DEFAULT_REFRESH_THRESHOLD = 0.25;
const DEFAULT_PLAUSIBLE_USD = { min: 0.0001, max: 1 } as const;
/** Report lists are capped so one noisy source cannot bloat the run record. */
const LIST_CAP = 50;
/** A source that has not answered by then counts as failed, so one hung host cannot stall the whole refresh. */
const DEFAULT_SOURCE_TIMEOUT_MS = 60_000;

export interface RefreshOptions {
  readonly sources: readonly PriceSource[];
  readonly store: PriceStore;
  readonly clock: Clock;
  /** Largest relative change applied without review. */
  readonly threshold?: number;
  /** USD per image or megapixel outside this band means the units look wrong. */
  readonly plausible?: { readonly min: number; readonly max: number };
  /** Models configured backends use (provider + model); a first price for one of them is held for approval. */
  readonly wanted?: readonly { readonly provider: string; readonly model: string }[];
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  /** How long one source may take (all its fetches), default 60 s. */
  readonly sourceTimeoutMs?: number;
}

interface PriceChange extends PriceKey {
  readonly old_rate: number | null;
  readonly new_rate: number;
  /** The source's own figure before conversion, e.g. "13.3 cents per image (high, 1024x1024)". */
  readonly published: string;
}

interface HeldPriceChange extends PriceChange {
  readonly reason: string;
}

export interface SourceReport {
  readonly source: string;
  /**
   * False when the source failed, a price we track could not be read from it, or a store write
   * failed. Whatever was not refreshed keeps its last known price.
   */
  readonly ok: boolean;
  /** True when the source itself failed (nothing of it was read); its earlier warnings stay. */
  readonly unreadable: boolean;
  readonly errors: readonly string[];
  readonly candidates: number;
  readonly unchanged: number;
  /** Changes not held again because an operator rejected that rate for that line. */
  readonly declined: number;
  readonly applied: readonly PriceChange[];
  readonly held: readonly HeldPriceChange[];
  /** Entries the source could not read, with the reason. */
  readonly rejected: readonly RejectedEntry[];
  /** Models the source prices that this deployment neither prices nor uses (names, capped). */
  readonly unpriced_models: readonly string[];
  readonly unpriced_model_count: number;
  /** Current lines of this source's providers that the source no longer lists (kept as they are). */
  readonly not_listed: readonly string[];
}

export interface RefreshReport {
  readonly started_at: string;
  readonly finished_at: string;
  readonly ok: boolean;
  readonly threshold: number;
  /** A failure before any source ran (the store could not be read). */
  readonly error: string | null;
  readonly sources: readonly SourceReport[];
  /** Source failures and unlisted lines still open after this run, earlier runs' included. */
  readonly open_issues: OpenIssues;
}

export async function refreshPrices(options: RefreshOptions): Promise<RefreshReport> {
  const { store, clock } = options;
  const log = options.log ?? silentLogger;
  const threshold = options.threshold ?? DEFAULT_REFRESH_THRESHOLD;
  const plausible = options.plausible ?? DEFAULT_PLAUSIBLE_USD;
  const startedAt = new Date(clock.now()).toISOString();

  // Read apart from the rest: a store that answers this but not the price table still keeps the earlier warnings.
  const previous = await store.lastRun().then(recordedIssues, (error: unknown) => {
    log.warn("price refresh could not read the previous run; earlier warnings are not carried", { error: message(error) });
    return recordedIssues(null);
  });
  let current: readonly PriceRow[];
  let rejected: ReadonlySet<string>;
  try {
    const [rows, held] = await Promise.all([store.current(), store.held()]);
    current = rows;
    rejected = rejectedRates(held);
  } catch (error) {
    const storeError = `price store unreachable: ${message(error)}`;
    const report: RefreshReport = {
      started_at: startedAt,
      finished_at: new Date(clock.now()).toISOString(),
      ok: false,
      threshold,
      error: storeError,
      sources: [],
      open_issues: carryIssues(previous, { at: startedAt, storeError, sources: [] }),
    };
    log.error("price refresh could not read the price store", { error: report.error });
    await record(store, report, log);
    return report;
  }

  const rowsByKey = new Map(current.map((row) => [priceKeyId(row), row]));
  const pricedModels = new Set(current.map((row) => modelId(row.provider, row.model)));
  const wantedModels = new Set((options.wanted ?? []).map((w) => modelId(w.provider, w.model)));
  const modelsByProvider = new Map<string, Set<string>>();
  for (const { provider, model } of [...current, ...(options.wanted ?? [])]) {
    const key = normaliseProvider(provider);
    let set = modelsByProvider.get(key);
    if (!set) modelsByProvider.set(key, (set = new Set()));
    set.add(normaliseModel(model));
  }

  const sources: SourceReport[] = [];
  for (const source of options.sources) {
    const outcome = new SourceOutcome(source.id);
    let result: SourceResult;
    try {
      result = await fetchWithin(source, modelsByProvider, options.sourceTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS, options.signal);
    } catch (error) {
      outcome.unreadable = true;
      outcome.errors.push(message(error));
      log.warn("price source failed; keeping the last known prices", { source: source.id, error: message(error) });
      sources.push(outcome.report([]));
      continue;
    }
    outcome.rejected.push(...result.rejected);
    // An entry the source could not read is only an error when it is a price we track: then
    // that price was not checked this run. Unreadable entries for models we do not run are noise.
    for (const entry of result.rejected) {
      for (const provider of source.providers) {
        const id = modelId(provider, entry.model);
        if (pricedModels.has(id) || wantedModels.has(id)) outcome.errors.push(`${entry.model} not refreshed: ${entry.reason}`);
      }
    }
    const providers = new Set(source.providers.map(normaliseProvider));
    const candidates = dedupe(
      result.candidates.filter((c) => providers.has(normaliseProvider(c.provider))),
      outcome,
    );
    outcome.candidates = candidates.length;
    const nowIso = new Date(clock.now()).toISOString();

    for (const candidate of candidates) {
      const existing = rowsByKey.get(priceKeyId(candidate));
      const model = modelId(candidate.provider, candidate.model);
      const known = existing !== undefined || pricedModels.has(model);
      if (!known && !wantedModels.has(model)) {
        outcome.unpriced.add(normaliseModel(candidate.model));
        continue;
      }
      const change: PriceChange = {
        provider: existing?.provider ?? normaliseProvider(candidate.provider),
        // Keep the stored spelling so the store closes the right row.
        model: existing?.model ?? normaliseModel(candidate.model),
        unit: candidate.unit,
        quality: existing?.quality ?? candidate.quality,
        size: existing?.size ?? candidate.size,
        old_rate: existing?.usd_rate ?? null,
        new_rate: roundRate(candidate.usd_rate),
        published: candidate.published,
      };
      const decided = decide(change, existing, known, threshold, plausible);
      const decision: Decision = decided.kind === "hold" && rejected.has(heldRateId(change, change.new_rate)) ? { kind: "declined" } : decided;
      try {
        await settle(store, source.id, change, decision, nowIso, outcome, log);
      } catch (error) {
        outcome.errors.push(`store: ${message(error)}`);
      }
    }
    const report = outcome.report(notListed(current, source, new Set(candidates.map(priceKeyId))));
    if (report.not_listed.length > 0) {
      log.warn("price source no longer lists priced lines; they keep their last known price", {
        source: source.id,
        not_listed: report.not_listed.join(", "),
      });
    }
    log.info("price source refreshed", {
      source: source.id,
      ok: report.ok,
      candidates: report.candidates,
      unchanged: report.unchanged,
      applied: report.applied.length,
      held: report.held.length,
      rejected: report.rejected.length,
    });
    sources.push(report);
  }

  const report: RefreshReport = {
    started_at: startedAt,
    finished_at: new Date(clock.now()).toISOString(),
    ok: sources.every((s) => s.ok),
    threshold,
    error: null,
    sources,
    open_issues: carryIssues(previous, { at: startedAt, storeError: null, sources }),
  };
  await record(store, report, log);
  return report;
}

/** The source's prices, or a rejection once `ms` passed: its fetches are aborted, and a source that ignores the signal is not waited for. */
async function fetchWithin(
  source: PriceSource,
  models: ReadonlyMap<string, ReadonlySet<string>>,
  ms: number,
  outer: AbortSignal | undefined,
): Promise<SourceResult> {
  const controller = new AbortController();
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${ms / 1000} s (timed out)`)), ms);
  const forward = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", forward, { once: true });
  if (outer?.aborted) forward();
  try {
    return await Promise.race([source.fetchPrices({ models, signal: controller.signal }), aborted]);
  } finally {
    // Once settled nothing aborts the controller any more, so `aborted` never rejects unobserved.
    clearTimeout(timer);
    outer?.removeEventListener("abort", forward);
  }
}

type Decision = { kind: "unchanged" } | { kind: "apply" } | { kind: "hold"; reason: string } | { kind: "declined" };

/** Carries out one decision against the store and records it in the source's outcome. */
async function settle(
  store: PriceStore,
  sourceId: string,
  change: PriceChange,
  decision: Decision,
  nowIso: string,
  outcome: SourceOutcome,
  log: Logger,
): Promise<void> {
  const key = { provider: change.provider, model: change.model, unit: change.unit, quality: change.quality, size: change.size };
  await store.supersede(key, change.new_rate, nowIso);
  switch (decision.kind) {
    case "unchanged":
      outcome.unchanged++;
      return;
    case "declined":
      outcome.declined++;
      return;
    case "apply":
      await store.apply({ ...key, usd_rate: change.new_rate, source: sourceId, fetched_at: nowIso, effective_from: nowIso });
      outcome.applied.push(change);
      return;
    case "hold":
      await store.hold({
        ...key,
        old_rate: change.old_rate,
        new_rate: change.new_rate,
        source: sourceId,
        reason: decision.reason,
        detected_at: nowIso,
      });
      outcome.held.push({ ...change, reason: decision.reason });
      log.warn("price change held for review", {
        source: sourceId,
        ...key,
        old_rate: change.old_rate,
        new_rate: change.new_rate,
        reason: decision.reason,
      });
  }
}

function decide(
  change: PriceChange,
  existing: PriceRow | undefined,
  modelPriced: boolean,
  threshold: number,
  plausible: { min: number; max: number },
): Decision {
  const rate = change.new_rate;
  if (existing && roundRate(existing.usd_rate) === rate) return { kind: "unchanged" };
  if (!(rate >= plausible.min && rate <= plausible.max)) {
    return {
      kind: "hold",
      reason: `units look wrong: $${rate} per ${change.unit} is outside the plausible $${plausible.min}–$${plausible.max} (published: ${change.published})`,
    };
  }
  if (!existing) {
    return {
      kind: "hold",
      reason: modelPriced
        ? `new price line for a priced model (this unit/quality/size had no price): approve $${rate} per ${change.unit}`
        : `new model: no previous price to compare with; approve $${rate} per ${change.unit}`,
    };
  }
  const old = roundRate(existing.usd_rate);
  const relative = old === 0 ? Number.POSITIVE_INFINITY : Math.abs(rate - old) / old;
  // The epsilon keeps an exact 25% change (0.04 → 0.05) on the "apply" side despite float error.
  if (relative <= threshold + 1e-9) return { kind: "apply" };
  const pct = old === 0 ? "from $0" : `${rate > old ? "+" : "-"}${Math.round(relative * 100)}%`;
  return {
    kind: "hold",
    reason: `change of ${pct} ($${old} → $${rate} per ${change.unit}) exceeds the ${Math.round(threshold * 100)}% threshold`,
  };
}

/** Same line listed twice: one copy if the rates agree, neither if they conflict. */
function dedupe(candidates: readonly CandidatePrice[], outcome: SourceOutcome): CandidatePrice[] {
  const byKey = new Map<string, CandidatePrice[]>();
  for (const c of candidates) {
    const key = priceKeyId(c);
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  const kept: CandidatePrice[] = [];
  for (const group of byKey.values()) {
    const first = group[0];
    if (!first) continue;
    const rates = new Set(group.map((c) => roundRate(c.usd_rate)));
    if (rates.size === 1) kept.push(first);
    else outcome.rejected.push({ model: first.model, reason: `listed with conflicting prices ${[...rates].join(", ")}` });
  }
  return kept;
}

function notListed(current: readonly PriceRow[], source: PriceSource, seen: ReadonlySet<string>): string[] {
  const providers = new Set(source.providers.map(normaliseProvider));
  return current
    .filter((row) => providers.has(normaliseProvider(row.provider)) && !seen.has(priceKeyId(row)))
    .map((row) => [row.model, row.quality, row.size].filter((d) => d !== null).join(" "));
}

class SourceOutcome {
  readonly errors: string[] = [];
  readonly applied: PriceChange[] = [];
  readonly held: HeldPriceChange[] = [];
  readonly rejected: RejectedEntry[] = [];
  readonly unpriced = new Set<string>();
  candidates = 0;
  unchanged = 0;
  declined = 0;
  unreadable = false;

  constructor(readonly source: string) {}

  report(notListedLines: readonly string[]): SourceReport {
    const unpriced = [...this.unpriced].sort();
    return {
      source: this.source,
      ok: this.errors.length === 0,
      unreadable: this.unreadable,
      errors: this.errors,
      candidates: this.candidates,
      unchanged: this.unchanged,
      declined: this.declined,
      applied: this.applied,
      held: this.held,
      rejected: this.rejected.slice(0, LIST_CAP),
      unpriced_models: unpriced.slice(0, LIST_CAP),
      unpriced_model_count: unpriced.length,
      not_listed: notListedLines.slice(0, LIST_CAP),
    };
  }
}

async function record(store: PriceStore, report: RefreshReport, log: Logger): Promise<void> {
  try {
    await store.recordRun({ started_at: report.started_at, finished_at: report.finished_at, ok: report.ok, report });
  } catch (error) {
    log.error("could not record the price refresh run", { error: message(error) });
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
