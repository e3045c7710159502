/**
 * Fixed-window request counters per API key, in the caller's Durable Object. A window opens with
 * the first request after the previous one closed, so its end (the `t` of the RateLimit header)
 * is known from that request on.
 */
import type { RateLimit } from "../../config/guard";

export interface RateDecision {
  readonly allowed: boolean;
  /** Requests left in this window after this one. */
  readonly remaining: number;
  /** Milliseconds until the window resets. */
  readonly resetInMs: number;
}

export class RateWindows {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS rate_windows (key_id TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL)");
  }

  /** Counts one request of `keyId` against `limit`; a refused request is not counted. */
  hit(keyId: string, limit: RateLimit, now: number): RateDecision {
    const windowMs = limit.window_seconds * 1000;
    const row = this.sql.exec<{ window_start: number; count: number }>("SELECT window_start, count FROM rate_windows WHERE key_id = ?", keyId).toArray()[0];
    const open = row !== undefined && now < row.window_start + windowMs;
    const windowStart = open ? row.window_start : now;
    const used = open ? row.count : 0;
    const resetInMs = windowStart + windowMs - now;
    if (used >= limit.requests) return { allowed: false, remaining: 0, resetInMs };
    this.sql.exec(
      "INSERT INTO rate_windows (key_id, window_start, count) VALUES (?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET window_start = excluded.window_start, count = excluded.count",
      keyId,
      windowStart,
      used + 1,
    );
    return { allowed: true, remaining: limit.requests - used - 1, resetInMs };
  }
}
