-- The bundled price snapshot of 2026-11-22: the same rows, in the same order, as
-- src/pricing/snapshot.ts (BUNDLED_PRICES) and supabase/migrations/20261122120400_bundled_prices.sql.
-- test/pricing/price-store.test.ts holds the three equal. docs/ledger.md lists the rows.
INSERT INTO imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from) VALUES
  ('replicate', 'black-forest-labs/flux-schnell', 'image', null, null, 0.003, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('replicate', 'black-forest-labs/flux-dev', 'image', null, null, 0.025, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('replicate', 'black-forest-labs/flux-pro', 'image', null, null, 0.055, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('replicate', 'black-forest-labs/flux-1.1-pro', 'image', null, null, 0.04, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1-schnell', 'megapixel', null, null, 0.0027, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1-dev', 'megapixel', null, null, 0.025, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1-pro', 'megapixel', null, null, 0.05, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('together', 'black-forest-labs/flux.1.1-pro', 'image', null, null, 0.04, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'low', '1024x1024', 0.009, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'low', '1024x1536', 0.013, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'low', '1536x1024', 0.013, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'medium', '1024x1024', 0.034, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'medium', '1024x1536', 0.05, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'medium', '1536x1024', 0.05, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'high', '1024x1024', 0.133, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'high', '1024x1536', 0.2, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-1.5', 'image', 'high', '1536x1024', 0.2, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'low', '1024x1024', 0.006, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'low', '1024x1536', 0.005, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'low', '1536x1024', 0.005, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'medium', '1024x1024', 0.053, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'medium', '1024x1536', 0.041, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'medium', '1536x1024', 0.041, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'high', '1024x1024', 0.211, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'high', '1024x1536', 0.165, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z'),
  ('openai', 'gpt-image-2', 'image', 'high', '1536x1024', 0.165, 'bundled-snapshot-2026-11-22', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:00.000Z')
ON CONFLICT DO NOTHING;
