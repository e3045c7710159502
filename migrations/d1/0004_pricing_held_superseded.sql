-- Held price changes go stale (docs/pricing.md, "Held changes"): a later refresh that reads another
-- value for the same line marks the older proposal superseded, and a superseded proposal can no
-- longer be approved. Null while the proposal stands. Same column as
-- supabase/migrations/20261130151000_imagen_pricing_held_superseded.sql.
ALTER TABLE imagen_pricing_held ADD COLUMN superseded_at TEXT
  CONSTRAINT imagen_pricing_held_superseded_at_iso
  CHECK (superseded_at IS NULL OR strftime('%Y-%m-%dT%H:%M:%fZ', superseded_at) IS superseded_at);
