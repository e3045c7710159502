/**
 * The fake Data API (test/fakes/postgrest) answers as Supabase's does for the cases the ledger meets:
 * plain HTTP here, so the fake's own fidelity is checked without supabase-js in between.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageEvent } from "./fixtures";
import { fakeSupabaseKey } from "../helpers/keys";
import { newSupabaseProject, type FakeSupabaseProject } from "./ledger-world";

let project: FakeSupabaseProject;

beforeAll(async () => {
  project = await newSupabaseProject();
});

afterAll(async () => {
  await project?.drop();
});

function api(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; key?: string | null } = {}) {
  const key = init.key === undefined ? project.secretKey : init.key;
  return fetch(`${project.url}/rest/v1/${path}`, {
    method: init.method ?? "GET",
    headers: {
      ...(key ? { apikey: key, authorization: `Bearer ${key}` } : {}),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

async function answer(res: Response) {
  return { status: res.status, body: (await res.text()) || null };
}

describe("fake Supabase Data API", () => {
  it("turns away a request without a key, or with a key it does not know (gateway 401)", async () => {
    expect(await answer(await api("imagen_usage", { key: null, headers: { "accept-profile": "mai" } }))).toEqual({
      status: 401,
      body: JSON.stringify({ message: "No API key found in request", hint: "No `apikey` request header or url param was found." }),
    });
    expect((await api("imagen_usage", { key: fakeSupabaseKey("secret", "unknown") })).status).toBe(401);
  });

  it("refuses a schema that is not exposed with PGRST106 (406)", async () => {
    const res = await api("imagen_usage", { headers: { "accept-profile": "private" } });
    expect(res.status).toBe(406);
    expect(await res.json()).toEqual({
      code: "PGRST106",
      details: null,
      hint: "Only the following schemas are exposed: public, graphql_public, mai",
      message: "Invalid schema: private",
    });
  });

  it("looks in public without a profile header, where the ledger is not (PGRST205, 404)", async () => {
    const res = await api("imagen_usage");
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([404, "PGRST205"]);
  });

  it("answers a duplicate plain insert with 409 23505, an ignored one with 201 and no body", async () => {
    const row = usageEvent({ event_id: "fake-dup" });
    const headers = { "content-profile": "mai" };
    expect(await answer(await api("imagen_usage", { method: "POST", headers, body: row }))).toEqual({ status: 201, body: null });
    const duplicate = await api("imagen_usage", { method: "POST", headers, body: row });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({
      code: "23505",
      details: "Key (event_id)=(fake-dup) already exists.",
      hint: null,
      message: 'duplicate key value violates unique constraint "imagen_usage_event_id_key"',
    });
    const ignored = await api("imagen_usage?on_conflict=event_id", {
      method: "POST",
      headers: { ...headers, prefer: "resolution=ignore-duplicates, return=representation" },
      body: [row],
    });
    expect(await answer(ignored)).toEqual({ status: 201, body: "[]" });
  });

  it("reports an unknown column as PGRST204 and an unknown function as PGRST202", async () => {
    const column = await api("imagen_usage", {
      method: "POST",
      headers: { "content-profile": "mai" },
      body: { ...usageEvent({ event_id: "x" }), prompt: "a cat" },
    });
    expect([column.status, ((await column.json()) as { code: string }).code]).toEqual([400, "PGRST204"]);
    const fn = await api("rpc/imagen_usage_reprot", { method: "POST", headers: { "content-profile": "mai" }, body: {} });
    expect([fn.status, ((await fn.json()) as { message: string }).message]).toEqual([
      404,
      "Could not find the function mai.imagen_usage_reprot without parameters in the schema cache",
    ]);
  });

  it("passes a function's raised error on with its hint (P0001-class codes are 400)", async () => {
    const res = await api("rpc/imagen_usage_report", { method: "POST", headers: { "content-profile": "mai" }, body: { p_group: ["prompt"] } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "22023",
      details: null,
      hint: "Group by any of: week, day, backend, model, caller, source, ref.",
      message: "unknown usage group key: 'prompt'",
    });
  });

  it("says plainly what it does not implement (501) rather than pretending", async () => {
    const res = await api("imagen_usage?event_id=eq.x", { method: "PATCH", headers: { "content-profile": "mai" }, body: { caller: "y" } });
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([501, "FAKE501"]);
  });
});
