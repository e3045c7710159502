/**
 * The ledger contract: the embedded D1 ledger and the Supabase ledger (against
 * the fake Data API, real Postgres behind it) take the same fixture events and must give the same
 * reports, pages and summaries — each checked against numbers worked out by hand, then against
 * each other field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { D1Ledger } from "../../src/usage/d1-ledger";
import { usd } from "../../src/lib/money";
import type { UsageEvent } from "../../src/usage/event";
import type { Ledger, UsageRow } from "../../src/usage/ledger";
import { SupabaseLedger } from "../../src/usage/supabase-ledger";
import { FIXTURE_EVENTS, usageEvent } from "./fixtures";
import { migratedLedgerDb, newSupabaseProject, type FakeSupabaseProject } from "./ledger-world";

let project: FakeSupabaseProject;
const ledgers: Record<string, Ledger> = {};

beforeAll(async () => {
  project = await newSupabaseProject();
  ledgers.D1Ledger = new D1Ledger(await migratedLedgerDb());
  ledgers.SupabaseLedger = new SupabaseLedger(project.client());
  for (const ledger of Object.values(ledgers)) await ledger.recordBatch(FIXTURE_EVENTS);
});

afterAll(async () => {
  await project?.drop();
});

const byId = (id: string) => FIXTURE_EVENTS.find((e) => e.event_id === id)!;
/** A stored row is the event it was written from, plus the ledger's id. */
const rowOf = (id: string) => ({ ...byId(id), id: expect.any(Number) });

describe.each(["D1Ledger", "SupabaseLedger"])("%s", (name) => {
  const ledger = () => ledgers[name]!;

  it("reports by ISO week (Monday, UTC) with grand totals", async () => {
    expect(await ledger().report({}, ["week"])).toEqual({
      groups: [
        { group: { week: "2026-04-27" }, calls: 1, succeeded: 1, failed: 0, images: 1, cost_usd: 0.003 },
        { group: { week: "2026-05-04" }, calls: 6, succeeded: 5, failed: 1, images: 6, cost_usd: 0.167 },
        { group: { week: "2026-05-11" }, calls: 3, succeeded: 1, failed: 2, images: 4, cost_usd: 0.1 },
      ],
      totals: { calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 },
    });
  });

  it("orders groups by time, then backend, model, caller, source, whatever order the keys came in", async () => {
    const report = await ledger().report({}, ["caller", "week"]);
    expect(report.groups.map((g) => [g.group, g.calls, g.cost_usd])).toEqual([
      [{ week: "2026-04-27", caller: "otto/head" }, 1, 0.003],
      [{ week: "2026-05-04", caller: "mai/hermes" }, 3, 0.158],
      [{ week: "2026-05-04", caller: "otto/head" }, 3, 0.009],
      [{ week: "2026-05-11", caller: "otto/head" }, 3, 0.1],
    ]);
  });

  it("filters by caller and by a date range (since inclusive, until exclusive), null keys kept", async () => {
    expect(await ledger().report({ caller: "otto/head", since: "2026-05-04", until: "2026-05-11" }, ["source", "backend"])).toEqual({
      groups: [
        { group: { backend: "flux-schnell-replicate", source: "admin" }, calls: 1, succeeded: 1, failed: 0, images: 1, cost_usd: 0.003 },
        { group: { backend: "flux-schnell-replicate", source: "webhook" }, calls: 1, succeeded: 1, failed: 0, images: 2, cost_usd: 0.006 },
        { group: { backend: "flux-schnell-together", source: "admin" }, calls: 1, succeeded: 0, failed: 1, images: 0, cost_usd: 0 },
      ],
      totals: { calls: 3, succeeded: 2, failed: 1, images: 3, cost_usd: 0.009 },
    });
    const days = await ledger().report({ since: "2026-05-12" }, ["day", "source"]);
    expect(days.groups.map((g) => g.group)).toEqual([
      { day: "2026-05-12", source: "webhook" },
      { day: "2026-05-12", source: null },
    ]);
  });

  it("answers totals only without group keys, and zeros for an empty range", async () => {
    expect(await ledger().report({ since: "2030-01-01" }, [])).toEqual({
      groups: [],
      totals: { calls: 0, succeeded: 0, failed: 0, images: 0, cost_usd: 0 },
    });
  });

  it("pages raw rows newest first, ties broken by id, until the cursor runs out", async () => {
    const first = await ledger().raw({}, { limit: 4 });
    expect(first.rows).toEqual(["evt-10", "evt-09", "evt-08", "evt-07"].map(rowOf));
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await ledger().raw({}, { limit: 4, cursor: first.next_cursor! });
    expect(second.rows.map((r) => r.event_id)).toEqual(["evt-06", "evt-05", "evt-04", "evt-03"]);
    const third = await ledger().raw({}, { limit: 4, cursor: second.next_cursor! });
    expect(third.rows).toEqual(["evt-02", "evt-01"].map(rowOf));
    expect(third.next_cursor).toBeNull();
  });

  it("pages within a filter, and a last full page has no cursor", async () => {
    const page = await ledger().raw({ caller: "mai/hermes" }, { limit: 3 });
    expect(page.rows.map((r) => r.event_id)).toEqual(["evt-07", "evt-06", "evt-05"]);
    expect(page.next_cursor).toBeNull();
  });

  it("summarises totals, sources (costliest first), days (newest first) and recent failures", async () => {
    expect(await ledger().summary({}, 2)).toEqual({
      totals: { calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 },
      by_source: [
        { source: "script", calls: 2, succeeded: 2, failed: 0, images: 2, cost_usd: 0.158 },
        { source: "webhook", calls: 4, succeeded: 3, failed: 1, images: 7, cost_usd: 0.109 },
        { source: "admin", calls: 2, succeeded: 1, failed: 1, images: 1, cost_usd: 0.003 },
        { source: null, calls: 2, succeeded: 1, failed: 1, images: 1, cost_usd: 0 },
      ],
      by_day: [
        { day: "2026-05-12", calls: 2, succeeded: 1, failed: 1, images: 4, cost_usd: 0.1 },
        { day: "2026-05-11", calls: 1, succeeded: 0, failed: 1, images: 0, cost_usd: 0 },
        { day: "2026-05-10", calls: 1, succeeded: 1, failed: 0, images: 1, cost_usd: 0.025 },
        { day: "2026-05-06", calls: 2, succeeded: 2, failed: 0, images: 2, cost_usd: 0.133 },
        { day: "2026-05-04", calls: 3, succeeded: 2, failed: 1, images: 3, cost_usd: 0.009 },
        { day: "2026-05-03", calls: 1, succeeded: 1, failed: 0, images: 1, cost_usd: 0.003 },
      ],
      recent_errors: [rowOf("evt-10"), rowOf("evt-08")],
      reconciliation: {
        estimated_usd: 0.27,
        reserved_usd: 0.112,
        reserved_calls: 4,
        provider_reported_calls: 3,
        provider_predict_time_s: 8.5,
        provider_image_count: 7,
        images_where_provider_reported: 7,
      },
    });
  });

  it("groups by ref, rows without one last, and answers what one ref cost", async () => {
    expect(await ledger().report({}, ["ref"])).toEqual({
      groups: [
        { group: { ref: "post/cats" }, calls: 3, succeeded: 3, failed: 0, images: 4, cost_usd: 0.142 },
        { group: { ref: "post/dogs" }, calls: 2, succeeded: 1, failed: 1, images: 4, cost_usd: 0.1 },
        { group: { ref: null }, calls: 5, succeeded: 3, failed: 2, images: 3, cost_usd: 0.028 },
      ],
      totals: { calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 },
    });
    const cats = await ledger().summary({ ref: "post/cats" }, 5);
    expect(cats.totals).toEqual({ calls: 3, succeeded: 3, failed: 0, images: 4, cost_usd: 0.142 });
    expect(cats.reconciliation).toEqual({
      estimated_usd: 0.142,
      reserved_usd: 0.009,
      reserved_calls: 2,
      provider_reported_calls: 2,
      provider_predict_time_s: 3.75,
      provider_image_count: 3,
      images_where_provider_reported: 3,
    });
    expect((await ledger().raw({ ref: "post/dogs" }, { limit: 10 })).rows).toEqual(["evt-09", "evt-08"].map(rowOf));
  });

  it("finds a client's X-Request-Id within one caller, though another caller sent the same one", async () => {
    const own = await ledger().raw({ caller: "otto/head", client_request_id: "cli-1" }, { limit: 10 });
    expect(own.rows).toEqual(["evt-09", "evt-01"].map(rowOf));
    const everyone = await ledger().report({ client_request_id: "cli-1" }, ["caller"]);
    expect(everyone.groups.map((g) => [g.group.caller, g.calls])).toEqual([
      ["mai/hermes", 1],
      ["otto/head", 2],
    ]);
  });

  it("refuses bad questions before asking the database", async () => {
    await expect(ledger().report({}, ["week", "prompt" as never])).rejects.toThrow(/unknown usage group key: prompt/);
    await expect(ledger().report({}, ["week", "week"])).rejects.toThrow(/must not repeat/);
    await expect(ledger().report({ since: "2026-13-01" }, [])).rejects.toThrow(/since must be a UTC date/);
    await expect(ledger().report({ since: "2026-05-10", until: "2026-05-10" }, [])).rejects.toThrow(/until .* must be after since/);
    await expect(ledger().raw({}, { limit: 0 })).rejects.toThrow(/page limit/);
    await expect(ledger().raw({}, { limit: 501 })).rejects.toThrow(/page limit must be an integer 1\.\.500/);
    await expect(ledger().raw({}, { limit: 5, cursor: "not-a-cursor" })).rejects.toThrow(/invalid usage page cursor/);
    await expect(ledger().summary({}, -1)).rejects.toThrow(/recent error count/);
    await expect(ledger().raw({ ref: "" }, { limit: 5 })).rejects.toThrow(/ref must not be empty/);
    await expect(ledger().summary({ client_request_id: "" }, 5)).rejects.toThrow(/client_request_id must not be empty/);
  });

  // The tests below write; they run last so the fixture numbers above hold.
  it("keeps one row per event id, however often and however batched it is delivered", async () => {
    await ledger().recordBatch(FIXTURE_EVENTS);
    const again = usageEvent({ event_id: "evt-idem", request_id: "req-idem", caller: "idem/test", occurred_at: "2026-06-01T00:00:00.000Z" });
    await ledger().recordBatch([again, again]);
    await ledger().recordBatch([again]);
    expect((await ledger().raw({ caller: "idem/test" }, { limit: 10 })).rows).toEqual([{ ...again, id: expect.any(Number) }]);
    expect((await ledger().report({ until: "2026-06-01" }, [])).totals).toEqual({ calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 });
  });

  it("stores an event queued before the attribution columns existed, reading them back as null", async () => {
    const {
      client_request_id: _c,
      ref: _r,
      reserved_usd: _u,
      provider_predict_time_s: _t,
      provider_image_count: _i,
      cost_unknown_reason: _k,
      ...old
    } = usageEvent({
      event_id: "evt-old-worker",
      caller: "old/worker",
    });
    await ledger().recordBatch([old]);
    expect((await ledger().raw({ caller: "old/worker" }, { limit: 1 })).rows).toEqual([
      {
        ...old,
        client_request_id: null,
        ref: null,
        reserved_usd: null,
        provider_predict_time_s: null,
        provider_image_count: null,
        cost_unknown_reason: null,
        id: expect.any(Number),
      },
    ]);
  });

  it("keeps why an attempt's cost is unknown, with its cost NULL (never 0)", async () => {
    const lost = usageEvent({
      event_id: "evt-unknown-cost",
      caller: "unknown/cost",
      success: false,
      images_produced: 0,
      cost_usd_estimate: null,
      error_code: "unavailable",
      cost_unknown_reason: "ambiguous_create",
    });
    await ledger().recordBatch([lost]);
    expect((await ledger().raw({ caller: "unknown/cost" }, { limit: 1 })).rows).toEqual([{ ...lost, id: expect.any(Number) }]);
  });

  it("corrects a row of unknown cost in place once it is known: one row, the new cost, no reason left; a plain repeat changes nothing", async () => {
    const caller = "corrected/cost";
    const lost = usageEvent({
      event_id: "evt-corrected",
      caller,
      success: false,
      images_produced: 0,
      cost_usd_estimate: null,
      error_code: "unavailable",
      cost_unknown_reason: "ambiguous_create",
    });
    await ledger().recordBatch([lost]);
    const known = { ...lost, cost_usd_estimate: usd(0.003), cost_unknown_reason: null, images_produced: 1, external_id: "pred-found" };
    await ledger().correct([known]);
    // The queue delivering the first event again must not undo the correction.
    await ledger().recordBatch([lost]);
    expect((await ledger().raw({ caller }, { limit: 5 })).rows).toEqual([{ ...known, id: expect.any(Number) }]);
    // A row whose cost is known is never rewritten.
    await ledger().correct([{ ...known, cost_usd_estimate: usd(9), error_message: "rewritten" }]);
    expect((await ledger().raw({ caller }, { limit: 5 })).rows).toEqual([{ ...known, id: expect.any(Number) }]);
  });

  it("stores times in one spelling: an offset time comes back as UTC with milliseconds", async () => {
    await ledger().recordBatch([usageEvent({ event_id: "evt-offset", caller: "offset/test", occurred_at: "2026-06-02T02:30:00+02:00" })]);
    const [row] = (await ledger().raw({ caller: "offset/test" }, { limit: 1 })).rows;
    expect(row?.occurred_at).toBe("2026-06-02T00:30:00.000Z");
  });

  it("rejects a batch holding an impossible event, and stores none of it", async () => {
    const good = usageEvent({ event_id: "evt-good-neighbour", caller: "atomic/test" });
    const bad = usageEvent({ event_id: "evt-bad-hash", caller: "atomic/test", prompt_hash: "not-a-hash" });
    await expect(ledger().recordBatch([good, bad])).rejects.toThrow(/imagen_usage_prompt_hash_sha256/);
    expect((await ledger().raw({ caller: "atomic/test" }, { limit: 10 })).rows).toEqual([]);
  });

  it.each([
    ["a ref longer than 200 characters", { ref: "r".repeat(201) }, /imagen_usage_ref_length/],
    ["an empty client request id", { client_request_id: "" }, /imagen_usage_client_request_id_length/],
    ["a negative reservation", { reserved_usd: -0.01 as never }, /imagen_usage_reserved_non_negative/],
    ["a negative provider image count", { provider_image_count: -1 }, /imagen_usage_provider_images_non_negative/],
    ["an empty cost-unknown reason", { cost_unknown_reason: "" }, /imagen_usage_cost_unknown_reason_length/],
  ] as const)("refuses %s", async (_, change, constraint) => {
    await expect(ledger().recordBatch([usageEvent({ event_id: "evt-bad-attribution", caller: "attribution/test", ...change })])).rejects.toThrow(constraint);
    expect((await ledger().raw({ caller: "attribution/test" }, { limit: 10 })).rows).toEqual([]);
  });
});

describe("both ledgers answer alike", () => {
  /** Everything but the row ids, which each database assigns itself. */
  const withoutIds = (rows: readonly UsageRow[]): UsageEvent[] => rows.map(({ id: _id, ...event }) => event);

  it("gives identical reports for every group key", async () => {
    for (const keys of [
      ["week"],
      ["day"],
      ["backend"],
      ["model"],
      ["caller"],
      ["source"],
      ["ref"],
      ["week", "day", "backend", "model", "caller", "source", "ref"],
    ] as const) {
      const [d1, supabase] = await Promise.all([ledgers.D1Ledger!.report({}, keys), ledgers.SupabaseLedger!.report({}, keys)]);
      expect(supabase, keys.join(",")).toEqual(d1);
    }
  });

  it("gives identical raw pages and summaries", async () => {
    const pages = async (ledger: Ledger) => {
      const all: UsageRow[] = [];
      let cursor: string | undefined;
      do {
        const page = await ledger.raw({}, { limit: 3, ...(cursor ? { cursor } : {}) });
        all.push(...page.rows);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return all;
    };
    const [d1Rows, supabaseRows] = await Promise.all([pages(ledgers.D1Ledger!), pages(ledgers.SupabaseLedger!)]);
    expect(withoutIds(supabaseRows)).toEqual(withoutIds(d1Rows));
    expect(d1Rows.length).toBeGreaterThanOrEqual(FIXTURE_EVENTS.length);

    const [d1Summary, supabaseSummary] = await Promise.all([ledgers.D1Ledger!.summary({}, 50), ledgers.SupabaseLedger!.summary({}, 50)]);
    expect({ ...supabaseSummary, recent_errors: withoutIds(supabaseSummary.recent_errors) }).toEqual({
      ...d1Summary,
      recent_errors: withoutIds(d1Summary.recent_errors),
    });
  });
});
