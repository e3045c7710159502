-- A daily rollup of the usage ledger that the ledger keeps itself (docs/ledger.md, "Reports at
-- scale"). The default report (`imagen usage`: every row, by week, backend, model and caller) read
-- the whole table, about a second per million rows however well planned. A report whose group keys
-- and filters a day's totals can answer (keys week, day, backend, model, caller, source; filters
-- since, until, caller; the dates are UTC days, as the rollup's) now reads the rollup instead,
-- a row per (day, backend, model, caller, source) that had calls. Reports by ref or filtered by ref
-- or client_request_id read the rows themselves, through their indexes.
--
-- The rollup is exact, not an estimate: statement-level triggers on mai.imagen_usage add each
-- inserted batch's totals in the inserting transaction (rows an upsert skipped as duplicates are
-- not in the batch), and follow an owner's update, delete or truncate, so it always equals an
-- aggregate of the rows (test/node/ledger-sql.test.ts proves it). Unknown cost is never summed as
-- zero: cost_usd is the sum of the KNOWN estimates, null when the group has none (as SQL's sum()),
-- and cost_unknown_calls counts the rows without one; the report adds the known estimates exactly as
-- it did over the rows ("rows without an estimate add nothing").

create table mai.imagen_usage_daily (
  day                date    not null,
  backend            text    not null,
  model              text    not null,
  caller             text,
  source             text,
  calls              bigint  not null,
  succeeded          bigint  not null,
  failed             bigint  not null,
  images             bigint  not null,
  cost_usd           numeric,
  cost_unknown_calls bigint  not null,
  constraint imagen_usage_daily_counts check (
    calls > 0 and succeeded >= 0 and failed >= 0 and succeeded + failed = calls and images >= 0
    and cost_unknown_calls between 0 and calls
    and ((cost_usd is null) = (cost_unknown_calls = calls))
  )
);
-- One row per key; legacy rows may have no caller and most have no source, hence nulls not distinct.
create unique index imagen_usage_daily_key on mai.imagen_usage_daily (day, backend, model, caller, source) nulls not distinct;
create index imagen_usage_daily_caller on mai.imagen_usage_daily (caller, day);

comment on table mai.imagen_usage_daily is
  'Per UTC day, backend, model, caller and source: the totals of mai.imagen_usage, kept by its triggers. Read-only for the API.';

-- Only the triggers write it; the Worker's role may read it (the reports are security invoker).
alter table mai.imagen_usage_daily enable row level security;
revoke all on mai.imagen_usage_daily from public, anon, authenticated, service_role;
grant select on mai.imagen_usage_daily to service_role;

-- The triggers' work. Security definer (as the migration's role, the rollup's owner) because the
-- Worker's role may insert rows but not write the rollup; an empty search_path and schema-qualified
-- names keep it from being redirected. It only ever aggregates the rows of the statement that fired it.
create function mai.imagen_usage_daily_follow()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'TRUNCATE' then
    truncate mai.imagen_usage_daily;
    return null;
  end if;

  if tg_op in ('UPDATE', 'DELETE') then
    with gone as (
      select (o.occurred_at at time zone 'UTC')::date as day, o.backend, o.model, o.caller, o.source,
        count(*) as calls,
        count(*) filter (where o.success) as succeeded,
        count(*) filter (where not o.success) as failed,
        coalesce(sum(o.images_produced), 0) as images,
        coalesce(sum(o.cost_usd_estimate), 0) as cost_usd,
        count(*) filter (where o.cost_usd_estimate is null) as cost_unknown_calls
      from old_rows o
      group by 1, 2, 3, 4, 5
    ),
    lowered as (
      update mai.imagen_usage_daily d set
        calls              = d.calls - g.calls,
        succeeded          = d.succeeded - g.succeeded,
        failed             = d.failed - g.failed,
        images             = d.images - g.images,
        cost_unknown_calls = d.cost_unknown_calls - g.cost_unknown_calls,
        -- Null again once no row of the group has a known estimate.
        cost_usd = case when (d.calls - g.calls) = (d.cost_unknown_calls - g.cost_unknown_calls) then null
                        else coalesce(d.cost_usd, 0) - g.cost_usd end
      from gone g
      where d.day = g.day and d.backend = g.backend and d.model = g.model
        and d.caller is not distinct from g.caller and d.source is not distinct from g.source
        and d.calls > g.calls
      returning d.day
    )
    delete from mai.imagen_usage_daily d
    using gone g
    where d.day = g.day and d.backend = g.backend and d.model = g.model
      and d.caller is not distinct from g.caller and d.source is not distinct from g.source
      and d.calls <= g.calls;
  end if;

  if tg_op in ('INSERT', 'UPDATE') then
    insert into mai.imagen_usage_daily as d
      (day, backend, model, caller, source, calls, succeeded, failed, images, cost_usd, cost_unknown_calls)
    select (n.occurred_at at time zone 'UTC')::date, n.backend, n.model, n.caller, n.source,
      count(*),
      count(*) filter (where n.success),
      count(*) filter (where not n.success),
      coalesce(sum(n.images_produced), 0),
      sum(n.cost_usd_estimate),
      count(*) filter (where n.cost_usd_estimate is null)
    from new_rows n
    group by 1, 2, 3, 4, 5
    -- A fixed order, so two batches touching the same days lock their rows in the same order.
    order by 1, 2, 3, 4, 5
    on conflict (day, backend, model, caller, source) do update set
      calls              = d.calls + excluded.calls,
      succeeded          = d.succeeded + excluded.succeeded,
      failed             = d.failed + excluded.failed,
      images             = d.images + excluded.images,
      cost_unknown_calls = d.cost_unknown_calls + excluded.cost_unknown_calls,
      cost_usd = case when d.cost_usd is null and excluded.cost_usd is null then null
                      else coalesce(d.cost_usd, 0) + coalesce(excluded.cost_usd, 0) end;
  end if;
  return null;
end;
$$;

revoke execute on function mai.imagen_usage_daily_follow() from public, anon, authenticated, service_role;

-- Postgres allows a transition table only on a trigger for one event: one trigger per event.
create trigger imagen_usage_daily_on_insert after insert on mai.imagen_usage
  referencing new table as new_rows for each statement execute function mai.imagen_usage_daily_follow();
create trigger imagen_usage_daily_on_update after update on mai.imagen_usage
  referencing old table as old_rows new table as new_rows for each statement execute function mai.imagen_usage_daily_follow();
create trigger imagen_usage_daily_on_delete after delete on mai.imagen_usage
  referencing old table as old_rows for each statement execute function mai.imagen_usage_daily_follow();
create trigger imagen_usage_daily_on_truncate after truncate on mai.imagen_usage
  for each statement execute function mai.imagen_usage_daily_follow();

-- The rows already in the ledger (on the mAi project: years of them), in this migration's transaction.
insert into mai.imagen_usage_daily
  (day, backend, model, caller, source, calls, succeeded, failed, images, cost_usd, cost_unknown_calls)
select (u.occurred_at at time zone 'UTC')::date, u.backend, u.model, u.caller, u.source,
  count(*),
  count(*) filter (where u.success),
  count(*) filter (where not u.success),
  coalesce(sum(u.images_produced), 0),
  sum(u.cost_usd_estimate),
  count(*) filter (where u.cost_usd_estimate is null)
from mai.imagen_usage u
group by 1, 2, 3, 4, 5;

-- The grouped report (same signature, grants and answer as 20261130120000_imagen_usage_attribution.sql),
-- now reading the rollup when it can answer. Both sources feed one query; the branch whose
-- condition is false is pruned when the call is planned (every call is planned for its values).
create or replace function mai.imagen_usage_report(
  p_since             date   default null,
  p_until             date   default null,
  p_caller            text   default null,
  p_group             text[] default '{}',
  p_ref               text   default null,
  p_client_request_id text   default null
)
returns jsonb
language plpgsql stable security invoker
set search_path = '' set plan_cache_mode = force_custom_plan
as $$
declare
  v_keys   constant text[] := array['week', 'day', 'backend', 'model', 'caller', 'source', 'ref'];
  v_group  text[] := coalesce(p_group, '{}');
  v_bad    text;
  v_daily  boolean;
  v_absent text[];
  v_result jsonb;
begin
  perform mai.imagen_usage_check_filter(p_since, p_until);
  select string_agg(coalesce(quote_literal(k), 'null'), ', ') into v_bad
    from unnest(v_group) as k where k is null or not (k = any (v_keys));
  if v_bad is not null then
    raise exception using
      errcode = '22023',
      message = format('unknown usage group key: %s', v_bad),
      hint = 'Group by any of: week, day, backend, model, caller, source, ref.';
  end if;
  if cardinality(v_group) <> (select count(distinct k) from unnest(v_group) as k) then
    raise exception using errcode = '22023', message = 'usage group keys must not repeat';
  end if;
  -- What a day's totals per backend, model, caller and source can answer.
  v_daily := not ('ref' = any (v_group)) and p_ref is null and p_client_request_id is null;
  v_absent := array(select k from unnest(v_keys) as k where not (k = any (v_group)));

  -- Week and day stay dates until the groups are formed: a date groups and sorts faster than its
  -- text, and sorts the same (YYYY-MM-DD).
  with keyed as (
    select
      case when 'week' = any (v_group) then date_trunc('week', f.occurred_at at time zone 'UTC')::date end as week,
      case when 'day'  = any (v_group) then (f.occurred_at at time zone 'UTC')::date end as day,
      case when 'backend' = any (v_group) then f.backend end as backend,
      case when 'model'   = any (v_group) then f.model   end as model,
      case when 'caller'  = any (v_group) then f.caller  end as caller,
      case when 'source'  = any (v_group) then f.source  end as source,
      case when 'ref'     = any (v_group) then f.ref     end as ref,
      1::bigint as calls,
      (case when f.success then 1 else 0 end)::bigint as succeeded,
      (case when f.success then 0 else 1 end)::bigint as failed,
      f.images_produced::bigint as images,
      f.cost_usd_estimate::numeric as cost_usd
    from mai.imagen_usage_filtered(p_since, p_until, p_caller, p_ref, p_client_request_id) f
    where not v_daily
    union all
    select
      case when 'week' = any (v_group) then date_trunc('week', d.day::timestamp)::date end,
      case when 'day'  = any (v_group) then d.day end,
      case when 'backend' = any (v_group) then d.backend end,
      case when 'model'   = any (v_group) then d.model   end,
      case when 'caller'  = any (v_group) then d.caller  end,
      case when 'source'  = any (v_group) then d.source  end,
      null::text,
      d.calls, d.succeeded, d.failed, d.images, d.cost_usd
    from mai.imagen_usage_daily d
    where v_daily
      and (p_since is null or d.day >= p_since)
      and (p_until is null or d.day < p_until)
      and (p_caller is null or d.caller = p_caller)
  ),
  grouped as (
    select week, day, backend, model, caller, source, ref,
      sum(calls)                 as calls,
      sum(succeeded)             as succeeded,
      sum(failed)                as failed,
      coalesce(sum(images), 0)   as images,
      -- Unrounded here, so the grand total rounds the exact sum, as before.
      sum(cost_usd)              as cost_usd
    from keyed
    group by week, day, backend, model, caller, source, ref
  )
  select jsonb_build_object(
    'groups', coalesce((
      select jsonb_agg(
        jsonb_build_object(
          -- Every key, then the ones not asked for removed: a null key that was asked for stays.
          'group', jsonb_build_object(
              'week', to_char(g.week::timestamp, 'YYYY-MM-DD'), 'day', to_char(g.day::timestamp, 'YYYY-MM-DD'), 'backend', g.backend,
              'model', g.model, 'caller', g.caller, 'source', g.source, 'ref', g.ref) - v_absent,
          'calls', g.calls, 'succeeded', g.succeeded, 'failed', g.failed,
          'images', g.images, 'cost_usd', coalesce(round(g.cost_usd, 4), 0))
        order by g.week nulls last, g.day nulls last,
                 g.backend collate "C" nulls last, g.model collate "C" nulls last,
                 g.caller collate "C" nulls last, g.source collate "C" nulls last,
                 g.ref collate "C" nulls last)
      from grouped g), '[]'::jsonb),
    'totals', (
      select jsonb_build_object(
        'calls', coalesce(sum(g.calls), 0),
        'succeeded', coalesce(sum(g.succeeded), 0),
        'failed', coalesce(sum(g.failed), 0),
        'images', coalesce(sum(g.images), 0),
        'cost_usd', coalesce(round(sum(g.cost_usd), 4), 0))
      from grouped g)
  ) into v_result;
  return v_result;
end;
$$;
