/**
 * Held price changes go stale: a later refresh that reads another value for the same line
 * supersedes the older proposal, a proposal nobody re-proposes expires after held_max_age_days,
 * and a proposal made against a rate that has since changed is outdated. None of them is listed
 * in /v1/pricing or can be approved: approving would install a price nobody checked.
 */
import { describe, expect, it } from "vitest";
import { approveHeldChange } from "../../../src/pricing/held";
import { MemoryPriceStore } from "../../../src/pricing/memory-price-store";
import { buildPricingOverview } from "../../../src/pricing/overview";
import { refreshPrices } from "../../../src/pricing/refresh";
import { BUNDLED_PRICES } from "../../../src/pricing/snapshot";
import { replicatePageSource } from "../../../src/pricing/sources/replicate";
import { fakeFetch, html, manualClock, REPLICATE, realRoutes, replicatePage } from "../../helpers/pricing";

const DAY = 86_400_000;
const FLUX_DEV = "black-forest-labs/flux-dev";
const MAX_AGE = { maxAgeDays: 14 };

/** The bundled prices and a Replicate source whose flux-dev page says what `fluxDev` holds. */
function world() {
  const clock = manualClock("2026-12-01T04:00:00.000Z");
  const store = new MemoryPriceStore(clock, BUNDLED_PRICES);
  const page = { fluxDev: "$0.025" };
  const fetch = fakeFetch({ ...realRoutes(), [`${REPLICATE}/${FLUX_DEV}`]: () => html(replicatePage(page.fluxDev))() });
  const refresh = () => refreshPrices({ sources: [replicatePageSource({ fetch })], store, clock });
  const fluxDevRate = async () => (await store.current()).find((r) => r.model === FLUX_DEV)?.usd_rate;
  const overview = () => buildPricingOverview(store, clock, { heldMaxAgeDays: MAX_AGE.maxAgeDays });
  const approve = (id: number) => approveHeldChange(store, id, { clock, ...MAX_AGE });
  return { clock, store, page, refresh, fluxDevRate, overview, approve };
}

/** A refresh holds flux-dev at $0.25 (10x the bundled $0.025); answers the proposal's id. */
async function heldTenfold(w: ReturnType<typeof world>): Promise<number> {
  w.page.fluxDev = "$0.25";
  await w.refresh();
  const [proposal] = (await w.overview()).held;
  expect(proposal).toMatchObject({ model: FLUX_DEV, old_rate: 0.025, new_rate: 0.25 });
  return proposal!.id;
}

describe("held price changes", () => {
  it("a standing proposal is listed with its expiry and can be approved: its rate becomes current", async () => {
    const w = world();
    const id = await heldTenfold(w);
    expect((await w.overview()).held).toEqual([expect.objectContaining({ id, expires_at: "2026-12-15T04:00:00.000Z" })]);
    w.clock.advance(DAY);

    const approval = await w.approve(id);

    expect(approval).toMatchObject({ kind: "approved", price: { model: FLUX_DEV, usd_rate: 0.25, effective_from: "2026-12-02T04:00:00.000Z" } });
    expect(await w.fluxDevRate()).toBe(0.25);
    expect((await w.overview()).held).toEqual([]);
  });

  it("a later refresh that applies another value supersedes it: no longer listed, approval refused, price kept", async () => {
    const w = world();
    const id = await heldTenfold(w);
    w.clock.advance(DAY);
    w.page.fluxDev = "$0.03"; // within 25% of $0.025: applied
    await w.refresh();
    expect(await w.fluxDevRate()).toBe(0.03);

    expect((await w.overview()).held).toEqual([]);
    expect(await w.approve(id)).toEqual({
      kind: "refused",
      reason: "superseded",
      detail: "a refresh at 2026-12-02T04:00:00.000Z read another value for this price line",
    });
    expect(await w.fluxDevRate()).toBe(0.03);
  });

  it("a later refresh that proposes another value supersedes the older proposal and lists only the newer", async () => {
    const w = world();
    const oldId = await heldTenfold(w);
    w.clock.advance(DAY);
    w.page.fluxDev = "$0.5";
    await w.refresh();

    expect((await w.overview()).held).toEqual([expect.objectContaining({ new_rate: 0.5 })]);
    expect(await w.approve(oldId)).toMatchObject({ kind: "refused", reason: "superseded" });
    expect(await w.fluxDevRate()).toBe(0.025);
  });

  it("a refresh that reads the current rate again supersedes a proposal for another rate", async () => {
    const w = world();
    const id = await heldTenfold(w);
    w.page.fluxDev = "$0.025";
    w.clock.advance(DAY);
    await w.refresh();
    expect(await w.approve(id)).toMatchObject({ kind: "refused", reason: "superseded" });
  });

  it("expires after held_max_age_days without a refresh proposing it again; a re-proposal renews it", async () => {
    const w = world();
    const id = await heldTenfold(w);
    w.clock.advance(14 * DAY);

    expect((await w.overview()).held).toEqual([]);
    expect(await w.approve(id)).toEqual({
      kind: "refused",
      reason: "expired",
      detail: "last proposed at 2026-12-01T04:00:00.000Z, more than 14 days ago (pricing.held_max_age_days)",
    });
    expect(await w.fluxDevRate()).toBe(0.025);

    await w.refresh(); // the page still says $0.25
    expect((await w.overview()).held).toEqual([expect.objectContaining({ id, expires_at: "2026-12-29T04:00:00.000Z" })]);
    expect(await w.approve(id)).toMatchObject({ kind: "approved" });
  });

  it("is outdated once the line's rate changed by other means (an operator's apply)", async () => {
    const w = world();
    const id = await heldTenfold(w);
    w.clock.advance(DAY);
    await w.store.apply({
      provider: "replicate",
      model: FLUX_DEV,
      unit: "image",
      quality: null,
      size: null,
      usd_rate: 0.04,
      source: "operator",
      fetched_at: "2026-12-02T04:00:00Z",
    });

    expect((await w.overview()).held).toEqual([]);
    expect(await w.approve(id)).toEqual({
      kind: "refused",
      reason: "outdated",
      detail: "proposed against $0.025, but the current rate is $0.04",
    });
    expect(await w.fluxDevRate()).toBe(0.04);
  });

  it("an unknown id is not found", async () => {
    const w = world();
    expect(await w.approve(999)).toEqual({ kind: "not-found" });
  });
});
