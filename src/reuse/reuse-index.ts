/**
 * The caller's recent seeded generations, in its Durable Object: fingerprint → the answer it got.
 * Small and bounded: entries expire with the reuse window and at most MAX_ENTRIES are kept (the
 * oldest go first), so a busy caller cannot grow it without limit.
 */
import type { GenerationOutcome } from "../core/pipeline";

export const MAX_REUSE_ENTRIES = 256;

export class ReuseIndex {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS reuse_index (fingerprint TEXT PRIMARY KEY, outcome TEXT NOT NULL, stored_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
    );
    sql.exec("CREATE INDEX IF NOT EXISTS reuse_index_stored_at ON reuse_index (stored_at)");
    sql.exec("CREATE INDEX IF NOT EXISTS reuse_index_expires_at ON reuse_index (expires_at)");
  }

  find(fingerprint: string, now: number): GenerationOutcome | null {
    const row = this.sql.exec<{ outcome: string }>("SELECT outcome FROM reuse_index WHERE fingerprint = ? AND expires_at > ?", fingerprint, now).toArray()[0];
    return row ? (JSON.parse(row.outcome) as GenerationOutcome) : null;
  }

  forget(fingerprint: string): void {
    this.sql.exec("DELETE FROM reuse_index WHERE fingerprint = ?", fingerprint);
  }

  remember(fingerprint: string, outcome: GenerationOutcome, now: number, ttlMs: number): void {
    this.sql.exec("DELETE FROM reuse_index WHERE expires_at <= ?", now);
    this.sql.exec(
      "INSERT INTO reuse_index (fingerprint, outcome, stored_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET outcome = excluded.outcome, stored_at = excluded.stored_at, expires_at = excluded.expires_at",
      fingerprint,
      JSON.stringify(outcome),
      now,
      now + ttlMs,
    );
    // Past the bound, the oldest go; both statements walk the stored_at index, never sort the table.
    const oldestKept = this.sql
      .exec<{ stored_at: number }>("SELECT stored_at FROM reuse_index ORDER BY stored_at DESC LIMIT 1 OFFSET ?", MAX_REUSE_ENTRIES - 1)
      .toArray()[0];
    // Entries stored in the same millisecond as the oldest kept one stay: the bound is loose by those.
    if (oldestKept) this.sql.exec("DELETE FROM reuse_index WHERE stored_at < ?", oldestKept.stored_at);
  }
}
