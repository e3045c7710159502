-- Held price changes go stale (docs/pricing.md, "Held changes"). A later refresh that reads another
-- value for the same line marks the older proposal superseded; proposing the same rate again
-- refreshes detected_at (the age that expiry counts) and revives it. Approving goes through
-- mai.imagen_pricing_approve_held, which installs the rate only if the proposal still stands.
-- Same column as migrations/d1/0003_pricing_held_superseded.sql.

alter table mai.imagen_pricing_held
  add column superseded_at timestamptz;

comment on column mai.imagen_pricing_held.superseded_at is
  'When a later refresh read another value for this line; a superseded proposal cannot be approved. Null while it stands.';

-- The refresh re-proposes (an upsert: PostgREST's ON CONFLICT DO UPDATE sets every column of the
-- payload, the key columns to their own values) and supersedes; approval deletes. Never the id.
grant update (provider, model, unit, quality, size, old_rate, new_rate, source, reason, detected_at, superseded_at)
  on mai.imagen_pricing_held to service_role;
grant delete on mai.imagen_pricing_held to service_role;

-- Install a held change as the line's current price from p_effective_from and drop it from the
-- held list, in one transaction. No row when the proposal does not stand (unknown id, already
-- approved, or superseded): the caller answers 404/409. Age and current-rate checks are the caller's.
create function mai.imagen_pricing_approve_held(p_id bigint, p_effective_from timestamptz)
returns setof mai.imagen_pricing
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  v_held mai.imagen_pricing_held;
begin
  select * into v_held from mai.imagen_pricing_held h
  where h.id = p_id and h.superseded_at is null
  for update;
  if not found then
    return;
  end if;
  delete from mai.imagen_pricing_held where id = v_held.id;
  return next mai.imagen_pricing_apply(
    v_held.provider, v_held.model, v_held.unit, v_held.quality, v_held.size,
    v_held.new_rate, v_held.source, v_held.detected_at, p_effective_from
  );
end;
$$;

revoke execute on function mai.imagen_pricing_approve_held(bigint, timestamptz) from public, anon, authenticated;
grant execute on function mai.imagen_pricing_approve_held(bigint, timestamptz) to service_role;

-- A refresh read p_rate for this line: every standing proposal of another rate is outdated.
create function mai.imagen_pricing_supersede_held(
  p_provider text, p_model text, p_unit text, p_quality text, p_size text, p_rate numeric, p_at timestamptz
)
returns void
language sql volatile security invoker set search_path = ''
as $$
  update mai.imagen_pricing_held h set superseded_at = p_at
  where h.provider = p_provider and h.model = p_model and h.unit = p_unit
    and coalesce(h.quality, '') = coalesce(p_quality, '') and coalesce(h.size, '') = coalesce(p_size, '')
    and h.new_rate <> p_rate and h.superseded_at is null;
$$;

revoke execute on function mai.imagen_pricing_supersede_held(text, text, text, text, text, numeric, timestamptz)
  from public, anon, authenticated;
grant execute on function mai.imagen_pricing_supersede_held(text, text, text, text, text, numeric, timestamptz)
  to service_role;
