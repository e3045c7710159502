-- The FLUX.1 Kontext editing models (image edits, docs/replicate.md and docs/pricing.md): the
-- same rows, in the same order, as the lines of src/pricing/snapshot.ts dated 2026-12-07
-- (BUNDLED_PRICES, after the first snapshot's rows) and
-- supabase/migrations/20261207153000_kontext_prices.sql; test/pricing/price-store.test.ts holds
-- them equal. Replicate bills Kontext per output image; Together per megapixel, as Portkey's
-- together-ai.json lists it.
INSERT INTO imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from) VALUES
  ('replicate', 'black-forest-labs/flux-kontext-pro', 'image', null, null, 0.04, 'bundled-snapshot-2026-12-07', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z'),
  ('replicate', 'black-forest-labs/flux-kontext-max', 'image', null, null, 0.08, 'bundled-snapshot-2026-12-07', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z'),
  ('replicate', 'black-forest-labs/flux-kontext-dev', 'image', null, null, 0.025, 'bundled-snapshot-2026-12-07', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1-kontext-pro', 'megapixel', null, null, 0.04, 'bundled-snapshot-2026-12-07', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1-kontext-max', 'megapixel', null, null, 0.08, 'bundled-snapshot-2026-12-07', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1-kontext-dev', 'megapixel', null, null, 0.025, 'bundled-snapshot-2026-12-07', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.000Z')
ON CONFLICT DO NOTHING;
