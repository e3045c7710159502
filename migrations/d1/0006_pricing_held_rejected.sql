-- An operator can reject a held price change (POST /v1/pricing/held/{id}/reject; docs/pricing.md,
-- "Held changes"). A rejected proposal is neither approvable nor proposed again while the source
-- keeps publishing the same rate; a refresh that reads another rate supersedes it as usual, and a
-- re-proposal of the rejected rate after that clears rejected_at. Null while not rejected. Same
-- column as supabase/migrations/20261207130000_imagen_pricing_held_rejected.sql.
ALTER TABLE imagen_pricing_held ADD COLUMN rejected_at TEXT
  CONSTRAINT imagen_pricing_held_rejected_at_iso
  CHECK (rejected_at IS NULL OR strftime('%Y-%m-%dT%H:%M:%fZ', rejected_at) IS rejected_at);
