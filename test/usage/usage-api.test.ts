import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { D1Ledger } from "../../src/usage/d1-ledger";
import { bearer, callWorker, seedKey } from "../helpers/world";
import { FIXTURE_EVENTS } from "./fixtures";

let otto: string;
let admin: string;

beforeAll(async () => {
  await new D1Ledger(env.LEDGER).recordBatch(FIXTURE_EVENTS);
  otto = await seedKey("otto/head");
  admin = await seedKey("m", "admin");
});

const get = async (path: string, key: string) => {
  const res = await callWorker(path, { headers: bearer(key) });
  return { res, body: res.headers.get("content-type")?.includes("json") ? await res.json<any>() : await res.text() };
};

describe("GET /v1/usage", () => {
  it("gives an admin everyone's rows grouped by week, backend, model and caller with grand totals", async () => {
    const { res, body } = await get("/v1/usage", admin);
    expect(res.status).toBe(200);
    expect(body.totals).toEqual({ calls: 10, succeeded: 7, failed: 3, images: 11, cost_usd: 0.27 });
    const hermes = body.groups.filter((g: any) => g.group.caller === "mai/hermes");
    expect(hermes.reduce((n: number, g: any) => n + g.calls, 0)).toBe(3);
    expect(Object.keys(body.groups[0].group)).toEqual(["week", "backend", "model", "caller"]);
  });

  it("confines a user to their own rows, and refuses to show another caller's", async () => {
    const own = await get("/v1/usage?group=caller", otto);
    expect(own.body.groups).toEqual([{ group: { caller: "otto/head" }, calls: 7, succeeded: 4, failed: 3, images: 8, cost_usd: 0.112 }]);
    expect(own.body.totals.calls).toBe(7);
    const other = await get("/v1/usage?caller=mai/hermes", otto);
    expect(other.res.status).toBe(403);
  });

  it("lets an admin filter by caller and by date range (since inclusive, until exclusive)", async () => {
    const { body } = await get("/v1/usage?group=caller&caller=mai/hermes", admin);
    expect(body.totals).toMatchObject({ calls: 3, images: 3, cost_usd: 0.158 });
    const week = await get("/v1/usage?group=week&since=2026-05-04&until=2026-05-11", admin);
    expect(week.body.groups).toEqual([expect.objectContaining({ group: { week: "2026-05-04" }, calls: 6 })]);
  });

  it("pages raw attempts newest first with a cursor", async () => {
    const first = await get("/v1/usage?raw=1&limit=4", admin);
    expect(first.body.rows.map((r: any) => r.event_id)).toEqual(["evt-10", "evt-09", "evt-08", "evt-07"]);
    expect(first.body.rows[0]).not.toHaveProperty("prompt");
    const second = await get(`/v1/usage?raw=1&limit=4&cursor=${first.body.next_cursor}`, admin);
    expect(second.body.rows.map((r: any) => r.event_id)).toEqual(["evt-06", "evt-05", "evt-04", "evt-03"]);
    const last = await get(`/v1/usage?raw=1&limit=4&cursor=${second.body.next_cursor}`, admin);
    expect(last.body.rows.map((r: any) => r.event_id)).toEqual(["evt-02", "evt-01"]);
    expect(last.body.next_cursor).toBeNull();
  });

  it("prints the aligned table with totals, and CSV", async () => {
    const table = await get("/v1/usage?group=caller&format=table", admin);
    expect(table.res.headers.get("content-type")).toContain("text/plain");
    expect(table.body).toBe(
      [
        "CALLER      CALLS  OK  FAILED  IMAGES  COST_USD",
        "mai/hermes      3   3       0       3    0.1580",
        "otto/head       7   4       3       8    0.1120",
        "TOTAL          10   7       3      11    0.2700",
        "",
      ].join("\n"),
    );
    const csv = await get("/v1/usage?raw=1&limit=2&format=csv", admin);
    expect(csv.res.headers.get("content-type")).toContain("text/csv");
    const lines = (csv.body as string).trimEnd().split("\r\n");
    expect(lines[0]).toBe("CREATED,CALLER,SOURCE,REF,BACKEND,MODEL,SEED,SIZE,IMAGES,LATENCY_MS,COST_USD,OK,ERROR");
    expect(lines[1]).toBe("2026-05-12T10:00:00.000Z,otto/head,-,-,mock,mock-png,0,1024x1024,0,0,-,no,invalid_request: size 10x10 is below the minimum");
  });

  it("answers what one ref cost, grouped by ref or filtered to it", async () => {
    const { body } = await get("/v1/usage?group=ref", admin);
    expect(body.groups.map((g: any) => [g.group.ref, g.calls, g.cost_usd])).toEqual([
      ["post/cats", 3, 0.142],
      ["post/dogs", 2, 0.1],
      [null, 5, 0.028],
    ]);
    const cats = await get("/v1/usage?group=caller&ref=post/cats", admin);
    expect(cats.body.totals).toEqual({ calls: 3, succeeded: 3, failed: 0, images: 4, cost_usd: 0.142 });
  });

  it("finds a user's own requests by their X-Request-Id, never another caller's that share it", async () => {
    const own = await get("/v1/usage?raw=1&client_request_id=cli-1", otto);
    expect(own.body.rows.map((r: any) => [r.event_id, r.client_request_id, r.ref])).toEqual([
      ["evt-09", "cli-1", "post/dogs"],
      ["evt-01", "cli-1", "post/cats"],
    ]);
    const everyone = await get("/v1/usage?raw=1&client_request_id=cli-1", admin);
    expect(everyone.body.rows.map((r: any) => r.event_id)).toEqual(["evt-09", "evt-05", "evt-01"]);
  });

  it.each([
    ["/v1/usage?ref=post%2042", "ref"],
    ["/v1/usage?client_request_id=has%20space", "client_request_id"],
    ["/v1/usage?group=week,ref,ref", "group"],
    ["/v1/usage?since=2026-13-01", "since"],
    ["/v1/usage?since=yesterday", "since"],
    ["/v1/usage?since=2026-05-10&until=2026-05-01", "until"],
    ["/v1/usage?group=week,planet", "group"],
    ["/v1/usage?format=xml", "format"],
    ["/v1/usage?raw=1&limit=501", "limit"],
    ["/v1/usage?raw=1&cursor=not-a-cursor", "cursor"],
    ["/v1/usage?colour=red", "colour"],
  ])("%s → 400 naming %s", async (path, field) => {
    const { res, body } = await get(path, admin);
    expect(res.status).toBe(400);
    expect(body.detail).toContain(field);
  });
});

describe("GET /v1/usage/summary", () => {
  it("gives totals, spend by source and by day, and recent failures newest first", async () => {
    const { res, body } = await get("/v1/usage/summary?recent=2", admin);
    expect(res.status).toBe(200);
    expect(body.totals).toMatchObject({ calls: 10, failed: 3 });
    expect(body.by_source.find((s: any) => s.source === "script")).toMatchObject({ calls: 2, cost_usd: 0.158 });
    expect(body.by_day.find((d: any) => d.day === "2026-05-04")).toMatchObject({ calls: 3 });
    expect(body.recent_errors.map((r: any) => r.event_id)).toEqual(["evt-10", "evt-08"]);
  });

  it("sets estimates beside reservations and provider-reported figures, for one ref too", async () => {
    const all = await get("/v1/usage/summary", admin);
    expect(all.body.reconciliation).toEqual({
      estimated_usd: 0.27,
      reserved_usd: 0.112,
      reserved_calls: 4,
      provider_reported_calls: 3,
      provider_predict_time_s: 8.5,
      provider_image_count: 7,
      images_where_provider_reported: 7,
    });
    const dogs = await get("/v1/usage/summary?ref=post/dogs", admin);
    expect(dogs.body.totals).toMatchObject({ calls: 2, failed: 1, cost_usd: 0.1 });
    expect(dogs.body.reconciliation).toMatchObject({ estimated_usd: 0.1, reserved_usd: 0.103, reserved_calls: 2, provider_reported_calls: 1 });
  });

  it("shows a user only their own summary", async () => {
    const { body } = await get("/v1/usage/summary", otto);
    expect(body.totals.calls).toBe(7);
    expect(body.by_source.every((s: any) => s.source !== "script")).toBe(true);
  });
});
