-- ImaGen Edge usage ledger: one row per backend attempt, success or failure (docs/ledger.md,
-- src/usage/event.ts). The prompt is never stored, only its sha256.
--
-- The first statement is the table as it existed before ImaGen Edge, verbatim, created only when
-- absent: the mAi project already has it, filled by the earlier `imagen` CLI. Everything ImaGen Edge adds comes after, as
-- ALTERs, so this migration applies both to an empty database and to that project.

create table if not exists mai.imagen_usage (
    id           bigserial PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    backend      text NOT NULL,
    model        text NOT NULL,
    seed         bigint,
    prompt_hash  text NOT NULL,
    latency_ms   integer,
    cost_usd_estimate numeric(10,4),
    caller       text
);
-- The seed created these unnamed; these are the names Postgres gave them.
create index if not exists imagen_usage_created_at_idx on mai.imagen_usage (created_at desc);
create index if not exists imagen_usage_caller_idx on mai.imagen_usage (caller);

alter table mai.imagen_usage
  add column if not exists event_id         text,
  add column if not exists occurred_at      timestamptz,
  add column if not exists request_id       text,
  add column if not exists source           text,
  add column if not exists backend_type     text,
  add column if not exists model_version    text,
  add column if not exists width            integer,
  add column if not exists height           integer,
  add column if not exists images_requested integer,
  add column if not exists images_produced  integer,
  add column if not exists success          boolean,
  add column if not exists error_code       text,
  add column if not exists error_message    text,
  add column if not exists external_id      text,
  add column if not exists attempt          integer,
  add column if not exists price_id         bigint;

-- Rows written before this migration (by the earlier `imagen` CLI): it recorded one row per successful single-image
-- generation and knew nothing of events, requests or sizes. They are kept, marked
-- backend_type = 'legacy', with the facts they do imply.
update mai.imagen_usage set
  event_id         = 'legacy-' || id,
  occurred_at      = created_at,
  backend_type     = 'legacy',
  success          = true,
  attempt          = 1,
  images_requested = 1,
  images_produced  = 1,
  caller           = nullif(caller, '')
where event_id is null;

-- The defaults exist only for a writer that predates these columns (the earlier `imagen` CLI): its rows become
-- 'legacy' rows instead of failing. ImaGen Edge always writes every column (supabase-js sends
-- null for a missing key), so for it the NOT NULLs and checks below are what counts.
alter table mai.imagen_usage
  alter column event_id         set default 'legacy-' || gen_random_uuid(),
  alter column event_id         set not null,
  alter column occurred_at      set default now(),
  alter column occurred_at      set not null,
  alter column backend_type     set default 'legacy',
  alter column backend_type     set not null,
  alter column success          set default true,
  alter column success          set not null,
  alter column attempt          set default 1,
  alter column attempt          set not null,
  alter column images_requested set default 1,
  alter column images_requested set not null,
  alter column images_produced  set default 1,
  alter column images_produced  set not null;

alter table mai.imagen_usage
  -- The idempotency key: the queue may deliver an event twice, the ledger keeps one row.
  add constraint imagen_usage_event_id_key unique (event_id),
  add constraint imagen_usage_price_id_fkey foreign key (price_id) references mai.imagen_pricing (id),
  add constraint imagen_usage_event_id_present check (event_id <> ''),
  add constraint imagen_usage_names_present
    check (backend <> '' and model <> '' and backend_type <> '' and caller <> '' and request_id <> ''),
  add constraint imagen_usage_prompt_hash_sha256 check (prompt_hash ~ '^[0-9a-f]{64}$'),
  -- A success carries no error; a failure names its error code.
  add constraint imagen_usage_outcome check (
    (success and error_code is null and error_message is null)
    or (not success and error_code is not null and error_code <> '')
  ),
  add constraint imagen_usage_success_has_images check (not success or images_produced >= 1),
  add constraint imagen_usage_image_counts check (images_requested >= 1 and images_produced >= 0),
  add constraint imagen_usage_size_positive check (width > 0 and height > 0),
  add constraint imagen_usage_latency_non_negative check (latency_ms >= 0),
  add constraint imagen_usage_cost_non_negative check (cost_usd_estimate >= 0),
  add constraint imagen_usage_seed_non_negative check (seed >= 0),
  add constraint imagen_usage_attempt_positive check (attempt >= 1),
  -- An estimate that names its price row has an amount.
  add constraint imagen_usage_priced_estimate check (price_id is null or cost_usd_estimate is not null),
  -- Only legacy rows may lack the facts every ImaGen Edge event carries.
  add constraint imagen_usage_complete check (
    backend_type = 'legacy'
    or (request_id is not null and caller is not null and latency_ms is not null
        and width is not null and height is not null)
  );

comment on table mai.imagen_usage is
  'ImaGen Edge usage ledger: one row per backend attempt; event_id is the idempotency key. Append-only.';

-- Reports filter by time (and by caller for users), pages go newest first, summaries list failures.
create index if not exists imagen_usage_occurred on mai.imagen_usage (occurred_at desc, id desc);
create index if not exists imagen_usage_caller_occurred on mai.imagen_usage (caller, occurred_at desc);
create index if not exists imagen_usage_failures on mai.imagen_usage (occurred_at desc, id desc) where not success;
