/**
 * The PriceStore contract for the two real stores: D1 (migrations/d1) and Supabase (the fake Data
 * API over real Postgres with supabase/migrations). Both start from the bundled snapshot, keep
 * price history, hold a proposed change once, and remember refresh runs. The held-change rules
 * (supersede, revive, approve only a standing proposal) hold in the in-memory store too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { D1PriceStore } from "../../src/pricing/d1-price-store";
import { MemoryPriceStore } from "../../src/pricing/memory-price-store";
import { BUNDLED_PRICES } from "../../src/pricing/snapshot";
import type { NewHeldChange, PriceKey, PriceStore } from "../../src/pricing/store";
import { SupabasePriceStore } from "../../src/pricing/supabase-price-store";
import { migratedLedgerDb, newSupabaseProject, type FakeSupabaseProject } from "../usage/ledger-world";
import { manualClock } from "../helpers/pricing";

let project: FakeSupabaseProject;
let d1: D1Database;
const clock = manualClock("2026-12-01T06:00:00.000Z");
const stores: Record<string, PriceStore> = {};
/** Every row of a line, closed ones included, straight from each database. */
const history: Record<string, (model: string) => Promise<{ usd_rate: number; effective_from: string; effective_to: string | null }[]>> = {};

beforeAll(async () => {
  project = await newSupabaseProject();
  d1 = await migratedLedgerDb();
  const memory = new MemoryPriceStore(clock, BUNDLED_PRICES);
  stores.MemoryPriceStore = memory;
  history.MemoryPriceStore = async (model) => memory.history().filter((r) => r.model === model);
  stores.D1PriceStore = new D1PriceStore(d1, clock);
  stores.SupabasePriceStore = new SupabasePriceStore(project.client(), clock);
  history.D1PriceStore = async (model) =>
    (
      await d1
        .prepare("SELECT usd_rate, effective_from, effective_to FROM imagen_pricing WHERE model = ? ORDER BY effective_from")
        .bind(model)
        .all<{ usd_rate: number; effective_from: string; effective_to: string | null }>()
    ).results;
  history.SupabasePriceStore = async (model) =>
    project.sql(
      `select usd_rate::float8 as usd_rate,
              to_char(effective_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as effective_from,
              to_char(effective_to at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as effective_to
       from mai.imagen_pricing where model = $1 order by effective_from`,
      [model],
    );
  // A fresh Postgres with every migration applied: slow on a busy 2-core machine.
}, 120_000);

afterAll(async () => {
  await project?.drop();
});

const FLUX_DEV: PriceKey = { provider: "replicate", model: "black-forest-labs/flux-dev", unit: "image", quality: null, size: null };

describe.each(["D1PriceStore", "SupabasePriceStore"])("%s", (name) => {
  const store = () => stores[name]!;

  it("starts with exactly the bundled snapshot (src/pricing/snapshot.ts) as current prices", async () => {
    expect(await store().current()).toEqual(BUNDLED_PRICES.map((p, i) => ({ ...p, id: i + 1, effective_to: null })));
  });

  it("applies a change by closing the current row and opening a new one, returning it", async () => {
    const opened = await store().apply({
      ...FLUX_DEV,
      usd_rate: 0.03,
      source: "replicate-page",
      fetched_at: "2026-12-01T05:00:00Z",
      effective_from: "2026-12-01T05:00:00Z",
    });
    expect(opened).toEqual({
      ...FLUX_DEV,
      id: expect.any(Number),
      usd_rate: 0.03,
      source: "replicate-page",
      fetched_at: "2026-12-01T05:00:00.000Z",
      effective_from: "2026-12-01T05:00:00.000Z",
      effective_to: null,
    });
    expect((await store().current()).filter((p) => p.model === FLUX_DEV.model)).toEqual([opened]);
    expect(await history[name]!(FLUX_DEV.model)).toEqual([
      { usd_rate: 0.025, effective_from: "2026-11-22T00:00:00.000Z", effective_to: "2026-12-01T05:00:00.000Z" },
      { usd_rate: 0.03, effective_from: "2026-12-01T05:00:00.000Z", effective_to: null },
    ]);
  });

  it("dates a change by the injected clock when none is given", async () => {
    const opened = await store().apply({ ...FLUX_DEV, usd_rate: 0.031, source: "replicate-page", fetched_at: "2026-12-01T06:00:00Z" });
    expect(opened.effective_from).toBe("2026-12-01T06:00:00.000Z");
  });

  it("refuses a change that does not start after the current price and changes nothing", async () => {
    const before = await store().current();
    await expect(
      store().apply({ ...FLUX_DEV, usd_rate: 9, source: "manual", fetched_at: "2026-12-01T00:00:00Z", effective_from: "2026-11-30T00:00:00Z" }),
    ).rejects.toThrow(/start after/);
    expect(await store().current()).toEqual(before);
  });

  it("opens a line that had no price yet", async () => {
    const key: PriceKey = { provider: "openai", model: "gpt-image-3", unit: "image", quality: "high", size: "1024x1024" };
    await store().apply({ ...key, usd_rate: 0.3, source: "portkey", fetched_at: "2026-12-01T06:00:00Z" });
    expect((await store().current()).filter((p) => p.model === "gpt-image-3")).toEqual([
      expect.objectContaining({ ...key, usd_rate: 0.3, effective_to: null }),
    ]);
  });

  it("refuses a unit it does not know", async () => {
    await expect(store().apply({ ...FLUX_DEV, unit: "token" as never, usd_rate: 1, source: "x", fetched_at: "2026-12-01T06:00:00Z" })).rejects.toThrow(
      /imagen_pricing_unit_known/,
    );
  });

  it("remembers refresh runs and answers the latest, report intact", async () => {
    expect(await store().lastRun()).toBeNull();
    await store().recordRun({
      started_at: "2026-12-01T04:00:00Z",
      finished_at: "2026-12-01T04:00:02Z",
      ok: false,
      report: { sources: [{ id: "portkey", error: "timeout" }] },
    });
    await store().recordRun({
      started_at: "2026-12-02T04:00:00Z",
      finished_at: "2026-12-02T04:00:01Z",
      ok: true,
      report: { sources: [{ id: "portkey", applied: 2, held: 1 }] },
    });
    expect(await store().lastRun()).toEqual({
      id: expect.any(Number),
      started_at: "2026-12-02T04:00:00.000Z",
      finished_at: "2026-12-02T04:00:01.000Z",
      ok: true,
      report: { sources: [{ id: "portkey", applied: 2, held: 1 }] },
    });
  });
});

// Every store, the in-memory one too (the refresh's and the Edge Function's tests run on it).
describe.each(["MemoryPriceStore", "D1PriceStore", "SupabasePriceStore"])("%s: held changes", (name) => {
  const store = () => stores[name]!;

  const PROPOSAL: NewHeldChange = {
    ...FLUX_DEV,
    old_rate: 0.031,
    new_rate: 0.31,
    source: "replicate-page",
    reason: "rate x10",
    detected_at: "2026-12-01T06:00:00Z",
  };
  const heldFor = async (rate: number) => (await store().held()).find((h) => h.model === FLUX_DEV.model && h.new_rate === rate);

  it("holds a proposed change once per line and rate, nulls included; a re-proposal refreshes it", async () => {
    await store().hold(PROPOSAL);
    await store().hold({ ...PROPOSAL, reason: "rate x10 again", detected_at: "2026-12-02T06:00:00Z" });
    await store().hold({ ...PROPOSAL, new_rate: 0.5 });
    expect(await store().held()).toEqual([
      { ...PROPOSAL, id: expect.any(Number), reason: "rate x10 again", detected_at: "2026-12-02T06:00:00.000Z", superseded_at: null, rejected_at: null },
      { ...PROPOSAL, id: expect.any(Number), new_rate: 0.5, detected_at: "2026-12-01T06:00:00.000Z", superseded_at: null, rejected_at: null },
    ]);
  });

  it("supersedes the line's standing proposals for another rate, leaving other lines and the same rate alone", async () => {
    const otherLine: NewHeldChange = { ...PROPOSAL, model: "black-forest-labs/flux-pro", old_rate: 0.055, new_rate: 0.9 };
    await store().hold(otherLine);

    await store().supersede(FLUX_DEV, 0.5, "2026-12-03T06:00:00Z");

    expect(await heldFor(0.31)).toMatchObject({ superseded_at: "2026-12-03T06:00:00.000Z" });
    expect(await heldFor(0.5)).toMatchObject({ superseded_at: null });
    expect((await store().held()).find((h) => h.model === otherLine.model)).toMatchObject({ superseded_at: null });
  });

  it("does not approve a superseded proposal, and changes no price", async () => {
    const before = await store().current();
    expect(await store().approveHeld((await heldFor(0.31))!.id, "2026-12-04T06:00:00Z")).toBeNull();
    expect(await store().current()).toEqual(before);
    expect(await heldFor(0.31)).toBeDefined();
  });

  it("revives a superseded proposal that a refresh proposes again", async () => {
    await store().hold({ ...PROPOSAL, detected_at: "2026-12-04T06:00:00Z" });
    expect(await heldFor(0.31)).toMatchObject({ detected_at: "2026-12-04T06:00:00.000Z", superseded_at: null });
  });

  it("approves a standing proposal: its rate becomes current from the given time and it leaves the held list", async () => {
    const proposal = (await heldFor(0.5))!;
    const before = (await store().current()).find((p) => p.model === FLUX_DEV.model)!.usd_rate;
    const opened = await store().approveHeld(proposal.id, "2026-12-05T06:00:00Z");
    expect(opened).toEqual({
      ...FLUX_DEV,
      id: expect.any(Number),
      usd_rate: 0.5,
      source: "replicate-page",
      fetched_at: "2026-12-01T06:00:00.000Z",
      effective_from: "2026-12-05T06:00:00.000Z",
      effective_to: null,
    });
    expect((await store().current()).filter((p) => p.model === FLUX_DEV.model)).toEqual([opened]);
    expect((await history[name]!(FLUX_DEV.model)).at(-2)).toMatchObject({ usd_rate: before, effective_to: "2026-12-05T06:00:00.000Z" });
    expect(await heldFor(0.5)).toBeUndefined();
    expect(await store().approveHeld(proposal.id, "2026-12-06T06:00:00Z")).toBeNull();
  });

  it("rejects a standing proposal once; a rejected one is not approved; superseded, then proposed again, it is no longer rejected", async () => {
    await store().hold({ ...PROPOSAL, new_rate: 0.7, detected_at: "2026-12-06T06:00:00Z" });
    const id = (await heldFor(0.7))!.id;
    const before = await store().current();

    expect(await store().rejectHeld(id, "2026-12-06T07:00:00Z")).toBe(true);
    expect(await heldFor(0.7)).toMatchObject({ rejected_at: "2026-12-06T07:00:00.000Z", superseded_at: null });
    expect(await store().rejectHeld(id, "2026-12-06T08:00:00Z")).toBe(false);
    expect(await store().approveHeld(id, "2026-12-06T09:00:00Z")).toBeNull();
    expect(await store().current()).toEqual(before);
    expect(await store().rejectHeld(999_999, "2026-12-06T09:00:00Z")).toBe(false);

    await store().supersede(FLUX_DEV, 0.8, "2026-12-07T06:00:00Z");
    expect(await heldFor(0.7)).toMatchObject({ rejected_at: "2026-12-06T07:00:00.000Z", superseded_at: "2026-12-07T06:00:00.000Z" });
    expect(await store().rejectHeld(id, "2026-12-07T07:00:00Z")).toBe(false);

    await store().hold({ ...PROPOSAL, new_rate: 0.7, detected_at: "2026-12-08T06:00:00Z" });
    expect(await heldFor(0.7)).toMatchObject({ id, rejected_at: null, superseded_at: null, detected_at: "2026-12-08T06:00:00.000Z" });
  });
});

describe("SupabasePriceStore on the wire", () => {
  it("changes a price through mai.imagen_pricing_apply and holds through an upsert that merges duplicates", async () => {
    const requests = await project.requests();
    const apply = requests.find((r) => r.path === "/rest/v1/rpc/imagen_pricing_apply");
    expect(apply?.headers["content-profile"]).toBe("mai");
    expect(apply?.body).toEqual({
      p_provider: "replicate",
      p_model: "black-forest-labs/flux-dev",
      p_unit: "image",
      p_quality: null,
      p_size: null,
      p_usd_rate: 0.03,
      p_source: "replicate-page",
      p_fetched_at: "2026-12-01T05:00:00.000Z",
      p_effective_from: "2026-12-01T05:00:00.000Z",
    });
    const hold = requests.find((r) => r.path.startsWith("/rest/v1/imagen_pricing_held?"));
    expect(new URL(hold!.path, "http://x").searchParams.get("on_conflict")).toBe("provider,model,unit,quality,size,new_rate");
    expect(hold?.headers.prefer).toBe("resolution=merge-duplicates");
    const current = requests.find((r) => r.method === "GET" && r.path.startsWith("/rest/v1/imagen_pricing?"));
    expect(current?.path).toBe("/rest/v1/imagen_pricing?select=*&effective_to=is.null&order=id.asc");
    expect(current?.headers["accept-profile"]).toBe("mai");
  });
});
