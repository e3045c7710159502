-- The bundled price snapshot of 2026-11-22, the same rows as src/pricing/snapshot.ts
-- (BUNDLED_PRICES; test/node/ledger-sql.test.ts and test/pricing/price-store.test.ts keep the
-- SQL and the TypeScript equal). Model names are stored normalised (lowercase, see
-- src/pricing/model-key.ts). Sources: Replicate model pages (per image), Together's pricing page
-- (per megapixel, FLUX1.1 pro per image), Portkey's openai.json (published in cents per image,
-- converted to dollars). docs/ledger.md lists the rows.
insert into mai.imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from)
select v.provider, v.model, v.unit, v.quality, v.size, v.usd_rate,
       'bundled-snapshot-2026-11-22', timestamptz '2026-11-22T00:00:00Z', timestamptz '2026-11-22T00:00:00Z'
from (values
  ('replicate', 'black-forest-labs/flux-schnell', 'image', null, null, 0.003),
  ('replicate', 'black-forest-labs/flux-dev', 'image', null, null, 0.025),
  ('replicate', 'black-forest-labs/flux-pro', 'image', null, null, 0.055),
  ('replicate', 'black-forest-labs/flux-1.1-pro', 'image', null, null, 0.04),
  ('together', 'black-forest-labs/flux.1-schnell', 'megapixel', null, null, 0.0027),
  ('together', 'black-forest-labs/flux.1-dev', 'megapixel', null, null, 0.025),
  ('together', 'black-forest-labs/flux.1-pro', 'megapixel', null, null, 0.05),
  ('together', 'black-forest-labs/flux.1.1-pro', 'image', null, null, 0.04),
  ('openai', 'gpt-image-1.5', 'image', 'low', '1024x1024', 0.009),
  ('openai', 'gpt-image-1.5', 'image', 'low', '1024x1536', 0.013),
  ('openai', 'gpt-image-1.5', 'image', 'low', '1536x1024', 0.013),
  ('openai', 'gpt-image-1.5', 'image', 'medium', '1024x1024', 0.034),
  ('openai', 'gpt-image-1.5', 'image', 'medium', '1024x1536', 0.05),
  ('openai', 'gpt-image-1.5', 'image', 'medium', '1536x1024', 0.05),
  ('openai', 'gpt-image-1.5', 'image', 'high', '1024x1024', 0.133),
  ('openai', 'gpt-image-1.5', 'image', 'high', '1024x1536', 0.2),
  ('openai', 'gpt-image-1.5', 'image', 'high', '1536x1024', 0.2),
  ('openai', 'gpt-image-2', 'image', 'low', '1024x1024', 0.006),
  ('openai', 'gpt-image-2', 'image', 'low', '1024x1536', 0.005),
  ('openai', 'gpt-image-2', 'image', 'low', '1536x1024', 0.005),
  ('openai', 'gpt-image-2', 'image', 'medium', '1024x1024', 0.053),
  ('openai', 'gpt-image-2', 'image', 'medium', '1024x1536', 0.041),
  ('openai', 'gpt-image-2', 'image', 'medium', '1536x1024', 0.041),
  ('openai', 'gpt-image-2', 'image', 'high', '1024x1024', 0.211),
  ('openai', 'gpt-image-2', 'image', 'high', '1024x1536', 0.165),
  ('openai', 'gpt-image-2', 'image', 'high', '1536x1024', 0.165)
) as v (provider, model, unit, quality, size, usd_rate)
-- A line that already has a current price (set by a refresh) keeps it.
on conflict (provider, model, unit, coalesce(quality, ''), coalesce(size, '')) where effective_to is null
do nothing;
