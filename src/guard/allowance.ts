/**
 * A spend allowance: a block of the caller's budget that this isolate has reserved in the caller's
 * Durable Object in one round trip, and from which its sync requests reserve their attempts
 * locally. A per-attempt reservation costs a durable write in the object on the answer path; a
 * block costs one per `blockUnits` of spend (or per `maxAgeMs`).
 *
 * Why a cap still cannot be overshot: the object counts the whole block as reserved, and a local
 * reservation is only made while the block has room for the attempt's worst case. Each attempt's
 * charge is settled against the block as it ends (after the answer), so the object's "spent" stays
 * current; what the block still holds is released when the block retires (it ran short, grew old,
 * or `/v1/budget` asked) and its last attempt has ended. If the isolate dies, the block's lease
 * runs out and the object's alarm releases it, as it does for a single attempt's reservation.
 *
 * What it costs: near a cap, a block held by one isolate is room other isolates cannot use until
 * the block retires: after at most `maxAgeMs` while requests keep coming; an idle block only at
 * its isolate's next paid attempt or budget read for the caller, or when its lease runs out.
 * `/v1/budget` shows it as reserved.
 *
 * Amounts are integer units (money-units.ts). One instance per caller and caps per isolate
 * (`SpendAllowances`); the object behind `BlockBank` is the authority.
 */

export interface BlockRequest {
  readonly blockId: string;
  /** The attempt that needs the block: the least worth reserving. */
  readonly minUnits: number;
  readonly wantUnits: number;
  /** The previous block, retired in the same step so its unused part counts as room. */
  readonly retire?: BlockRelease;
}

export interface BlockRelease {
  readonly blockId: string;
  readonly unusedUnits: number;
  /** Nothing of the block is in flight: release all it holds. */
  readonly close: boolean;
}

export interface BlockSettlement {
  readonly blockId: string;
  readonly attemptId: string;
  readonly chargedUnits: number;
  /** The block is retired and this was its last attempt: release all it still holds. */
  readonly close: boolean;
}

export type BlockAnswer<Refusal> = { readonly ok: true; readonly units: number } | { readonly ok: false; readonly refusal: Refusal };

/** The caller's Durable Object, as the allowance sees it. */
export interface BlockBank<Refusal> {
  open(request: BlockRequest): Promise<BlockAnswer<Refusal>>;
  /** An attempt ended; false = the bank does not (or no longer) hold its block. */
  settle(settlement: BlockSettlement): Promise<boolean>;
  retire(release: BlockRelease): Promise<void>;
}

export interface AllowanceSettings {
  /** How much a block asks for (it gets less near a cap, but never less than the attempt needs). */
  readonly blockUnits: number;
  /** A block older than this takes no more attempts: it retires, and room held idle returns to the caller. */
  readonly maxAgeMs: number;
  readonly now: () => number;
  readonly newBlockId: () => string;
}

export interface AllowanceTicket {
  readonly units: number;
  /** The attempt ended; resolves when the bank has counted the charge (nothing to send: at once). */
  settle(chargedUnits: number): Promise<void>;
}

export type Taken<Refusal> = { readonly ok: true; readonly ticket: AllowanceTicket } | { readonly ok: false; readonly refusal: Refusal };

class Block {
  charged = 0;
  /** The worst cases of the attempts in flight. */
  committed = 0;
  inFlight = 0;
  /** Settlements sent and not yet answered. */
  unacked = 0;
  retired = false;
  /** A message releasing all it holds has been sent. */
  closed = false;

  constructor(
    readonly id: string,
    public granted: number,
    readonly openedAt: number,
  ) {}

  get free(): number {
    return this.granted - this.charged - this.committed;
  }
}

export class SpendAllowance<Refusal> {
  private current: Block | undefined;
  private opening: Promise<unknown> | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly bank: BlockBank<Refusal>,
    private readonly settings: AllowanceSettings,
  ) {}

  /** Reserve `units` for one attempt: from the current block, or from a new one. */
  async take(attemptId: string, units: number): Promise<Taken<Refusal>> {
    for (;;) {
      const block = this.current;
      if (block && this.settings.now() - block.openedAt < this.settings.maxAgeMs && block.free >= units) {
        return { ok: true, ticket: this.reserveIn(block, attemptId, units) };
      }
      if (this.opening) {
        // Someone else is opening a block: wait for it, then look again.
        await this.opening.catch(() => undefined);
        continue;
      }
      const answer = await this.open(units);
      if (!answer.ok) return answer;
    }
  }

  /** Retire the current block now (its unused room returns to the caller) and wait for the settlements already sent. */
  async flush(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    const block = this.current;
    const retired = block ? this.track(this.bank.retire(this.retireLocally(block))) : Promise.resolve();
    await Promise.allSettled([...this.pending]);
    // A settlement that failed was its request's to report; a failed retirement is this caller's.
    await retired;
  }

  private open(units: number): Promise<BlockAnswer<Refusal>> {
    const previous = this.current;
    const blockId = this.settings.newBlockId();
    const request: BlockRequest = {
      blockId,
      minUnits: units,
      wantUnits: Math.max(units, this.settings.blockUnits),
      ...(previous && { retire: this.retireLocally(previous) }),
    };
    const opening = this.bank.open(request).then((answer) => {
      if (answer.ok) this.current = new Block(blockId, answer.units, this.settings.now());
      return answer;
    });
    this.opening = opening;
    return opening.finally(() => {
      if (this.opening === opening) this.opening = undefined;
    });
  }

  private reserveIn(block: Block, attemptId: string, units: number): AllowanceTicket {
    block.committed += units;
    block.inFlight += 1;
    let settled = false;
    return {
      units,
      settle: (chargedUnits: number) => {
        if (settled) return Promise.resolve();
        settled = true;
        block.committed -= units;
        block.inFlight -= 1;
        block.charged += chargedUnits;
        // Nothing charged: the room is simply free again (or, on a retired block, released below).
        if (chargedUnits === 0) return this.closeIfDone(block);
        const close = this.closing(block);
        block.unacked += 1;
        const sent = this.bank.settle({ blockId: block.id, attemptId, chargedUnits, close }).then((known) => {
          block.unacked -= 1;
          if (!known && this.current === block) this.retireLocally(block);
          return this.closeIfDone(block);
        });
        return this.track(sent);
      },
    };
  }

  /**
   * Whether the next message about a block may release all it holds: only once it is retired,
   * nothing of it is in flight, and no settlement of it is unanswered. A release must never
   * overtake a settlement (two calls to the object may arrive in either order): the charge would
   * be neither reserved nor spent for a moment, and another isolate could take that room.
   */
  private closing(block: Block): boolean {
    if (!block.retired || block.closed || block.inFlight > 0 || block.unacked > 0) return false;
    block.closed = true;
    return true;
  }

  /** The last word on a retired block, once everything about it has been answered. */
  private closeIfDone(block: Block): Promise<void> {
    if (!this.closing(block)) return Promise.resolve();
    return this.track(this.bank.retire({ blockId: block.id, unusedUnits: 0, close: true }));
  }

  /** Takes the block out of service; what it did not commit goes back to the caller. */
  private retireLocally(block: Block): BlockRelease {
    const unusedUnits = Math.max(0, block.free);
    block.retired = true;
    block.granted -= unusedUnits;
    if (this.current === block) this.current = undefined;
    return { blockId: block.id, unusedUnits, close: this.closing(block) };
  }

  /** Remembered until it ends, so that `flush` can wait for it; the caller still sees its failure. */
  private track(work: Promise<unknown>): Promise<void> {
    const tracked = work.then(() => undefined);
    this.pending.add(tracked);
    const forget = () => void this.pending.delete(tracked);
    tracked.then(forget, forget);
    return tracked;
  }
}

/** One allowance per caller and caps, per isolate: a block reserved under one set of caps is not checked against another. */
export class SpendAllowances<Refusal, Caps> {
  private readonly byKey = new Map<string, SpendAllowance<Refusal>>();

  constructor(private readonly create: (caller: string, caps: Caps) => SpendAllowance<Refusal>) {}

  for(caller: string, caps: Caps): SpendAllowance<Refusal> {
    const key = `${caller}\u0000${JSON.stringify(caps)}`;
    let allowance = this.byKey.get(key);
    if (!allowance) this.byKey.set(key, (allowance = this.create(caller, caps)));
    return allowance;
  }

  /** Every allowance of `caller` (any caps): before its budget is read. */
  async flush(caller: string): Promise<void> {
    const prefix = `${caller}\u0000`;
    await Promise.all([...this.byKey].filter(([key]) => key.startsWith(prefix)).map(([, allowance]) => allowance.flush()));
  }
}
