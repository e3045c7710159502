/**
 * The isolate's spend allowance against a bank that keeps the caller's books the way the caller's
 * Durable Object does (reserved blocks, spent, a cap): how many round trips it makes, what it gives
 * back, and that no interleaving of attempts lets spend plus reservations pass the cap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AllowanceSettings, type BlockAnswer, type BlockBank, type BlockRelease, type BlockRequest, type BlockSettlement, SpendAllowance } from "../../src/guard/allowance";

interface Refusal {
  readonly roomUnits: number;
}

/** The caller's books: blocks reserved, units spent, one cap. Every call is logged. */
class BookBank implements BlockBank<Refusal> {
  readonly blocks = new Map<string, number>();
  spent = 0;
  readonly calls: string[] = [];
  /**
   * Each call is answered after `delayMs()` (a macrotask at least), so that concurrent takes
   * really overlap — and, with varying delays, calls overtake one another as two calls to a
   * Durable Object may.
   */
  constructor(
    private readonly capUnits = Infinity,
    private readonly delayMs: () => number = () => 0,
  ) {}

  private arrive(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.delayMs()));
  }

  get reserved(): number {
    return [...this.blocks.values()].reduce((sum, units) => sum + units, 0);
  }

  async open(request: BlockRequest): Promise<BlockAnswer<Refusal>> {
    await this.arrive();
    this.calls.push("open");
    if (request.retire) this.drawDown(request.retire.blockId, request.retire.unusedUnits, request.retire.close);
    const room = this.capUnits - this.spent - this.reserved;
    if (room < request.minUnits) return { ok: false, refusal: { roomUnits: room } };
    const units = Math.min(request.wantUnits, room);
    this.blocks.set(request.blockId, units);
    return { ok: true, units };
  }

  async settle({ blockId, chargedUnits, close }: BlockSettlement): Promise<boolean> {
    await this.arrive();
    this.calls.push(close ? "settle+close" : "settle");
    this.spent += chargedUnits;
    return this.drawDown(blockId, chargedUnits, close);
  }

  async retire(release: BlockRelease): Promise<void> {
    await this.arrive();
    this.calls.push(release.close ? "retire+close" : "retire");
    this.drawDown(release.blockId, release.unusedUnits, release.close);
  }

  private drawDown(blockId: string, units: number, close: boolean): boolean {
    const held = this.blocks.get(blockId);
    if (held === undefined) return false;
    if (close) this.blocks.delete(blockId);
    else this.blocks.set(blockId, Math.max(0, held - units));
    return true;
  }
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function allowanceWith(bank: BlockBank<Refusal>, overrides: Partial<AllowanceSettings> = {}) {
  let ids = 0;
  const clock = { now: 1_000_000 };
  const allowance = new SpendAllowance(bank, { blockUnits: 100, maxAgeMs: 10_000, now: () => clock.now, newBlockId: () => `blk_${++ids}`, ...overrides });
  return { allowance, clock };
}

async function taken(allowance: SpendAllowance<Refusal>, attemptId: string, units: number) {
  const answer = await allowance.take(attemptId, units);
  if (!answer.ok) throw new Error(`refused: ${JSON.stringify(answer.refusal)}`);
  return answer.ticket;
}

describe("spend allowance", () => {
  it("reserves one block for many attempts: one round trip to open, one per charged settlement, none for a free failure", async () => {
    const bank = new BookBank();
    const { allowance } = allowanceWith(bank);
    for (let i = 0; i < 5; i++) await (await taken(allowance, `a${i}`, 10)).settle(10);
    await (await taken(allowance, "failed", 10)).settle(0);

    expect(bank.calls).toEqual(["open", "settle", "settle", "settle", "settle", "settle"]);
    expect(bank.spent).toBe(50);
    expect(bank.reserved).toBe(50); // the block, less what was spent from it
  });

  it("concurrent attempts wait for one block instead of opening one each", async () => {
    const bank = new BookBank();
    const { allowance } = allowanceWith(bank);
    const tickets = await Promise.all(Array.from({ length: 8 }, (_, i) => taken(allowance, `a${i}`, 10)));
    expect(bank.calls).toEqual(["open"]);
    expect(tickets.map((t) => t.units)).toEqual(Array(8).fill(10));
  });

  it("a block too small for the next attempt retires in the same round trip that opens the next; its last attempt's settlement closes it", async () => {
    const bank = new BookBank();
    const { allowance } = allowanceWith(bank, { blockUnits: 25 });
    const first = await taken(allowance, "a1", 10);
    const second = await taken(allowance, "a2", 10);
    const third = await taken(allowance, "a3", 10); // 5 units left in blk_1: blk_2 opens, giving them back
    expect(bank.calls).toEqual(["open", "open"]);
    expect(bank.blocks.get("blk_1")).toBe(20);
    expect(bank.blocks.get("blk_2")).toBe(25);

    await first.settle(10);
    await second.settle(7);
    expect(bank.calls.slice(2)).toEqual(["settle", "settle+close"]);
    expect(bank.blocks.has("blk_1")).toBe(false);
    expect(bank.spent).toBe(17);
    await third.settle(10);
    expect(bank.blocks.get("blk_2")).toBe(15);
  });

  it("near the cap a block gets what is left; an attempt that does not fit is refused with the bank's answer and gets no ticket", async () => {
    const bank = new BookBank(50);
    const { allowance } = allowanceWith(bank);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => allowance.take(`a${i}`, 15)));
    expect(answers.filter((a) => a.ok)).toHaveLength(3);
    const refused = answers.filter((a) => !a.ok);
    expect(refused).toHaveLength(5);
    for (const answer of refused) expect(answer).toEqual({ ok: false, refusal: { roomUnits: 5 } });
    expect(bank.spent + bank.reserved).toBeLessThanOrEqual(50);
  });

  it("a block older than maxAgeMs takes no more attempts: an idle one is closed as the next opens", async () => {
    const bank = new BookBank();
    const { allowance, clock } = allowanceWith(bank);
    await (await taken(allowance, "a1", 10)).settle(10);
    clock.now += 10_000;
    await taken(allowance, "a2", 10);
    expect(bank.calls).toEqual(["open", "settle", "open"]);
    expect(bank.blocks.has("blk_1")).toBe(false);
    expect([...bank.blocks]).toEqual([["blk_2", 100]]);
  });

  it("flush gives the block's unused room back and waits for settlements already sent", async () => {
    const bank = new BookBank();
    const { allowance } = allowanceWith(bank);
    const running = await taken(allowance, "running", 30);
    void (await taken(allowance, "done", 10)).settle(10); // not awaited: flush must wait for it
    await allowance.flush();
    expect(bank.spent).toBe(10);
    expect(bank.reserved).toBe(30); // only the attempt still running
    await running.settle(20);
    expect(bank.calls.at(-1)).toBe("settle+close");
    expect(bank.reserved).toBe(0);
    expect(bank.spent).toBe(30);
  });

  it("a block the bank no longer holds (its lease ran out) is dropped: the next attempt opens a new one", async () => {
    const bank = new BookBank();
    const { allowance } = allowanceWith(bank);
    await taken(allowance, "a1", 10);
    bank.blocks.clear();
    const ticket = await taken(allowance, "a2", 10);
    await ticket.settle(10);
    // a1's block was still current when a2 came; a2 settled in it, learned it was gone, dropped it.
    await taken(allowance, "a3", 10);
    expect(bank.calls).toEqual(["open", "settle", "open"]);
  });

  it("a failed opening fails the attempt that asked; the attempts waiting for it try again", async () => {
    const bank = new BookBank();
    let failures = 1;
    const flaky: BlockBank<Refusal> = {
      open: async (request) => {
        await tick();
        if (failures-- > 0) throw new Error("object overloaded");
        return bank.open(request);
      },
      settle: (settlement) => bank.settle(settlement),
      retire: (release) => bank.retire(release),
    };
    const { allowance } = allowanceWith(flaky);
    const [first, ...rest] = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => allowance.take(`a${i}`, 10)));
    expect(first).toMatchObject({ status: "rejected", reason: new Error("object overloaded") });
    expect(rest.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
  });

  it("no interleaving of takes and settlements from several isolates lets spent + reserved pass the cap", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 16 }),
        fc.array(fc.record({ isolate: fc.nat(2), units: fc.integer({ min: 1, max: 40 }), chargedShare: fc.constantFrom(0, 0.5, 1), settleLater: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        async (capUnits, delays, attempts) => {
          let call = 0;
          const bank = new BookBank(capUnits, () => delays[call++ % delays.length]!);
          // Block ids are unique across isolates, as the product's random UUIDs are.
          let blocks = 0;
          const isolates = [0, 1, 2].map(() => allowanceWith(bank, { blockUnits: 30, newBlockId: () => `blk_${++blocks}` }).allowance);
          let peak = 0;
          // What may still be charged: the worst cases of the attempts running in every isolate.
          let running = 0;
          const watch = () => (peak = Math.max(peak, bank.spent + bank.reserved, bank.spent + running));
          const later: Array<() => Promise<void>> = [];
          await Promise.all(
            attempts.map(async ({ isolate, units, chargedShare, settleLater }, i) => {
              const answer = await isolates[isolate]!.take(`a${i}`, units);
              if (answer.ok) running += units;
              watch();
              if (!answer.ok) return;
              const settle = async () => {
                running -= units;
                await answer.ticket.settle(Math.floor(units * chargedShare));
                watch();
              };
              if (settleLater) later.push(settle);
              else await settle();
            }),
          );
          for (const settle of later) await settle();
          await Promise.all(isolates.map((isolate) => isolate.flush()));
          expect(peak).toBeLessThanOrEqual(capUnits);
          expect(bank.reserved).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
