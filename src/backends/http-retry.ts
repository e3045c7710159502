/**
 * The retry policy every HTTP backend shares: answer 429 by waiting (the server's Retry-After
 * header or `retry_after` body field when given, else exponential backoff) and 5xx / network
 * failures by one more try. Time comes from the injected clock, so tests run it without waiting.
 *
 * The helper only decides whether and when to try again; it hands back the last response as it
 * came (even a 429 or 500) so the caller maps status codes to errors in one place.
 *
 * A paid create is not repeatable (`repeatable: false`): a 5xx or a lost connection may come
 * after the provider accepted (and billed) the work, so only a 429 — the provider refusing the
 * work — is tried again. workerd reports a refused connection and a connection dropped after the
 * request was sent alike ("Network connection lost."), so no network error proves the work was
 * never accepted.
 *
 * @example
 * const response = await fetchWithRetry(() => fetch(url, init), { clock, signal });
 */
import type { Clock } from "../lib/clock";
import { backoffDelay } from "../lib/backoff";

export interface RetryOptions {
  readonly clock: Clock;
  /** Aborting stops waiting and retrying at once. */
  readonly signal?: AbortSignal;
  /** 429 answers to retry before handing the 429 back (default 3). */
  readonly rateLimitRetries?: number;
  /** 5xx answers and network failures to retry (default 1). */
  readonly transientRetries?: number;
  /** First backoff wait when the server gives no hint; doubles per retry (default 500 ms). */
  readonly baseDelayMs?: number;
  /** Longest backoff wait we choose ourselves (default 10 s). A server's Retry-After is not capped. */
  readonly maxDelayMs?: number;
  /**
   * Clock time (ms) after which no retry may start: when the wait would end past it, the last
   * answer is handed back instead of sleeping through the caller's budget.
   */
  readonly deadline?: number;
  /**
   * False for a request that must not run twice (a paid create): then only 429 answers are
   * retried, and 5xx answers and network errors go straight back to the caller. Default true.
   */
  readonly repeatable?: boolean;
  /** Told about every retry, for logs. */
  readonly onRetry?: (retry: RetryEvent) => void;
}

interface RetryEvent {
  readonly reason: "rate_limited" | "server_error" | "network_error";
  /** 1 for the first retry. */
  readonly retry: number;
  readonly delayMs: number;
  readonly status?: number;
}

/**
 * Calls `send` until it gets an answer worth handing back. `send` must build a fresh request
 * each time (a request body can be read only once).
 */
export async function fetchWithRetry(send: () => Promise<Response>, options: RetryOptions): Promise<Response> {
  const rateLimitRetries = options.rateLimitRetries ?? 3;
  const transientRetries = options.repeatable === false ? 0 : (options.transientRetries ?? 1);
  let rateLimited = 0;
  let transient = 0;
  for (;;) {
    let response: Response;
    try {
      response = await send();
    } catch (error) {
      // An abort is the caller's decision, not a network blip.
      if (options.signal?.aborted || transient >= transientRetries) throw error;
      transient++;
      const delayMs = backoffMs(transient, options);
      if (!(await waitBeforeRetry(delayMs, options))) throw error;
      options.onRetry?.({ reason: "network_error", retry: transient, delayMs });
      continue;
    }

    if (response.status === 429 && rateLimited < rateLimitRetries) {
      rateLimited++;
      const delayMs = (await retryAfterMs(response, options.clock.now())) ?? backoffMs(rateLimited, options);
      if (!(await waitBeforeRetry(delayMs, options, response))) return response;
      options.onRetry?.({ reason: "rate_limited", retry: rateLimited, delayMs, status: 429 });
      continue;
    }
    if (response.status >= 500 && transient < transientRetries) {
      transient++;
      const delayMs = backoffMs(transient, options);
      if (!(await waitBeforeRetry(delayMs, options, response))) return response;
      options.onRetry?.({ reason: "server_error", retry: transient, delayMs, status: response.status });
      continue;
    }
    return response;
  }
}

/**
 * How long the server asked us to wait, in ms: the `Retry-After` header (seconds or an HTTP
 * date), else a numeric `retry_after` (seconds) in a JSON body. Null when it gives no hint.
 * Reads a clone, so the response body stays readable.
 */
export async function retryAfterMs(response: Response, now: number): Promise<number | null> {
  const header = response.headers.get("retry-after");
  if (header !== null && header.trim() !== "") {
    const trimmed = header.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  try {
    const body: unknown = await response.clone().json();
    if (typeof body === "object" && body !== null && "retry_after" in body) {
      const seconds = (body as { retry_after: unknown }).retry_after;
      if (typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    }
  } catch {
    // Not JSON: no hint in the body.
  }
  return null;
}

/**
 * How a 429 that survived our retries reads: "after N retries" only when N were made (a wait past
 * the deadline makes none), and the provider's wait, when it gave one, in whole seconds.
 */
export function rateLimitText(label: string, retries: number, waitMs: number | null): string {
  const tried = retries > 0 ? ` after ${retries} ${retries === 1 ? "retry" : "retries"}` : "";
  const wait = waitMs !== null ? `; retry after ${Math.max(1, Math.ceil(waitMs / 1000))} s` : "";
  return `${label} rate limit hit${tried}${wait}`;
}

function backoffMs(retry: number, options: RetryOptions): number {
  return backoffDelay(retry, options.baseDelayMs ?? 500, options.maxDelayMs ?? 10_000);
}

/** Sleeps unless that would run past the deadline; false = do not retry. */
async function waitBeforeRetry(delayMs: number, options: RetryOptions, discard?: Response): Promise<boolean> {
  if (options.deadline !== undefined && options.clock.now() + delayMs > options.deadline) return false;
  // The answer we are about to drop still holds a connection until its body is read or cancelled.
  await discard?.body?.cancel().catch(() => {});
  await options.clock.sleep(delayMs, options.signal);
  return true;
}
