/**
 * Status probes, remembered per isolate: a page that lists backends must not cost every provider
 * an authenticated round trip on every load. A healthy answer is kept for the instance's TTL; a
 * failure for a shorter time, so a fixed key or a provider back from an outage shows up quickly.
 *
 * Only settled answers are shared (never an in-flight promise): workerd does not let one request
 * wait on I/O another request started.
 *
 * @example
 * const status = await cachedStatus(`together|${baseUrl}|${token}`, { clock, ttlMs: 60_000 }, () => probe());
 */
import type { Clock } from "../lib/clock";
import type { BackendStatus } from "./backend";
import { fetchWithRetry } from "./http-retry";

export const DEFAULT_STATUS_TTL_S = 60;
/** A probe that hangs must not hold the backends listing. */
const PROBE_TIMEOUT_MS = 5_000;
/** Failures are re-probed after at most this long, whatever the TTL. */
const FAILURE_TTL_MS = 10_000;

export interface ProbeCacheOptions {
  readonly clock: Clock;
  readonly ttlMs: number;
}

const remembered = new Map<string, { readonly status: BackendStatus; readonly expiresAt: number }>();

/**
 * The cached status under `key`, or a fresh probe. The key must change when anything the probe
 * depends on changes (base URL, credential), so a rotated key is probed again at once.
 */
export async function cachedStatus(key: string, options: ProbeCacheOptions, probe: () => Promise<BackendStatus>): Promise<BackendStatus> {
  const hit = remembered.get(key);
  if (hit && options.clock.now() < hit.expiresAt) return hit.status;
  const status = await probe();
  const ttl = status.state === "ok" ? options.ttlMs : Math.min(options.ttlMs, FAILURE_TTL_MS);
  remembered.set(key, { status, expiresAt: options.clock.now() + ttl });
  return status;
}

/** A cheap authenticated GET: what it costs to learn whether a key works. */
export interface KeyProbe {
  /** The provider's name in status lines, e.g. `Replicate`. */
  readonly label: string;
  readonly url: string;
  readonly key: string;
  /** The env var the key came from, named when the provider refuses it. */
  readonly keyEnv: string;
  readonly fetch: typeof fetch;
}

/**
 * GET the probe URL with the key as a bearer token: 2xx is `ok`, 401/403 `unauthorized` (naming
 * the env var), 429 `ok` (a throttled key still works), anything else `unreachable`. Never throws.
 */
export async function probeWithKey(probe: KeyProbe, clock: Clock): Promise<BackendStatus> {
  try {
    const response = await fetchWithRetry(
      () => probe.fetch(probe.url, { headers: { Authorization: `Bearer ${probe.key}` }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }),
      { clock, rateLimitRetries: 0, deadline: clock.now() + PROBE_TIMEOUT_MS },
    );
    await response.body?.cancel().catch(() => {});
    if (response.ok) return { state: "ok" };
    if (response.status === 401 || response.status === 403) {
      return { state: "unauthorized", env: probe.keyEnv, reason: `${probe.label} answered ${response.status}` };
    }
    if (response.status === 429) return { state: "ok", detail: "rate limited right now" };
    return { state: "unreachable", reason: `${probe.label} answered ${response.status}` };
  } catch (error) {
    return { state: "unreachable", reason: `${probe.label} could not be reached (${error instanceof Error ? error.message : String(error)})` };
  }
}
