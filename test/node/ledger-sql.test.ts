/**
 * The Supabase side of the usage ledger and price tables, tested in SQL: the migrations are
 * applied with the real `supabase db push`, then the tests act as the Worker does (role
 * service_role) or as an outsider (anon, authenticated). Everything runs twice: on PGlite
 * (Postgres 18, embedded) and on a native Postgres 17, the major production runs, whose planner
 * differs where the reports' speed is decided.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_PRICES } from "../../src/pricing/snapshot";
import type { UsageEvent } from "../../src/usage/event";
import { usd } from "../../src/lib/money";
import { FIXTURE_EVENTS, usageEvent } from "../usage/fixtures";
import { ENGINES, pgError, pushMigrations, startPostgres, type TestPostgres } from "./helpers/postgres";

describe.each(ENGINES)("on %s", (engine) => {
  let server: TestPostgres;
  let sql: pg.Client;
  let pushOutput: string;

  beforeAll(async () => {
    server = await startPostgres({ engine });
    pushOutput = await pushMigrations(server.url);
    sql = await server.connect();
    await sql.query("set role service_role");
  });

  afterAll(async () => {
    await sql?.end();
    await server?.close();
  });

  /** Inserts events the way PostgREST does for an upsert with ignore-duplicates. */
  async function insertEvents(events: readonly UsageEvent[]): Promise<number> {
    const result = await sql.query(
      `insert into mai.imagen_usage (${COLUMNS.join(", ")})
       select ${COLUMNS.join(", ")} from json_populate_recordset(null::mai.imagen_usage, $1::json)
       on conflict (event_id) do nothing`,
      [JSON.stringify(events)],
    );
    return result.rowCount ?? 0;
  }

  const COLUMNS = Object.keys(usageEvent());

  /** Runs `body` as another role inside a transaction that is rolled back. */
  async function asRole<T>(role: string, body: () => Promise<T>): Promise<T> {
    await sql.query("begin");
    try {
      await sql.query(`set local role ${role}`);
      return await body();
    } finally {
      await sql.query("rollback");
    }
  }

  describe("supabase db push", () => {
    it("applies every migration in supabase/migrations, in order", () => {
      const applied = [...pushOutput.matchAll(/Applying migration (\S+)\.\.\./g)].map((m) => m[1]);
      expect(applied).toEqual([
        "20261122120000_imagen_pricing.sql",
        "20261122120100_imagen_usage.sql",
        "20261122120200_imagen_usage_reports.sql",
        "20261122120300_mai_api_access.sql",
        "20261122120400_bundled_prices.sql",
        "20261130120000_imagen_usage_attribution.sql",
        "20261130151000_imagen_pricing_held_superseded.sql",
        "20261207120000_imagen_usage_cost_unknown_reason.sql",
        "20261207130000_imagen_pricing_held_rejected.sql",
        "20261207140000_imagen_usage_report_planning.sql",
        "20261207140100_imagen_usage_daily.sql",
        "20261207150000_imagen_usage_correct.sql",
        "20261207153000_kontext_prices.sql",
      ]);
    });

    it("has nothing left to apply the second time", async () => {
      // PGlite has a single session shared by every connection: the CLI would inherit our SET ROLE.
      await sql.query("reset role");
      const again = await pushMigrations(server.url);
      await sql.query("set role service_role");
      expect(again).toMatch(/Remote database is up to date/);
      expect(again).not.toMatch(/Applying migration/);
    });
  });

  describe("mai.imagen_usage", () => {
    it("keeps the nine columns that predate ImaGen Edge exactly", async () => {
      const { rows } = await sql.query(
        `select column_name, data_type, is_nullable, column_default, numeric_precision, numeric_scale
         from information_schema.columns
         where table_schema = 'mai' and table_name = 'imagen_usage'
           and column_name = any($1) order by ordinal_position`,
        [["id", "created_at", "backend", "model", "seed", "prompt_hash", "latency_ms", "cost_usd_estimate", "caller"]],
      );
      expect(rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
        ["id", "bigint", "NO"],
        ["created_at", "timestamp with time zone", "NO"],
        ["backend", "text", "NO"],
        ["model", "text", "NO"],
        ["seed", "bigint", "YES"],
        ["prompt_hash", "text", "NO"],
        ["latency_ms", "integer", "YES"],
        ["cost_usd_estimate", "numeric", "YES"],
        ["caller", "text", "YES"],
      ]);
      expect(rows.find((r) => r.column_name === "id").column_default).toMatch(/^nextval\('mai\.imagen_usage_id_seq'/);
      expect(rows.find((r) => r.column_name === "created_at").column_default).toBe("now()");
      const cost = rows.find((r) => r.column_name === "cost_usd_estimate");
      expect([cost.numeric_precision, cost.numeric_scale]).toEqual([10, 4]);

      const { rows: indexes } = await sql.query(`select indexdef from pg_indexes where schemaname = 'mai' and tablename = 'imagen_usage'`);
      const defs = indexes.map((i) => i.indexdef as string);
      expect(defs).toContainEqual(expect.stringMatching(/ON mai\.imagen_usage USING btree \(created_at DESC\)$/));
      expect(defs).toContainEqual(expect.stringMatching(/ON mai\.imagen_usage USING btree \(caller\)$/));
    });

    it("stores an event once, however often it is delivered", async () => {
      const event = usageEvent({ event_id: "evt-twice" });
      expect(await insertEvents([event])).toBe(1);
      expect(await insertEvents([event, event])).toBe(0);
      const { rows } = await sql.query("select count(*)::int as n from mai.imagen_usage where event_id = 'evt-twice'");
      expect(rows[0].n).toBe(1);
    });

    const wrongRows: [string, Partial<UsageEvent>, string][] = [
      ["a prompt hash that is not lowercase sha256 hex", { prompt_hash: "A".repeat(64) }, "imagen_usage_prompt_hash_sha256"],
      ["a prompt hash of the wrong length", { prompt_hash: "abc" }, "imagen_usage_prompt_hash_sha256"],
      ["a success that carries an error code", { error_code: "timeout" }, "imagen_usage_outcome"],
      ["a success that carries an error message", { error_message: "boom" }, "imagen_usage_outcome"],
      ["a failure without an error code", { success: false, images_produced: 0 }, "imagen_usage_outcome"],
      ["a success without images", { images_produced: 0 }, "imagen_usage_success_has_images"],
      ["a negative latency", { latency_ms: -1 }, "imagen_usage_latency_non_negative"],
      ["a negative cost", { cost_usd_estimate: -0.01 as never }, "imagen_usage_cost_non_negative"],
      ["a zero width", { width: 0 }, "imagen_usage_size_positive"],
      ["attempt 0", { attempt: 0 }, "imagen_usage_attempt_positive"],
      ["no images requested", { images_requested: 0 }, "imagen_usage_image_counts"],
      ["a negative seed", { seed: -5 }, "imagen_usage_seed_non_negative"],
      ["a price id without an amount", { price_id: 1, cost_usd_estimate: null }, "imagen_usage_priced_estimate"],
      ["an empty caller", { caller: "" }, "imagen_usage_names_present"],
      ["an empty event id", { event_id: "" }, "imagen_usage_event_id_present"],
      ["a missing request id", { request_id: null as never }, "imagen_usage_complete"],
      ["a missing width", { width: null as never }, "imagen_usage_complete"],
      ["a ref longer than 200 characters", { ref: "r".repeat(201) }, "imagen_usage_ref_length"],
      ["an empty ref", { ref: "" }, "imagen_usage_ref_length"],
      ["a client request id longer than 128 characters", { client_request_id: "c".repeat(129) }, "imagen_usage_client_request_id_length"],
      ["a negative reservation", { reserved_usd: -0.01 as never }, "imagen_usage_reserved_non_negative"],
      ["a negative provider predict time", { provider_predict_time_s: -1 }, "imagen_usage_predict_time_non_negative"],
      ["a negative provider image count", { provider_image_count: -1 }, "imagen_usage_provider_images_non_negative"],
    ];
    it.each(wrongRows)("refuses %s", async (_, change, constraint) => {
      const error = await pgError(() => insertEvents([usageEvent({ event_id: `evt-bad-${constraint}`, ...change })]));
      expect(error.code).toBe("23514");
      expect(error.constraint).toBe(constraint);
    });

    it("refuses a price id that names no price row", async () => {
      const error = await pgError(() => insertEvents([usageEvent({ event_id: "evt-bad-price", price_id: 999_999 })]));
      expect([error.code, error.constraint]).toEqual(["23503", "imagen_usage_price_id_fkey"]);
    });

    it("refuses an event without the facts every attempt has", async () => {
      for (const column of ["event_id", "occurred_at", "success", "backend_type", "attempt", "images_produced"]) {
        const error = await pgError(() => insertEvents([{ ...usageEvent({ event_id: `evt-null-${column}` }), [column]: null }]));
        expect(error.code, column).toBe("23502");
      }
    });

    it("keeps the attribution and reconciliation columns nullable, with ref indexed for reports", async () => {
      const { rows } = await sql.query(
        `select column_name, data_type, is_nullable, numeric_precision, numeric_scale from information_schema.columns
         where table_schema = 'mai' and table_name = 'imagen_usage' and column_name = any($1) order by ordinal_position`,
        [["client_request_id", "ref", "reserved_usd", "provider_predict_time_s", "provider_image_count"]],
      );
      expect(rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
        ["client_request_id", "text", "YES"],
        ["ref", "text", "YES"],
        ["reserved_usd", "numeric", "YES"],
        ["provider_predict_time_s", "double precision", "YES"],
        ["provider_image_count", "integer", "YES"],
      ]);
      expect([rows[2].numeric_precision, rows[2].numeric_scale]).toEqual([10, 4]);
      const { rows: indexes } = await sql.query(`select indexdef from pg_indexes where schemaname = 'mai' and tablename = 'imagen_usage'`);
      expect(indexes.map((i) => i.indexdef as string)).toContainEqual(
        expect.stringMatching(/ON mai\.imagen_usage USING btree \(ref, occurred_at DESC\) WHERE \(ref IS NOT NULL\)$/),
      );
    });

    it("stores an event from a Worker that predates these columns with them null", async () => {
      const {
        client_request_id: _c,
        ref: _r,
        reserved_usd: _u,
        provider_predict_time_s: _t,
        provider_image_count: _i,
        ...old
      } = usageEvent({
        event_id: "evt-older-worker",
      });
      expect(await insertEvents([old as UsageEvent])).toBe(1);
      const { rows } = await sql.query(
        `select client_request_id, ref, reserved_usd, provider_predict_time_s, provider_image_count
         from mai.imagen_usage where event_id = 'evt-older-worker'`,
      );
      expect(rows).toEqual([{ client_request_id: null, ref: null, reserved_usd: null, provider_predict_time_s: null, provider_image_count: null }]);
    });

    it("turns a row from a writer that predates these columns into a legacy row", async () => {
      // What a writer that predates ImaGen Edge inserts: only the original nine columns.
      const { rows } = await sql.query(
        `insert into mai.imagen_usage (backend, model, seed, prompt_hash, latency_ms, cost_usd_estimate, caller)
         values ('flux-schnell-replicate', 'black-forest-labs/flux-schnell', 1, $1, 900, 0.003, 'otto/head')
         returning event_id, backend_type, success, attempt, images_produced, width`,
        ["b".repeat(64)],
      );
      expect(rows[0]).toMatchObject({ backend_type: "legacy", success: true, attempt: 1, images_produced: 1, width: null });
      expect(rows[0].event_id).toMatch(/^legacy-[0-9a-f-]{36}$/);
    });
  });

  describe("usage reports (fixture events)", () => {
    beforeAll(async () => {
      await sql.query("reset role");
      await sql.query("truncate mai.imagen_usage");
      await sql.query("set role service_role");
      await insertEvents(FIXTURE_EVENTS);
    });

    async function report(args: { since?: string; until?: string; caller?: string; group?: string[]; ref?: string; clientRequestId?: string }) {
      const { rows } = await sql.query("select mai.imagen_usage_report($1, $2, $3, $4, $5, $6) as r", [
        args.since ?? null,
        args.until ?? null,
        args.caller ?? null,
        args.group ?? [],
        args.ref ?? null,
        args.clientRequestId ?? null,
      ]);
      return rows[0].r;
    }

    it("groups by ISO week (Monday) with grand totals", async () => {
      expect(await report({ group: ["week"] })).toEqual({
        groups: [
          { group: { week: "2026-04-27" }, calls: 1, succeeded: 1, failed: 0, images: 1, cost_usd: 0.003 },
          { group: { week: "2026-05-04" }, calls: 6, succeeded: 5, failed: 1, images: 6, cost_usd: 0.167 },
          { group: { week: "2026-05-11" }, calls: 3, succeeded: 1, failed: 2, images: 4, cost_usd: 0.1 },
        ],
        totals: { calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 },
      });
    });

    it("groups by several keys, keeps null keys, and filters by caller and date range", async () => {
      const r = await report({ since: "2026-05-04", until: "2026-05-11", caller: "otto/head", group: ["source", "backend"] });
      expect(r).toEqual({
        groups: [
          { group: { backend: "flux-schnell-replicate", source: "admin" }, calls: 1, succeeded: 1, failed: 0, images: 1, cost_usd: 0.003 },
          { group: { backend: "flux-schnell-replicate", source: "webhook" }, calls: 1, succeeded: 1, failed: 0, images: 2, cost_usd: 0.006 },
          { group: { backend: "flux-schnell-together", source: "admin" }, calls: 1, succeeded: 0, failed: 1, images: 0, cost_usd: 0 },
        ],
        totals: { calls: 3, succeeded: 2, failed: 1, images: 3, cost_usd: 0.009 },
      });
      const bySource = await report({ group: ["source"] });
      expect(bySource.groups.map((g: { group: unknown }) => g.group)).toEqual([
        { source: "admin" },
        { source: "script" },
        { source: "webhook" },
        { source: null },
      ]);
    });

    it("groups by ref (rows without one last) and filters by ref and by client request id", async () => {
      expect((await report({ group: ["ref"] })).groups).toEqual([
        { group: { ref: "post/cats" }, calls: 3, succeeded: 3, failed: 0, images: 4, cost_usd: 0.142 },
        { group: { ref: "post/dogs" }, calls: 2, succeeded: 1, failed: 1, images: 4, cost_usd: 0.1 },
        { group: { ref: null }, calls: 5, succeeded: 3, failed: 2, images: 3, cost_usd: 0.028 },
      ]);
      expect((await report({ ref: "post/dogs" })).totals).toEqual({ calls: 2, succeeded: 1, failed: 1, images: 4, cost_usd: 0.1 });
      expect((await report({ caller: "otto/head", clientRequestId: "cli-1" })).totals).toMatchObject({ calls: 2, cost_usd: 0.103 });
      const { rows } = await sql.query("select event_id from mai.imagen_usage_raw(null, null, null, 10, null, null, 'post/cats', 'cli-1')");
      expect(rows.map((r) => r.event_id)).toEqual(["evt-05", "evt-01"]);
    });

    it("reconciles estimates with reservations and provider-reported figures in the summary", async () => {
      const { rows } = await sql.query("select mai.imagen_usage_summary(null, null, null, 0, 'post/cats', null) as s");
      expect(rows[0].s.totals).toMatchObject({ calls: 3, cost_usd: 0.142 });
      expect(rows[0].s.reconciliation).toEqual({
        estimated_usd: 0.142,
        reserved_usd: 0.009,
        reserved_calls: 2,
        provider_reported_calls: 2,
        provider_predict_time_s: 3.75,
        provider_image_count: 3,
        images_where_provider_reported: 3,
      });
    });

    it("gives only totals without group keys, and zeros for an empty range", async () => {
      expect(await report({ since: "2030-01-01" })).toEqual({
        groups: [],
        totals: { calls: 0, succeeded: 0, failed: 0, images: 0, cost_usd: 0 },
      });
    });

    it("refuses an unknown group key with a clear error", async () => {
      const error = await pgError(() => report({ group: ["week", "prompt"] }));
      expect(error.code).toBe("22023");
      expect(error.message).toBe("unknown usage group key: 'prompt'");
    });

    it("refuses a range whose end is not after its start", async () => {
      const error = await pgError(() => report({ since: "2026-05-10", until: "2026-05-10" }));
      expect(error.message).toMatch(/until \(2026-05-10\) must be after since/);
    });

    it("summarises totals, sources (costliest first), days (newest first) and recent failures", async () => {
      const { rows } = await sql.query("select mai.imagen_usage_summary(null, null, null, 2) as s");
      const s = rows[0].s;
      expect(s.totals).toEqual({ calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 });
      expect(s.by_source).toEqual([
        { source: "script", calls: 2, succeeded: 2, failed: 0, images: 2, cost_usd: 0.158 },
        { source: "webhook", calls: 4, succeeded: 3, failed: 1, images: 7, cost_usd: 0.109 },
        { source: "admin", calls: 2, succeeded: 1, failed: 1, images: 1, cost_usd: 0.003 },
        { source: null, calls: 2, succeeded: 1, failed: 1, images: 1, cost_usd: 0 },
      ]);
      expect(s.by_day.map((d: { day: string; calls: number; cost_usd: number }) => [d.day, d.calls, d.cost_usd])).toEqual([
        ["2026-05-12", 2, 0.1],
        ["2026-05-11", 1, 0],
        ["2026-05-10", 1, 0.025],
        ["2026-05-06", 2, 0.133],
        ["2026-05-04", 3, 0.009],
        ["2026-05-03", 1, 0.003],
      ]);
      expect(s.recent_errors.map((e: UsageEvent) => [e.event_id, e.error_code])).toEqual([
        ["evt-10", "invalid_request"],
        ["evt-08", "timeout"],
      ]);
    });

    it("pages raw rows newest first, breaking ties by id", async () => {
      const page = async (before: { at: string; id: string } | null) =>
        (await sql.query("select event_id, occurred_at, id from mai.imagen_usage_raw(null, null, null, 4, $1, $2)", [before?.at ?? null, before?.id ?? null]))
          .rows;
      const first = await page(null);
      expect(first.map((r) => r.event_id)).toEqual(["evt-10", "evt-09", "evt-08", "evt-07"]);
      const last = first[first.length - 1];
      const second = await page({ at: last.occurred_at.toISOString(), id: last.id });
      expect(second.map((r) => r.event_id)).toEqual(["evt-06", "evt-05", "evt-04", "evt-03"]);
    });
  });

  describe("the daily rollup (mai.imagen_usage_daily)", () => {
    /** The rollup as the triggers keep it, and the same aggregate computed from the rows now. */
    async function rollupAndRows() {
      const key = 'day, backend, model, caller collate "C" nulls last, source collate "C" nulls last';
      const rollup = await sql.query(
        `select day::text, backend, model, caller, source, calls::int, succeeded::int, failed::int, images::int,
                cost_usd::text, cost_unknown_calls::int
         from mai.imagen_usage_daily order by ${key}`,
      );
      const rows = await sql.query(
        `select (occurred_at at time zone 'UTC')::date::text as day, backend, model, caller, source,
                count(*)::int as calls, count(*) filter (where success)::int as succeeded,
                count(*) filter (where not success)::int as failed, sum(images_produced)::int as images,
                sum(cost_usd_estimate)::text as cost_usd,
                count(*) filter (where cost_usd_estimate is null)::int as cost_unknown_calls
         from mai.imagen_usage group by 1, 2, 3, 4, 5 order by ${key}`,
      );
      return { rollup: rollup.rows, rows: rows.rows };
    }

    // Attempts whose cost nobody knows (README "Spend safety"): a group with only such rows, and
    // one that mixes them with known estimates.
    const unknownCost = { cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create" } as const;
    const openai = { backend: "openai-images", backend_type: "openai", model: "gpt-image-1.5", caller: "mai/hermes", source: "script" } as const;
    const extraEvents = [
      usageEvent({ event_id: "evt-r1", occurred_at: "2026-06-01T10:00:00.000Z", ...openai, ...unknownCost }),
      usageEvent({ event_id: "evt-r2", occurred_at: "2026-06-01T23:59:59.999Z", ...openai, ...unknownCost }),
      usageEvent({ event_id: "evt-r3", occurred_at: "2026-06-02T00:00:00.000Z", ...openai, cost_usd_estimate: usd(0.042) }),
      usageEvent({ event_id: "evt-r4", occurred_at: "2026-06-02T01:00:00.000Z", ...openai, ...unknownCost }),
      // A legacy-like row: no source, and a caller that is null.
      usageEvent({ event_id: "evt-r5", occurred_at: "2026-06-02T02:00:00.000Z", ...openai, source: null }),
    ];

    beforeAll(async () => {
      await sql.query("reset role");
      await sql.query("truncate mai.imagen_usage");
      await sql.query("set role service_role");
      await insertEvents(FIXTURE_EVENTS.slice(0, 5));
      await insertEvents(FIXTURE_EVENTS.slice(3));
      await insertEvents(extraEvents);
    });

    it("equals an aggregate of the rows, cost-unknown rows included, after batches that overlap", async () => {
      const { rollup, rows } = await rollupAndRows();
      expect(rows.length).toBeGreaterThan(5);
      expect(rollup).toEqual(rows);
      // A group whose every cost is unknown has no cost, not a cost of 0.
      expect(rollup.find((r) => r.day === "2026-06-01")).toMatchObject({ calls: 2, cost_usd: null, cost_unknown_calls: 2 });
      expect(rollup.find((r) => r.day === "2026-06-02" && r.source === "script")).toMatchObject({
        calls: 2,
        cost_usd: "0.0420",
        cost_unknown_calls: 1,
      });
    });

    it("counts a redelivered event once", async () => {
      const before = await rollupAndRows();
      expect(await insertEvents([...extraEvents, FIXTURE_EVENTS[0] as UsageEvent])).toBe(0);
      expect((await rollupAndRows()).rollup).toEqual(before.rollup);
    });

    it("gives the same report as the rows, known estimates summed and unknown ones adding nothing", async () => {
      const report = async (since: string | null, caller: string | null, group: string[]) =>
        (await sql.query("select mai.imagen_usage_report($1, null, $2, $3) as r", [since, caller, group])).rows[0].r;
      const fromRows = async (since: string | null, caller: string | null) =>
        (
          await sql.query(
            `select count(*)::int as calls, count(*) filter (where success)::int as succeeded,
                    count(*) filter (where not success)::int as failed, coalesce(sum(images_produced), 0)::int as images,
                    coalesce(round(sum(cost_usd_estimate), 4), 0)::float8 as cost_usd
             from mai.imagen_usage
             where ($1::date is null or occurred_at >= $1::date::timestamp at time zone 'UTC') and ($2::text is null or caller = $2)`,
            [since, caller],
          )
        ).rows[0];
      for (const [since, caller] of [
        [null, null],
        ["2026-05-04", null],
        [null, "mai/hermes"],
        ["2026-06-01", "mai/hermes"],
      ] as const) {
        for (const group of [[], ["week", "backend", "model", "caller"], ["day", "backend", "model"], ["source"]]) {
          expect((await report(since, caller, group)).totals, `${since} ${caller} ${group}`).toEqual(await fromRows(since, caller));
        }
      }
      expect((await report("2026-06-01", null, ["day", "backend"])).groups).toEqual([
        { group: { day: "2026-06-01", backend: "openai-images" }, calls: 2, succeeded: 2, failed: 0, images: 2, cost_usd: 0 },
        { group: { day: "2026-06-02", backend: "openai-images" }, calls: 3, succeeded: 3, failed: 0, images: 3, cost_usd: 0.045 },
      ]);
    });

    it("follows an owner's update, delete and truncate", async () => {
      await asRole("postgres", async () => {
        await sql.query("update mai.imagen_usage set cost_usd_estimate = null, cost_unknown_reason = 'restarted_after_send' where event_id = 'evt-r3'");
        await sql.query("update mai.imagen_usage set occurred_at = occurred_at + interval '1 day', source = 'moved' where event_id in ('evt-02', 'evt-r5')");
        await sql.query("delete from mai.imagen_usage where event_id in ('evt-01', 'evt-r1')");
        const { rollup, rows } = await rollupAndRows();
        expect(rollup).toEqual(rows);
        expect(rollup.find((r) => r.day === "2026-06-02" && r.source === "script")).toMatchObject({ calls: 2, cost_usd: null, cost_unknown_calls: 2 });
        await sql.query("truncate mai.imagen_usage");
        expect((await sql.query("select count(*)::int as n from mai.imagen_usage_daily")).rows[0].n).toBe(0);
      });
      const { rollup, rows } = await rollupAndRows();
      expect(rollup).toEqual(rows);
    });

    it("is read-only for the Worker's role", async () => {
      for (const statement of [
        "insert into mai.imagen_usage_daily (day, backend, model, calls, succeeded, failed, images, cost_unknown_calls) values ('2026-01-01', 'b', 'm', 1, 1, 0, 1, 1)",
        "update mai.imagen_usage_daily set calls = calls + 1",
        "delete from mai.imagen_usage_daily",
      ]) {
        const error = await asRole("service_role", () => pgError(() => sql.query(statement)));
        expect(error.code, statement).toBe("42501");
      }
    });
  });

  describe("how the reports are planned (Postgres 17 is what production runs)", () => {
    /** Sequential and index scans of mai.imagen_usage that `body` makes, with sequential scans disabled. */
    async function scansOfTheRows(body: () => Promise<unknown>): Promise<{ seq: number; idx: number }> {
      return asRole("service_role", async () => {
        await sql.query("set local enable_seqscan = off");
        const count = async () =>
          (
            await sql.query(
              `select coalesce(seq_scan, 0)::int as seq, coalesce(idx_scan, 0)::int as idx
               from pg_catalog.pg_stat_xact_user_tables where relid = 'mai.imagen_usage'::regclass`,
            )
          ).rows[0];
        const before = await count();
        await body();
        const after = await count();
        return { seq: after.seq - before.seq, idx: after.idx - before.idx };
      });
    }

    it("inlines the filter function, so its filters reach the indexes", async () => {
      const { rows } = await sql.query("explain (format json) select * from mai.imagen_usage_filtered(null, null, 'otto/head', null, null)");
      const plan = JSON.stringify(rows[0]["QUERY PLAN"]);
      expect(plan).not.toContain("Function Scan");
      expect(plan).toContain("imagen_usage_caller_occurred");
    });

    it("plans every report call for its own values (never one generic plan for all)", async () => {
      const { rows } = await sql.query(
        `select proname, proconfig from pg_proc
         where pronamespace = 'mai'::regnamespace and proname in ('imagen_usage_report', 'imagen_usage_raw', 'imagen_usage_summary')
         order by proname`,
      );
      expect(rows.map((r) => [r.proname, r.proconfig])).toEqual([
        ["imagen_usage_raw", ['search_path=""', "plan_cache_mode=force_custom_plan"]],
        ["imagen_usage_report", ['search_path=""', "plan_cache_mode=force_custom_plan"]],
        ["imagen_usage_summary", ['search_path=""', "plan_cache_mode=force_custom_plan"]],
      ]);
    });

    it("answers filtered pages and lookups through the indexes, call after call", async () => {
      const calls = [
        "select * from mai.imagen_usage_raw('2026-05-12', null, null, 51)",
        "select * from mai.imagen_usage_raw(null, null, 'otto/head', 51)",
        "select * from mai.imagen_usage_raw(null, null, null, 51, null, null, 'post/cats')",
        "select * from mai.imagen_usage_raw(null, null, 'otto/head', 51, null, null, null, 'cli-1')",
        "select mai.imagen_usage_report(null, null, null, '{backend}', 'post/dogs')",
        "select mai.imagen_usage_summary(null, null, null, 5, 'post/cats')",
      ];
      for (const call of calls) {
        // More calls than PL/pgSQL makes before it may settle on a generic plan (five).
        const scans = await scansOfTheRows(async () => {
          for (let i = 0; i < 8; i++) await sql.query(call);
        });
        expect(scans.seq, call).toBe(0);
        expect(scans.idx, call).toBeGreaterThan(0);
      }
    });

    it("answers a report the rollup can answer without reading the rows", async () => {
      const scans = await scansOfTheRows(async () => {
        await sql.query("select mai.imagen_usage_report(null, null, null, '{week,backend,model,caller}')");
        await sql.query("select mai.imagen_usage_report('2026-05-01', null, 'otto/head', '{day,backend,model}')");
      });
      expect(scans).toEqual({ seq: 0, idx: 0 });
    });
  });

  describe("mai.imagen_pricing", () => {
    it("starts with exactly the bundled snapshot as current prices", async () => {
      const { rows } = await sql.query(
        `select provider, model, unit, quality, size, usd_rate::float8 as usd_rate, source,
                fetched_at, effective_from, effective_to
         from mai.imagen_pricing order by id`,
      );
      expect(
        rows.map((r) => ({
          ...r,
          fetched_at: r.fetched_at.toISOString(),
          effective_from: r.effective_from.toISOString(),
        })),
      ).toEqual(BUNDLED_PRICES.map((p) => ({ ...p, effective_to: null })));
    });

    async function apply(rate: number, from: string, key = { model: "black-forest-labs/flux-dev", quality: null as string | null }) {
      const { rows } = await sql.query("select * from mai.imagen_pricing_apply('replicate', $1, 'image', $2, null, $3, 'replicate-page', $4, $4)", [
        key.model,
        key.quality,
        rate,
        from,
      ]);
      return rows[0];
    }

    it("applies a change by closing the current row and opening a new one", async () => {
      const opened = await apply(0.03, "2026-12-01T00:00:00Z");
      await apply(0.035, "2026-12-15T00:00:00Z");
      const { rows } = await sql.query(
        `select id, usd_rate::float8 as rate, effective_from, effective_to from mai.imagen_pricing
         where provider = 'replicate' and model = 'black-forest-labs/flux-dev' order by effective_from`,
      );
      expect(rows.map((r) => [r.rate, r.effective_from.toISOString(), r.effective_to?.toISOString() ?? null])).toEqual([
        [0.025, "2026-11-22T00:00:00.000Z", "2026-12-01T00:00:00.000Z"],
        [0.03, "2026-12-01T00:00:00.000Z", "2026-12-15T00:00:00.000Z"],
        [0.035, "2026-12-15T00:00:00.000Z", null],
      ]);
      expect(rows[1].id).toBe(opened.id);
    });

    it("refuses a change that does not start after the current price, leaving history intact", async () => {
      const error = await pgError(() => apply(0.5, "2026-12-15T00:00:00Z"));
      expect(error.code).toBe("22023");
      const { rows } = await sql.query(
        `select count(*)::int as current from mai.imagen_pricing
         where model = 'black-forest-labs/flux-dev' and effective_to is null and usd_rate = 0.035`,
      );
      expect(rows[0].current).toBe(1);
    });

    it("never holds two current rows for one price line", async () => {
      const error = await pgError(() =>
        sql.query(
          `insert into mai.imagen_pricing (provider, model, unit, usd_rate, source, fetched_at)
           values ('replicate', 'black-forest-labs/flux-schnell', 'image', 0.004, 'manual', now())`,
        ),
      );
      expect([error.code, error.constraint]).toEqual(["23505", "imagen_pricing_one_current"]);
    });

    it("refuses an unknown unit and a negative rate", async () => {
      const unit = await pgError(() => sql.query(`select mai.imagen_pricing_apply('x', 'm', 'token', null, null, 1, 's', now(), null)`));
      expect(unit.constraint).toBe("imagen_pricing_unit_known");
      const rate = await pgError(() => sql.query(`select mai.imagen_pricing_apply('x', 'm', 'image', null, null, -1, 's', now(), null)`));
      expect(rate.constraint).toBe("imagen_pricing_rate_non_negative");
    });

    it("holds the same proposed change once", async () => {
      const hold = () =>
        sql.query(
          `insert into mai.imagen_pricing_held (provider, model, unit, quality, size, old_rate, new_rate, source, reason)
           values ('openai', 'gpt-image-1.5', 'image', 'high', '1024x1024', 0.133, 1.33, 'portkey', 'rate x10')
           on conflict (provider, model, unit, quality, size, new_rate) do nothing`,
        );
      await hold();
      await hold();
      const { rows } = await sql.query("select count(*)::int as n from mai.imagen_pricing_held");
      expect(rows[0].n).toBe(1);
    });
  });

  describe("who may touch the ledger", () => {
    it.each(["anon", "authenticated"])("%s can neither read, write nor run the reports", async (role) => {
      for (const statement of [
        "select * from mai.imagen_usage",
        "select * from mai.imagen_pricing",
        `insert into mai.imagen_usage (backend, model, prompt_hash) values ('b', 'm', '${"a".repeat(64)}')`,
        "select mai.imagen_usage_report()",
        "select mai.imagen_usage_summary()",
        "select * from mai.imagen_usage_daily",
      ]) {
        const error = await asRole(role, () => pgError(() => sql.query(statement)));
        expect(error.code, statement).toBe("42501");
      }
    });

    it("no function in mai is executable by anon or authenticated (each revokes PUBLIC itself)", async () => {
      const { rows } = await sql.query(
        `select p.proname, r.role from pg_proc p
           join pg_namespace n on n.oid = p.pronamespace
           cross join (values ('anon'), ('authenticated')) as r(role)
          where n.nspname = 'mai' and has_function_privilege(r.role, p.oid, 'execute')`,
      );
      expect(rows).toEqual([]);
    });

    it("row level security hides every row even from a role granted select by mistake", async () => {
      const visible = await asRole("postgres", async () => {
        await sql.query("grant select on mai.imagen_usage to authenticated");
        await sql.query("set local role authenticated");
        return (await sql.query("select count(*)::int as n from mai.imagen_usage")).rows[0].n;
      });
      expect(visible).toBe(0);
      await sql.query("set role service_role");
      expect((await sql.query("select count(*)::int as n from mai.imagen_usage")).rows[0].n).toBeGreaterThan(0);
    });

    it("the Worker's role appends to the ledger but cannot rewrite it", async () => {
      for (const statement of ["update mai.imagen_usage set cost_usd_estimate = 0", "delete from mai.imagen_usage"]) {
        const error = await pgError(() => sql.query(statement));
        expect(error.code, statement).toBe("42501");
      }
    });

    it("imagen_usage_correct rewrites a row only while its cost is unknown, and only the columns a correction is about", async () => {
      const base = {
        occurred_at: "2026-12-07T10:00:00.000Z",
        request_id: "req-correct",
        caller: "correct/caller",
        source: null,
        backend: "flux",
        backend_type: "replicate",
        model: "m",
        model_version: null,
        seed: 1,
        prompt_hash: "a".repeat(64),
        width: 512,
        height: 512,
        images_requested: 1,
        images_produced: 0,
        latency_ms: 5,
        price_id: null,
        success: false,
        error_code: "unavailable",
        external_id: null,
        attempt: 1,
      };
      const unknown = { ...base, event_id: "evt-correct-unknown", cost_usd_estimate: null, cost_unknown_reason: "ambiguous_create", error_message: "lost" };
      const known = { ...base, event_id: "evt-correct-known", cost_usd_estimate: 0, cost_unknown_reason: null, error_message: "refused" };
      await sql.query("select mai.imagen_usage_correct($1::jsonb)", [JSON.stringify([unknown, known])]);
      const fix = (event: typeof unknown | typeof known) => ({
        ...event,
        cost_usd_estimate: 0.003,
        cost_unknown_reason: null,
        images_produced: 1,
        external_id: "p1",
        error_message: "found",
        caller: "someone/else",
      });
      await sql.query("select mai.imagen_usage_correct($1::jsonb)", [JSON.stringify([fix(unknown), fix(known)])]);
      const { rows } = await sql.query(
        "select event_id, cost_usd_estimate::float8 as cost, cost_unknown_reason, images_produced, external_id, error_message, caller from mai.imagen_usage where request_id = 'req-correct' order by event_id",
      );
      expect(rows).toEqual([
        {
          event_id: "evt-correct-known",
          cost: 0,
          cost_unknown_reason: null,
          images_produced: 0,
          external_id: null,
          error_message: "refused",
          caller: "correct/caller",
        },
        {
          event_id: "evt-correct-unknown",
          cost: 0.003,
          cost_unknown_reason: null,
          images_produced: 1,
          external_id: "p1",
          error_message: "found",
          caller: "correct/caller",
        },
      ]);
    });
  });
});
