/**
 * The Supabase ledger on the wire: exactly what supabase-js sends to the Data API, and what the
 * ledger makes of PostgREST's errors. The fake Data API (test/fakes/postgrest) records requests
 * and answers as Supabase does, with a real Postgres behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMaiClient, supabaseSettingsFromEnv } from "../../src/supabase/client";
import { SupabaseLedger } from "../../src/usage/supabase-ledger";
import { fakeSupabaseKey } from "../helpers/keys";
import { usageEvent } from "./fixtures";
import { newSupabaseProject, type FakeSupabaseProject } from "./ledger-world";
const secretA = fakeSupabaseKey("secret");

let project: FakeSupabaseProject;

beforeAll(async () => {
  project = await newSupabaseProject();
});

afterAll(async () => {
  await project?.drop();
});

async function lastRequest() {
  const requests = await project.requests();
  return requests[requests.length - 1]!;
}

describe("SupabaseLedger on the wire", () => {
  it("writes a batch as one upsert into mai.imagen_usage that ignores duplicate event ids", async () => {
    const events = [usageEvent({ event_id: "wire-1", occurred_at: "2026-05-04T10:00:00+02:00" }), usageEvent({ event_id: "wire-2" })];
    await new SupabaseLedger(project.client()).recordBatch(events);

    const request = await lastRequest();
    const url = new URL(request.path, "http://x");
    expect(request.method).toBe("POST");
    expect(url.pathname).toBe("/rest/v1/imagen_usage");
    expect(url.searchParams.get("on_conflict")).toBe("event_id");
    expect(url.searchParams.get("columns")?.split(",")).toContain('"event_id"');
    expect(request.headers).toMatchObject({
      "content-profile": "mai",
      "content-type": "application/json",
      prefer: "resolution=ignore-duplicates",
      apikey: project.secretKey,
      authorization: `Bearer ${project.secretKey}`,
    });
    expect(request.body).toEqual([{ ...events[0], occurred_at: "2026-05-04T08:00:00.000Z" }, events[1]]);
    expect(await project.sql("select event_id from mai.imagen_usage where event_id like 'wire-%' order by event_id")).toEqual([
      { event_id: "wire-1" },
      { event_id: "wire-2" },
    ]);
  });

  it("asks for reports through .rpc() with every argument named", async () => {
    await new SupabaseLedger(project.client()).report({ since: "2026-05-01", caller: "otto/head", ref: "post/cats" }, ["week", "backend"]);
    const request = await lastRequest();
    expect([request.method, request.path]).toEqual(["POST", "/rest/v1/rpc/imagen_usage_report"]);
    expect(request.headers["content-profile"]).toBe("mai");
    expect(request.body).toEqual({
      p_since: "2026-05-01",
      p_until: null,
      p_caller: "otto/head",
      p_ref: "post/cats",
      p_client_request_id: null,
      p_group: ["week", "backend"],
    });
  });

  it("writes nothing for an empty batch", async () => {
    const before = (await project.requests()).length;
    await new SupabaseLedger(project.client()).recordBatch([]);
    expect((await project.requests()).length).toBe(before);
  });
});

describe("SupabaseLedger errors say what to do, never the key", () => {
  it("names the Exposed schemas setting when mai is not exposed (PGRST106)", async () => {
    await project.scenario({ exposed_schemas: ["public", "graphql_public"] });
    try {
      const error = await new SupabaseLedger(project.client()).recordBatch([usageEvent({ event_id: "hidden" })]).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(
        "Supabase ledger recordBatch failed: HTTP 406 PGRST106: Invalid schema: mai " +
          "(hint: Only the following schemas are exposed: public, graphql_public) " +
          "→ expose the mai schema: Dashboard → Project Settings → Data API → Exposed schemas (docs/ledger.md)",
      );
    } finally {
      await project.scenario({ exposed_schemas: ["public", "graphql_public", "mai"] });
    }
  });

  it("reports an unknown key as 401 without repeating it", async () => {
    const wrongKey = fakeSupabaseKey("secret", "unknown");
    const error = await new SupabaseLedger(createMaiClient({ url: project.url, key: wrongKey })).report({}, []).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^Supabase ledger report failed: HTTP 401: Invalid API key .*check SUPABASE_URL and SUPABASE_SECRET_KEY$/);
    expect((error as Error).message).not.toContain(wrongKey);
  });

  it("tells that the publishable key cannot write the ledger (42501)", async () => {
    const error = await new SupabaseLedger(project.client(project.publishableKey)).recordBatch([usageEvent({ event_id: "as-anon" })]).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/HTTP 401 42501: permission denied for table imagen_usage .*use the secret key/);
    expect((error as Error).message).not.toContain(project.publishableKey);
  });

  it("passes a constraint violation on with Postgres' own words (HTTP 400 23514)", async () => {
    const error = await new SupabaseLedger(project.client())
      .recordBatch([usageEvent({ event_id: "bad-outcome", success: false, images_produced: 0 })])
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^Supabase ledger recordBatch failed: HTTP 400 23514: new row for relation "imagen_usage" violates check constraint "imagen_usage_outcome"/,
    );
  });

  it("reports a Data API outage with its status", async () => {
    await project.scenario({
      fail_next: [
        { status: 503, body: { code: "PGRST002", details: null, hint: null, message: "Could not query the database for the schema cache. Retrying." } },
      ],
    });
    const error = await new SupabaseLedger(project.client()).recordBatch([usageEvent({ event_id: "outage" })]).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      "Supabase ledger recordBatch failed: HTTP 503 PGRST002: Could not query the database for the schema cache. Retrying.",
    );
  });
});

describe("supabaseSettingsFromEnv", () => {
  it("means D1 when SUPABASE_URL is unset", () => {
    expect(supabaseSettingsFromEnv({})).toBeNull();
  });

  it("takes the secret key, or the legacy service_role key", () => {
    expect(supabaseSettingsFromEnv({ SUPABASE_URL: "https://x.supabase.co", SUPABASE_SECRET_KEY: secretA })).toEqual({
      url: "https://x.supabase.co",
      key: secretA,
    });
    expect(supabaseSettingsFromEnv({ SUPABASE_URL: "https://x.supabase.co", SUPABASE_SERVICE_ROLE_KEY: "eyJ.legacy" })?.key).toBe("eyJ.legacy");
  });

  it("refuses a URL without a key, and a publishable key, naming the variable but not the value", () => {
    expect(() => supabaseSettingsFromEnv({ SUPABASE_URL: "https://x.supabase.co" })).toThrow(/set the secret SUPABASE_SECRET_KEY/);
    expect(() => supabaseSettingsFromEnv({ SUPABASE_URL: "https://x.supabase.co", SUPABASE_SECRET_KEY: fakeSupabaseKey("publishable") })).toThrow(
      /^SUPABASE_SECRET_KEY holds a publishable key; the ledger needs the secret key \(sb_secret_…\)$/,
    );
  });
});
