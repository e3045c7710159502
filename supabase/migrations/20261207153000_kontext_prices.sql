-- The FLUX.1 Kontext editing models (image edits, docs/replicate.md and docs/pricing.md): the
-- same rows as the lines of src/pricing/snapshot.ts dated 2026-12-07 (BUNDLED_PRICES, after the
-- first snapshot's rows; test/node/ledger-sql.test.ts and test/pricing/price-store.test.ts keep
-- the SQL and the TypeScript equal) and migrations/d1/0008_kontext_prices.sql. Replicate bills
-- Kontext per output image (its model pages); Together per megapixel, as Portkey's
-- together-ai.json lists it.
insert into mai.imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from)
select v.provider, v.model, v.unit, v.quality, v.size, v.usd_rate,
       'bundled-snapshot-2026-12-07', timestamptz '2026-12-07T00:00:00Z', timestamptz '2026-12-07T00:00:00Z'
from (values
  ('replicate', 'black-forest-labs/flux-kontext-pro', 'image', null, null, 0.04),
  ('replicate', 'black-forest-labs/flux-kontext-max', 'image', null, null, 0.08),
  ('replicate', 'black-forest-labs/flux-kontext-dev', 'image', null, null, 0.025),
  ('together', 'black-forest-labs/flux.1-kontext-pro', 'megapixel', null, null, 0.04),
  ('together', 'black-forest-labs/flux.1-kontext-max', 'megapixel', null, null, 0.08),
  ('together', 'black-forest-labs/flux.1-kontext-dev', 'megapixel', null, null, 0.025)
) as v (provider, model, unit, quality, size, usd_rate)
-- A line that already has a current price (set by a refresh) keeps it.
on conflict (provider, model, unit, coalesce(quality, ''), coalesce(size, '')) where effective_to is null
do nothing;
