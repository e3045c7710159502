/**
 * CallerGuard with an injected clock: tests run in the same isolate as the objects, so a
 * module-level map keyed by the object's id reaches every instance of it. A test moves the
 * clock instead of sleeping for a reservation to lapse.
 */
import { CallerGuard } from "../../src/guard/caller-guard";

const clocks = new Map<string, () => number>();

/** The object `id` (GUARDS.idFromName(caller)) reads the time from `now` from here on. */
export function setCallerGuardClock(id: DurableObjectId, now: () => number): void {
  clocks.set(id.toString(), now);
}

export class SeamedCallerGuard extends CallerGuard {
  protected override now(): number {
    return clocks.get(this.ctx.id.toString())?.() ?? Date.now();
  }
}
