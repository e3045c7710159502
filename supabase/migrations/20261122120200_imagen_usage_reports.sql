-- Usage reports, computed in the database and called through PostgREST (`.rpc()`), so the Worker
-- never loops over ledger rows. The D1 ledger (src/usage/d1-ledger.ts) runs
-- the same aggregation in SQLite; test/usage/ledger-contract.test.ts holds both to one contract.
--
-- Shared rules:
--   * p_since (inclusive) and p_until (exclusive) are UTC dates applied to occurred_at.
--   * week = the Monday of the ISO week of occurred_at (UTC), day = the UTC date, both YYYY-MM-DD.
--   * cost_usd sums the known estimates, rounded to 4 dp; rows without an estimate add nothing.
--   * Text ordering uses the "C" collation so both ledgers order identically.

-- Raises a clear error for a bad filter; shared by the three report functions.
create or replace function mai.imagen_usage_check_filter(p_since date, p_until date)
returns void
language plpgsql immutable security invoker set search_path = ''
as $$
begin
  if p_since is not null and p_until is not null and p_until <= p_since then
    raise exception using
      errcode = '22023',
      message = format('usage filter: until (%s) must be after since (%s)', p_until, p_since),
      hint = 'since is inclusive, until is exclusive.';
  end if;
end;
$$;

-- The rows a filter selects; shared by the three report functions. Plain SQL, so the planner
-- inlines it into each caller and the created_at/caller indexes still apply.
create or replace function mai.imagen_usage_filtered(p_since date, p_until date, p_caller text)
returns setof mai.imagen_usage
language sql stable security invoker set search_path = ''
as $$
  select u.* from mai.imagen_usage u
  where (p_since is null or u.occurred_at >= p_since::timestamp at time zone 'UTC')
    and (p_until is null or u.occurred_at <  p_until::timestamp at time zone 'UTC')
    and (p_caller is null or u.caller = p_caller)
$$;

-- Grouped totals plus grand totals, as one JSON document:
--   {"groups": [{"group": {"week": "2026-05-04", "backend": "mock"}, "calls": 3, ...}],
--    "totals": {"calls": .., "succeeded": .., "failed": .., "images": .., "cost_usd": ..}}
-- p_group lists the group keys (week, day, backend, model, caller, source); an empty list gives
-- only the totals. Groups are ordered by week, day, backend, model, caller, source (nulls last).
create or replace function mai.imagen_usage_report(
  p_since  date   default null,
  p_until  date   default null,
  p_caller text   default null,
  p_group  text[] default '{}'
)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  v_keys   constant text[] := array['week', 'day', 'backend', 'model', 'caller', 'source'];
  v_group  text[] := coalesce(p_group, '{}');
  v_bad    text;
  v_result jsonb;
begin
  perform mai.imagen_usage_check_filter(p_since, p_until);
  select string_agg(coalesce(quote_literal(k), 'null'), ', ') into v_bad
    from unnest(v_group) as k where k is null or not (k = any (v_keys));
  if v_bad is not null then
    raise exception using
      errcode = '22023',
      message = format('unknown usage group key: %s', v_bad),
      hint = 'Group by any of: week, day, backend, model, caller, source.';
  end if;
  if cardinality(v_group) <> (select count(distinct k) from unnest(v_group) as k) then
    raise exception using errcode = '22023', message = 'usage group keys must not repeat';
  end if;

  with filtered as (
    select * from mai.imagen_usage_filtered(p_since, p_until, p_caller)
  ),
  keyed as (
    select
      case when 'week' = any (v_group)
        then to_char(date_trunc('week', f.occurred_at at time zone 'UTC'), 'YYYY-MM-DD') end as week,
      case when 'day' = any (v_group)
        then to_char(f.occurred_at at time zone 'UTC', 'YYYY-MM-DD') end as day,
      case when 'backend' = any (v_group) then f.backend end as backend,
      case when 'model'   = any (v_group) then f.model   end as model,
      case when 'caller'  = any (v_group) then f.caller  end as caller,
      case when 'source'  = any (v_group) then f.source  end as source,
      f.success, f.images_produced, f.cost_usd_estimate
    from filtered f
  ),
  grouped as (
    select week, day, backend, model, caller, source,
      count(*)                                    as calls,
      count(*) filter (where success)             as succeeded,
      count(*) filter (where not success)         as failed,
      coalesce(sum(images_produced), 0)           as images,
      coalesce(round(sum(cost_usd_estimate), 4), 0) as cost_usd
    from keyed
    group by week, day, backend, model, caller, source
  )
  select jsonb_build_object(
    'groups', coalesce((
      select jsonb_agg(
        jsonb_build_object(
          'group', (
            select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
            from jsonb_each(jsonb_build_object(
              'week', g.week, 'day', g.day, 'backend', g.backend,
              'model', g.model, 'caller', g.caller, 'source', g.source)) as e
            where e.key = any (v_group)
          ),
          'calls', g.calls, 'succeeded', g.succeeded, 'failed', g.failed,
          'images', g.images, 'cost_usd', g.cost_usd)
        order by g.week collate "C" nulls last, g.day collate "C" nulls last,
                 g.backend collate "C" nulls last, g.model collate "C" nulls last,
                 g.caller collate "C" nulls last, g.source collate "C" nulls last)
      from grouped g), '[]'::jsonb),
    'totals', (
      select jsonb_build_object(
        'calls', count(*),
        'succeeded', count(*) filter (where f.success),
        'failed', count(*) filter (where not f.success),
        'images', coalesce(sum(f.images_produced), 0),
        'cost_usd', coalesce(round(sum(f.cost_usd_estimate), 4), 0))
      from filtered f)
  ) into v_result;
  return v_result;
end;
$$;

-- One page of rows, newest first (occurred_at desc, id desc). Keyset paging: pass the last row's
-- occurred_at and id to get the next (older) page.
create or replace function mai.imagen_usage_raw(
  p_since              date        default null,
  p_until              date        default null,
  p_caller             text        default null,
  p_limit              integer     default 50,
  p_before_occurred_at timestamptz default null,
  p_before_id          bigint      default null
)
returns setof mai.imagen_usage
language plpgsql stable security invoker set search_path = ''
as $$
begin
  perform mai.imagen_usage_check_filter(p_since, p_until);
  -- The Worker asks for one row more than a page (500 at most) to know whether a next page exists.
  if p_limit is null or p_limit < 1 or p_limit > 501 then
    raise exception using errcode = '22023', message = format('usage page limit must be 1..501, got %s', p_limit);
  end if;
  if (p_before_occurred_at is null) <> (p_before_id is null) then
    raise exception using errcode = '22023', message = 'usage page cursor needs both occurred_at and id';
  end if;
  return query
    select u.* from mai.imagen_usage_filtered(p_since, p_until, p_caller) u
    where p_before_id is null or (u.occurred_at, u.id) < (p_before_occurred_at, p_before_id)
    order by u.occurred_at desc, u.id desc
    limit p_limit;
end;
$$;

-- The admin summary (what an admin usage dashboard shows): totals, by source (costliest first),
-- by day (newest first) and the most recent failed attempts (newest first), as one JSON document.
create or replace function mai.imagen_usage_summary(
  p_since         date    default null,
  p_until         date    default null,
  p_caller        text    default null,
  p_recent_errors integer default 20
)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  v_result jsonb;
begin
  perform mai.imagen_usage_check_filter(p_since, p_until);
  if p_recent_errors is null or p_recent_errors < 0 or p_recent_errors > 1000 then
    raise exception using errcode = '22023',
      message = format('recent error count must be 0..1000, got %s', p_recent_errors);
  end if;

  with filtered as (
    select * from mai.imagen_usage_filtered(p_since, p_until, p_caller)
  ),
  by_source as (
    select f.source, count(*) as calls,
      count(*) filter (where f.success) as succeeded, count(*) filter (where not f.success) as failed,
      coalesce(sum(f.images_produced), 0) as images, coalesce(round(sum(f.cost_usd_estimate), 4), 0) as cost_usd
    from filtered f group by f.source
  ),
  by_day as (
    select to_char(f.occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day, count(*) as calls,
      count(*) filter (where f.success) as succeeded, count(*) filter (where not f.success) as failed,
      coalesce(sum(f.images_produced), 0) as images, coalesce(round(sum(f.cost_usd_estimate), 4), 0) as cost_usd
    from filtered f group by 1
  ),
  recent_errors as (
    select f.* from filtered f where not f.success
    order by f.occurred_at desc, f.id desc
    limit p_recent_errors
  )
  select jsonb_build_object(
    'totals', (
      select jsonb_build_object(
        'calls', count(*),
        'succeeded', count(*) filter (where f.success),
        'failed', count(*) filter (where not f.success),
        'images', coalesce(sum(f.images_produced), 0),
        'cost_usd', coalesce(round(sum(f.cost_usd_estimate), 4), 0))
      from filtered f),
    'by_source', coalesce((
      select jsonb_agg(to_jsonb(s) order by s.cost_usd desc, s.calls desc, s.source collate "C" nulls last)
      from by_source s), '[]'::jsonb),
    'by_day', coalesce((select jsonb_agg(to_jsonb(d) order by d.day desc) from by_day d), '[]'::jsonb),
    'recent_errors', coalesce((
      select jsonb_agg(to_jsonb(r) order by r.occurred_at desc, r.id desc) from recent_errors r), '[]'::jsonb)
  ) into v_result;
  return v_result;
end;
$$;

-- Changes one price line atomically: closes the current row (if any) at p_effective_from and opens
-- the new one from then. Returns the new row. A start that is not after the current row's start is
-- refused, so history never overlaps; a concurrent apply of the same line fails on
-- imagen_pricing_one_current instead of leaving two current rows.
create or replace function mai.imagen_pricing_apply(
  p_provider       text,
  p_model          text,
  p_unit           text,
  p_quality        text,
  p_size           text,
  p_usd_rate       numeric,
  p_source         text,
  p_fetched_at     timestamptz,
  p_effective_from timestamptz default null
)
returns mai.imagen_pricing
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  v_from    timestamptz := coalesce(p_effective_from, now());
  v_current mai.imagen_pricing;
  v_new     mai.imagen_pricing;
begin
  select * into v_current from mai.imagen_pricing p
  where p.provider = p_provider and p.model = p_model and p.unit = p_unit
    and coalesce(p.quality, '') = coalesce(p_quality, '') and coalesce(p.size, '') = coalesce(p_size, '')
    and p.effective_to is null
  for update;

  if found then
    if v_current.effective_from >= v_from then
      raise exception using
        errcode = '22023',
        message = format('price %s/%s/%s: new rate must start after the current one (current from %s, new from %s)',
                         p_provider, p_model, p_unit, v_current.effective_from, v_from);
    end if;
    update mai.imagen_pricing set effective_to = v_from where id = v_current.id;
  end if;

  insert into mai.imagen_pricing (provider, model, unit, quality, size, usd_rate, source, fetched_at, effective_from)
  values (p_provider, p_model, p_unit, p_quality, p_size, p_usd_rate, p_source, p_fetched_at, v_from)
  returning * into v_new;
  return v_new;
end;
$$;
