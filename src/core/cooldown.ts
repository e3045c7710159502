/**
 * Cooldown of backends that just failed as unreachable (the home box switched off): for
 * `cooldown_s` a chain skips such a backend instead of paying a failed attempt and its latency
 * on every request. It is a circuit breaker with three states per backend:
 *
 *   closed ──unreachable──► open (skipped until `until`) ──time passes──► half-open
 *     ▲                                                                     │ one request probes
 *     └──────────── the probe reached it (any answer) ◄─────────────────────┘ (others still skip)
 *                   the probe found it unreachable again ──► open for another cooldown
 *
 * Kept per isolate, in memory: consulting it costs nothing, and a shared store (a Durable
 * Object, KV) would add a round trip to every request to save one failed attempt per isolate
 * per cooldown. Each isolate therefore learns on its own that a backend is down.
 */
export const DEFAULT_COOLDOWN_S = 60;

export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false /** Clock time (ms) the backend may be tried again. */; readonly until: number; readonly reason: string };

interface OpenCircuit {
  readonly until: number;
  /** What the attempt that opened it said. */
  readonly reason: string;
  /** While one request probes (half-open): when its lease ends if it never reports. */
  readonly probeUntil?: number;
}

export class CooldownBook {
  private readonly open = new Map<string, OpenCircuit>();

  /** Whether an attempt on `backend` may start at `now`; in half-open state the first caller probes. */
  admit(backend: string, now: number, cooldownMs: number): Admission {
    const circuit = this.open.get(backend);
    if (!circuit) return { admitted: true };
    if (now < circuit.until) return { admitted: false, until: circuit.until, reason: circuit.reason };
    if (circuit.probeUntil !== undefined && now < circuit.probeUntil) {
      return { admitted: false, until: circuit.probeUntil, reason: `${circuit.reason}; another request is trying it` };
    }
    this.open.set(backend, { ...circuit, probeUntil: now + Math.max(cooldownMs, 1) });
    return { admitted: true };
  }

  /** The backend could not be reached: skip it for `cooldownMs` (0 = never cool down). */
  unreachable(backend: string, now: number, cooldownMs: number, reason: string): void {
    if (cooldownMs <= 0) return;
    this.open.set(backend, { until: now + cooldownMs, reason });
  }

  /** The backend answered (success, or a failure that proves it is there): it is back. */
  reached(backend: string): void {
    this.open.delete(backend);
  }

  /** Until when `backend` is skipped, for status pages; null when it is not cooling down. */
  coolingUntil(backend: string, now: number): { readonly until: number; readonly reason: string } | null {
    const circuit = this.open.get(backend);
    return circuit && now < circuit.until ? { until: circuit.until, reason: circuit.reason } : null;
  }
}

/** How every cooling-down line starts. */
export const COOLING_PREFIX = "skipped: cooling down until ";

/** The line users read in `failed_attempts` and `/v1/backends`. */
export function coolingDownLine(until: number, reason: string): string {
  return `${COOLING_PREFIX}${new Date(until).toISOString()} (${reason})`;
}
