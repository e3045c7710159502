/**
 * Idempotency keys of one caller, in its Durable Object's SQLite. A key is claimed by the first
 * request ("running", with a lease so a request that died frees it), then holds that request's
 * answer until it expires. Synchronous like the spend book: two requests can never both claim
 * the same key.
 */

/** The answer replayed for a repeated key (status, the headers that matter, body text). */
export interface StoredAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type KeyClaim =
  /** This request owns the key: run it, then complete or abandon. */
  | { readonly kind: "claimed" }
  /** The first request finished: replay its answer. */
  | { readonly kind: "replay"; readonly answer: StoredAnswer }
  /** The first request is still running. */
  | { readonly kind: "running" }
  /** The key was used with another request body. */
  | { readonly kind: "mismatch" };

export interface ClaimInput {
  readonly key: string;
  readonly fingerprint: string;
  /** Who claims it (the request id); only the holder may complete or abandon the claim. */
  readonly holder: string;
  readonly leaseMs: number;
  /**
   * A first try whose key was derived from its content (an SDK request without Idempotency-Key):
   * a new request that merely looks like an earlier one, so it takes the key over instead of
   * being answered from it.
   */
  readonly fresh?: boolean;
}

interface KeyRow extends Record<string, SqlStorageValue> {
  fingerprint: string;
  state: string;
  holder: string;
  until: number;
  answer: string | null;
}

export class IdempotencyBook {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'done')),
        holder TEXT NOT NULL,
        -- running: the claim's lease; done: when the key expires
        until INTEGER NOT NULL,
        answer TEXT
      );
    `);
  }

  claim(input: ClaimInput, now: number): KeyClaim {
    const row = this.sql.exec<KeyRow>("SELECT fingerprint, state, holder, until, answer FROM idempotency_keys WHERE key = ?", input.key).toArray()[0];
    if (row && row.until > now && !input.fresh) {
      if (row.fingerprint !== input.fingerprint) return { kind: "mismatch" };
      if (row.state === "done") return { kind: "replay", answer: JSON.parse(row.answer!) as StoredAnswer };
      return { kind: "running" };
    }
    this.sql.exec(
      `INSERT INTO idempotency_keys (key, fingerprint, state, holder, until, answer) VALUES (?, ?, 'running', ?, ?, NULL)
       ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'running', holder = excluded.holder,
         until = excluded.until, answer = NULL`,
      input.key,
      input.fingerprint,
      input.holder,
      now + input.leaseMs,
    );
    return { kind: "claimed" };
  }

  /** The holder's answer is final: keep it for replays until `now + ttlMs`. */
  complete(key: string, holder: string, answer: StoredAnswer, now: number, ttlMs: number): void {
    this.sql.exec(
      "UPDATE idempotency_keys SET state = 'done', until = ?, answer = ? WHERE key = ? AND holder = ? AND state = 'running'",
      now + ttlMs,
      JSON.stringify(answer),
      key,
      holder,
    );
  }

  /** The holder got no answer worth replaying (e.g. an error): the key is free again. */
  abandon(key: string, holder: string): void {
    this.sql.exec("DELETE FROM idempotency_keys WHERE key = ? AND holder = ? AND state = 'running'", key, holder);
  }

  forgetExpired(now: number): void {
    this.sql.exec("DELETE FROM idempotency_keys WHERE until <= ?", now);
  }

  nextExpiry(): number | null {
    return this.sql.exec<{ next: number | null }>("SELECT min(until) AS next FROM idempotency_keys").one().next;
  }
}
