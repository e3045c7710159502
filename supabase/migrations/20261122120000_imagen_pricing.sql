-- ImaGen Edge prices with history (docs/ledger.md, src/pricing/store.ts).
-- A rate is valid from effective_from until effective_to (null = current). Changing a price closes
-- the current row and opens a new one (mai.imagen_pricing_apply), so every usage row can point at
-- the exact price it was estimated with. Created before mai.imagen_usage, which references it.

create schema if not exists mai;

create table mai.imagen_pricing (
  id             bigserial primary key,
  provider       text not null constraint imagen_pricing_provider_present check (provider <> ''),
  model          text not null constraint imagen_pricing_model_present check (model <> ''),
  unit           text not null constraint imagen_pricing_unit_known check (unit in ('image', 'megapixel', 'second')),
  usd_rate       numeric(12, 6) not null constraint imagen_pricing_rate_non_negative check (usd_rate >= 0),
  -- Extra price dimensions (OpenAI: quality and size); null when the provider does not use them.
  -- Never '' so that null and '' cannot be two spellings of "not used".
  quality        text constraint imagen_pricing_quality_present check (quality <> ''),
  size           text constraint imagen_pricing_size_format check (size ~ '^[1-9][0-9]*x[1-9][0-9]*$'),
  source         text not null constraint imagen_pricing_source_present check (source <> ''),
  fetched_at     timestamptz not null,
  effective_from timestamptz not null default now(),
  effective_to   timestamptz,
  constraint imagen_pricing_period check (effective_to is null or effective_to > effective_from)
);

comment on table mai.imagen_pricing is
  'ImaGen Edge price lines with history; effective_to null = current. Change rates with mai.imagen_pricing_apply.';

-- At most one current row per price line. The expressions match the lookup in imagen_pricing_apply.
create unique index imagen_pricing_one_current on mai.imagen_pricing
  (provider, model, unit, coalesce(quality, ''), coalesce(size, ''))
  where effective_to is null;

create index imagen_pricing_history on mai.imagen_pricing (provider, model, effective_from desc);

-- Price changes a refresh did not apply (suspicious drift, unit mismatch...), kept for review.
create table mai.imagen_pricing_held (
  id          bigserial primary key,
  provider    text not null constraint imagen_pricing_held_provider_present check (provider <> ''),
  model       text not null constraint imagen_pricing_held_model_present check (model <> ''),
  unit        text not null constraint imagen_pricing_held_unit_known check (unit in ('image', 'megapixel', 'second')),
  quality     text constraint imagen_pricing_held_quality_present check (quality <> ''),
  size        text constraint imagen_pricing_held_size_format check (size ~ '^[1-9][0-9]*x[1-9][0-9]*$'),
  old_rate    numeric(12, 6) constraint imagen_pricing_held_old_rate_non_negative check (old_rate >= 0),
  new_rate    numeric(12, 6) not null constraint imagen_pricing_held_new_rate_non_negative check (new_rate >= 0),
  source      text not null constraint imagen_pricing_held_source_present check (source <> ''),
  reason      text not null constraint imagen_pricing_held_reason_present check (reason <> ''),
  detected_at timestamptz not null default now(),
  -- The same proposed rate for the same line is held once. A plain column list (NULLS NOT DISTINCT,
  -- Postgres 15+) rather than an expression index, so PostgREST's on_conflict can name it.
  constraint imagen_pricing_held_once unique nulls not distinct (provider, model, unit, quality, size, new_rate)
);

-- One row per pricing refresh: when, whether it succeeded, and its per-source report.
create table mai.imagen_pricing_runs (
  id          bigserial primary key,
  started_at  timestamptz not null,
  finished_at timestamptz not null,
  ok          boolean not null,
  report      jsonb not null,
  constraint imagen_pricing_runs_order check (finished_at >= started_at)
);

create index imagen_pricing_runs_recent on mai.imagen_pricing_runs (started_at desc, id desc);
