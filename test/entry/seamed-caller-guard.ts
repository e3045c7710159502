/**
 * CallerGuard with an injected clock and a log of its RPC calls: tests run in the same isolate
 * as the objects, so module-level maps keyed by the object's id reach every instance of it. A
 * test moves the clock instead of sleeping for a reservation to lapse, and counts the round
 * trips a request makes to its caller's object.
 */
import { CallerGuard } from "../../src/guard/caller-guard";

const clocks = new Map<string, () => number>();
const calls = new Map<string, string[]>();

/** The object `id` (GUARDS.idFromName(caller)) reads the time from `now` from here on. */
export function setCallerGuardClock(id: DurableObjectId, now: () => number): void {
  clocks.set(id.toString(), now);
}

/** The RPC methods called on object `id` so far, in order. */
export function callerGuardCalls(id: DurableObjectId): readonly string[] {
  return [...(calls.get(id.toString()) ?? [])];
}

export class SeamedCallerGuard extends CallerGuard {
  protected override now(): number {
    return clocks.get(this.ctx.id.toString())?.() ?? Date.now();
  }

  private called(method: string): void {
    const key = this.ctx.id.toString();
    calls.set(key, [...(calls.get(key) ?? []), method]);
  }

  override admit(...args: Parameters<CallerGuard["admit"]>) {
    this.called("admit");
    return super.admit(...args);
  }
  override reserve(...args: Parameters<CallerGuard["reserve"]>) {
    this.called("reserve");
    return super.reserve(...args);
  }
  override settle(...args: Parameters<CallerGuard["settle"]>) {
    this.called("settle");
    return super.settle(...args);
  }
  override budget(...args: Parameters<CallerGuard["budget"]>) {
    this.called("budget");
    return super.budget(...args);
  }
  override unknownAttempts() {
    this.called("unknownAttempts");
    return super.unknownAttempts();
  }
  override completeIdempotencyKey(...args: Parameters<CallerGuard["completeIdempotencyKey"]>) {
    this.called("completeIdempotencyKey");
    return super.completeIdempotencyKey(...args);
  }
  override abandonIdempotencyKey(...args: Parameters<CallerGuard["abandonIdempotencyKey"]>) {
    this.called("abandonIdempotencyKey");
    return super.abandonIdempotencyKey(...args);
  }
  override findReuse(...args: Parameters<CallerGuard["findReuse"]>) {
    this.called("findReuse");
    return super.findReuse(...args);
  }
  override rememberReuse(...args: Parameters<CallerGuard["rememberReuse"]>) {
    this.called("rememberReuse");
    return super.rememberReuse(...args);
  }
  override abandonReuse(...args: Parameters<CallerGuard["abandonReuse"]>) {
    this.called("abandonReuse");
    return super.abandonReuse(...args);
  }
  override forgetReuse(...args: Parameters<CallerGuard["forgetReuse"]>) {
    this.called("forgetReuse");
    return super.forgetReuse(...args);
  }
}
