/**
 * The production case: the mAi Supabase project already has mai.imagen_usage from before ImaGen Edge,
 * filled by the earlier `imagen` CLI. The migrations must apply over it and keep its rows. On PGlite
 * and on a native Postgres 17 (the major production runs), as test/node/ledger-sql.test.ts.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES, pushMigrations, startPostgres, type TestPostgres } from "./helpers/postgres";

describe.each(ENGINES)("on %s", (engine) => {
  let server: TestPostgres;
  let sql: pg.Client;

  /** The table as it exists before ImaGen Edge, verbatim, plus the broad grant it was given and two rows. */
  const SEED_STATE = `
    create schema mai;
    CREATE TABLE mai.imagen_usage (
        id           bigserial PRIMARY KEY,
        created_at   timestamptz NOT NULL DEFAULT now(),
        backend      text NOT NULL,
        model        text NOT NULL,
        seed         bigint,
        prompt_hash  text NOT NULL,
        latency_ms   integer,
        cost_usd_estimate numeric(10,4),
        caller       text
    );
    CREATE INDEX ON mai.imagen_usage (created_at DESC);
    CREATE INDEX ON mai.imagen_usage (caller);
    grant usage on schema mai to service_role;
    grant all on mai.imagen_usage to service_role;
    insert into mai.imagen_usage (created_at, backend, model, seed, prompt_hash, latency_ms, cost_usd_estimate, caller) values
      ('2026-05-08T15:00:00Z', 'flux-schnell-replicate', 'black-forest-labs/flux-schnell', 11, '${"c".repeat(64)}', 2100, 0.003, 'mai/hermes'),
      ('2026-05-09T10:00:00Z', 'flux-dev-replicate', 'black-forest-labs/flux-dev', 12, '${"d".repeat(64)}', 9000, 0.025, '');
  `;

  beforeAll(async () => {
    server = await startPostgres({ engine });
    sql = await server.connect();
    await sql.query(SEED_STATE);
    await pushMigrations(server.url);
  });

  afterAll(async () => {
    await sql?.end();
    await server?.close();
  });

  describe("migrating a database that already has imagen_usage", () => {
    it("keeps the earlier rows as legacy rows with the facts they imply", async () => {
      const { rows } = await sql.query(
        `select id, event_id, occurred_at, backend_type, success, attempt, images_produced, caller
         from mai.imagen_usage order by id`,
      );
      expect(rows.map((r) => ({ ...r, id: Number(r.id), occurred_at: r.occurred_at.toISOString() }))).toEqual([
        {
          id: 1,
          event_id: "legacy-1",
          occurred_at: "2026-05-08T15:00:00.000Z",
          backend_type: "legacy",
          success: true,
          attempt: 1,
          images_produced: 1,
          caller: "mai/hermes",
        },
        // The seed wrote '' when it could not resolve a caller; the ledger says "unknown" with null.
        {
          id: 2,
          event_id: "legacy-2",
          occurred_at: "2026-05-09T10:00:00.000Z",
          backend_type: "legacy",
          success: true,
          attempt: 1,
          images_produced: 1,
          caller: null,
        },
      ]);
    });

    it("counts legacy rows in the reports", async () => {
      const { rows } = await sql.query(`select mai.imagen_usage_report(null, null, null, array['backend']) as r`);
      expect(rows[0].r.totals).toEqual({ calls: 2, succeeded: 2, failed: 0, images: 2, cost_usd: 0.028 });
    });

    it("starts the daily rollup with the earlier rows", async () => {
      const { rows } = await sql.query(
        `select day::text, backend, caller, calls::int, cost_usd::text, cost_unknown_calls::int from mai.imagen_usage_daily order by day`,
      );
      expect(rows).toEqual([
        { day: "2026-05-08", backend: "flux-schnell-replicate", caller: "mai/hermes", calls: 1, cost_usd: "0.0030", cost_unknown_calls: 0 },
        { day: "2026-05-09", backend: "flux-dev-replicate", caller: null, calls: 1, cost_usd: "0.0250", cost_unknown_calls: 0 },
      ]);
    });

    it("does not duplicate the existing indexes", async () => {
      const { rows } = await sql.query(
        `select count(*)::int as n from pg_indexes
         where schemaname = 'mai' and tablename = 'imagen_usage' and indexdef like '%(created_at DESC)'`,
      );
      expect(rows[0].n).toBe(1);
    });

    it("takes back the earlier broad grant: the ledger becomes append-only", async () => {
      await sql.query("begin");
      try {
        await sql.query("set local role service_role");
        await expect(sql.query("delete from mai.imagen_usage")).rejects.toMatchObject({ code: "42501" });
      } finally {
        await sql.query("rollback");
      }
    });
  });
});
