-- Attribution and reconciliation columns on the usage ledger (docs/ledger.md), the same as
-- migrations/d1/0003_usage_attribution.sql. All nullable: legacy rows, rows written before this
-- migration and events queued by an older Worker simply lack them.
--   client_request_id  the caller's own X-Request-Id (correlation; request_id stays ours and unique)
--   ref                a caller-chosen attribution, e.g. a post id ("what did post X cost?")
--   reserved_usd       the spend guard's reservation for the attempt (numeric(10,4), like the estimate)
--   provider_predict_time_s, provider_image_count   what the provider itself reported
-- provider_predict_time_s is double precision, as D1's REAL, so both ledgers return the same number.
--
-- The report functions gain p_ref and p_client_request_id filters (appended, so positional calls
-- keep working) and the group key "ref"; the summary gains a reconciliation object. A new
-- signature is a new function to Postgres, so the old ones are dropped, not overloaded: PostgREST
-- must resolve exactly one function per name.

alter table mai.imagen_usage
  add column if not exists client_request_id       text,
  add column if not exists ref                     text,
  add column if not exists reserved_usd            numeric(10,4),
  add column if not exists provider_predict_time_s double precision,
  add column if not exists provider_image_count    integer;

alter table mai.imagen_usage
  add constraint imagen_usage_client_request_id_length check (length(client_request_id) between 1 and 128),
  add constraint imagen_usage_ref_length check (length(ref) between 1 and 200),
  add constraint imagen_usage_reserved_non_negative check (reserved_usd >= 0),
  add constraint imagen_usage_predict_time_non_negative check (provider_predict_time_s >= 0),
  add constraint imagen_usage_provider_images_non_negative check (provider_image_count >= 0);

-- "What did post X cost?" reads one ref over time; a caller looks up its own correlation id.
create index if not exists imagen_usage_ref_occurred on mai.imagen_usage (ref, occurred_at desc) where ref is not null;
create index if not exists imagen_usage_client_request on mai.imagen_usage (caller, client_request_id)
  where client_request_id is not null;

drop function mai.imagen_usage_report(date, date, text, text[]);
drop function mai.imagen_usage_raw(date, date, text, integer, timestamptz, bigint);
drop function mai.imagen_usage_summary(date, date, text, integer);
drop function mai.imagen_usage_filtered(date, date, text);

-- The rows a filter selects; shared by the three report functions. Plain SQL, so the planner
-- inlines it into each caller and the indexes still apply.
create function mai.imagen_usage_filtered(
  p_since date, p_until date, p_caller text, p_ref text, p_client_request_id text
)
returns setof mai.imagen_usage
language sql stable security invoker set search_path = ''
as $$
  select u.* from mai.imagen_usage u
  where (p_since is null or u.occurred_at >= p_since::timestamp at time zone 'UTC')
    and (p_until is null or u.occurred_at <  p_until::timestamp at time zone 'UTC')
    and (p_caller is null or u.caller = p_caller)
    and (p_ref is null or u.ref = p_ref)
    and (p_client_request_id is null or u.client_request_id = p_client_request_id)
$$;

-- Grouped totals plus grand totals, as one JSON document (see 20261122120200_imagen_usage_reports.sql).
-- Group keys: week, day, backend, model, caller, source, ref; groups ordered in that order, nulls last.
create function mai.imagen_usage_report(
  p_since             date   default null,
  p_until             date   default null,
  p_caller            text   default null,
  p_group             text[] default '{}',
  p_ref               text   default null,
  p_client_request_id text   default null
)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  v_keys   constant text[] := array['week', 'day', 'backend', 'model', 'caller', 'source', 'ref'];
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
      hint = 'Group by any of: week, day, backend, model, caller, source, ref.';
  end if;
  if cardinality(v_group) <> (select count(distinct k) from unnest(v_group) as k) then
    raise exception using errcode = '22023', message = 'usage group keys must not repeat';
  end if;

  with filtered as (
    select * from mai.imagen_usage_filtered(p_since, p_until, p_caller, p_ref, p_client_request_id)
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
      case when 'ref'     = any (v_group) then f.ref     end as ref,
      f.success, f.images_produced, f.cost_usd_estimate
    from filtered f
  ),
  grouped as (
    select week, day, backend, model, caller, source, ref,
      count(*)                                    as calls,
      count(*) filter (where success)             as succeeded,
      count(*) filter (where not success)         as failed,
      coalesce(sum(images_produced), 0)           as images,
      coalesce(round(sum(cost_usd_estimate), 4), 0) as cost_usd
    from keyed
    group by week, day, backend, model, caller, source, ref
  )
  select jsonb_build_object(
    'groups', coalesce((
      select jsonb_agg(
        jsonb_build_object(
          'group', (
            select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
            from jsonb_each(jsonb_build_object(
              'week', g.week, 'day', g.day, 'backend', g.backend,
              'model', g.model, 'caller', g.caller, 'source', g.source, 'ref', g.ref)) as e
            where e.key = any (v_group)
          ),
          'calls', g.calls, 'succeeded', g.succeeded, 'failed', g.failed,
          'images', g.images, 'cost_usd', g.cost_usd)
        order by g.week collate "C" nulls last, g.day collate "C" nulls last,
                 g.backend collate "C" nulls last, g.model collate "C" nulls last,
                 g.caller collate "C" nulls last, g.source collate "C" nulls last,
                 g.ref collate "C" nulls last)
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

-- One page of rows, newest first (occurred_at desc, id desc), keyset paged.
create function mai.imagen_usage_raw(
  p_since              date        default null,
  p_until              date        default null,
  p_caller             text        default null,
  p_limit              integer     default 50,
  p_before_occurred_at timestamptz default null,
  p_before_id          bigint      default null,
  p_ref                text        default null,
  p_client_request_id  text        default null
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
    select u.* from mai.imagen_usage_filtered(p_since, p_until, p_caller, p_ref, p_client_request_id) u
    where p_before_id is null or (u.occurred_at, u.id) < (p_before_occurred_at, p_before_id)
    order by u.occurred_at desc, u.id desc
    limit p_limit;
end;
$$;

-- The admin summary: totals, by source (costliest first), by day (newest first), the most recent
-- failed attempts (newest first) and the reconciliation of estimates against reservations and
-- provider-reported figures, as one JSON document.
create function mai.imagen_usage_summary(
  p_since             date    default null,
  p_until             date    default null,
  p_caller            text    default null,
  p_recent_errors     integer default 20,
  p_ref               text    default null,
  p_client_request_id text    default null
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
    select * from mai.imagen_usage_filtered(p_since, p_until, p_caller, p_ref, p_client_request_id)
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
      select jsonb_agg(to_jsonb(r) order by r.occurred_at desc, r.id desc) from recent_errors r), '[]'::jsonb),
    'reconciliation', (
      select jsonb_build_object(
        'estimated_usd', coalesce(round(sum(f.cost_usd_estimate), 4), 0),
        'reserved_usd', coalesce(round(sum(f.reserved_usd), 4), 0),
        'reserved_calls', count(f.reserved_usd),
        'provider_reported_calls',
          count(*) filter (where f.provider_predict_time_s is not null or f.provider_image_count is not null),
        'provider_predict_time_s', coalesce(round(sum(f.provider_predict_time_s)::numeric, 3), 0),
        'provider_image_count', coalesce(sum(f.provider_image_count), 0),
        'images_where_provider_reported',
          coalesce(sum(f.images_produced) filter (where f.provider_image_count is not null), 0))
      from filtered f)
  ) into v_result;
  return v_result;
end;
$$;

-- As 20261122120300_mai_api_access.sql: for the Worker only (per-schema default privileges
-- already grant service_role; PUBLIC must be revoked by each new function itself).
revoke execute on function
  mai.imagen_usage_filtered(date, date, text, text, text),
  mai.imagen_usage_report(date, date, text, text[], text, text),
  mai.imagen_usage_raw(date, date, text, integer, timestamptz, bigint, text, text),
  mai.imagen_usage_summary(date, date, text, integer, text, text)
  from public, anon, authenticated;
grant execute on function
  mai.imagen_usage_filtered(date, date, text, text, text),
  mai.imagen_usage_report(date, date, text, text[], text, text),
  mai.imagen_usage_raw(date, date, text, integer, timestamptz, bigint, text, text),
  mai.imagen_usage_summary(date, date, text, integer, text, text)
  to service_role;
