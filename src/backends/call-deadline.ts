/**
 * The signal one provider call runs under: the attempt's own (the caller hung up, the job was
 * canceled) or the attempt's deadline, whichever comes first. Without it a provider that never
 * answers holds the call — and a sync request — for as long as the connection stays open: the
 * deadline is otherwise only read between calls.
 *
 * The deadline is a clock time on the injected clock; the timer is a real one for the time left
 * (plus a grace for the answer to travel), because a hung socket only ever ends in real time.
 */
import type { Clock } from "../lib/clock";

/** How long past its deadline a call may still bring an answer that is on its way. */
const CALL_GRACE_MS = 5_000;

export interface CallDeadline {
  readonly signal: AbortSignal;
  /** The real time the call was given, ms (Infinity without a deadline). */
  readonly budgetMs: number;
  /** True when the deadline, not the attempt's own signal, stopped the call. */
  expired(): boolean;
  /**
   * Stops the timer once the call is over. A pending timer keeps a Durable Object (an async
   * job) from being evicted, so every call site ends its deadline in a `finally`.
   */
  end(): void;
}

export function callDeadline(outer: AbortSignal, clock: Clock, deadline: number | undefined, graceMs = CALL_GRACE_MS): CallDeadline {
  if (deadline === undefined) return { signal: outer, budgetMs: Number.POSITIVE_INFINITY, expired: () => false, end: () => {} };
  const budgetMs = Math.max(0, deadline - clock.now()) + graceMs;
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new DOMException(`no answer within ${budgetMs} ms`, "TimeoutError")), budgetMs);
  return {
    signal: AbortSignal.any([outer, timer.signal]),
    budgetMs,
    expired: () => timer.signal.aborted && !outer.aborted,
    end: () => clearTimeout(handle),
  };
}
