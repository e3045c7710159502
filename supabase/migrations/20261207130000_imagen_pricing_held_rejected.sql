-- An operator can reject a held price change (POST /v1/pricing/held/{id}/reject; docs/pricing.md,
-- "Held changes"). A rejected proposal is neither approvable nor proposed again while the source
-- keeps publishing the same rate; a refresh that reads another rate supersedes it as usual, and a
-- re-proposal of the rejected rate after that clears rejected_at (the refresh's upsert sends it
-- as null). Same column as migrations/d1/0006_pricing_held_rejected.sql.

alter table mai.imagen_pricing_held
  add column rejected_at timestamptz;

comment on column mai.imagen_pricing_held.rejected_at is
  'When an operator rejected this proposal; it is not approvable and not proposed again for the same rate. Null while not rejected.';

grant update (rejected_at) on mai.imagen_pricing_held to service_role;

-- As in 20261130151000_imagen_pricing_held_superseded.sql, and a rejected proposal does not stand either.
create or replace function mai.imagen_pricing_approve_held(p_id bigint, p_effective_from timestamptz)
returns setof mai.imagen_pricing
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  v_held mai.imagen_pricing_held;
begin
  select * into v_held from mai.imagen_pricing_held h
  where h.id = p_id and h.superseded_at is null and h.rejected_at is null
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

-- Mark a standing proposal rejected at p_at. False when it does not stand (unknown id, superseded,
-- or already rejected): the caller answers 404/409.
create function mai.imagen_pricing_reject_held(p_id bigint, p_at timestamptz)
returns boolean
language sql volatile security invoker set search_path = ''
as $$
  with rejected as (
    update mai.imagen_pricing_held h set rejected_at = p_at
    where h.id = p_id and h.superseded_at is null and h.rejected_at is null
    returning h.id
  )
  select exists (select 1 from rejected);
$$;

revoke execute on function mai.imagen_pricing_reject_held(bigint, timestamptz) from public, anon, authenticated;
grant execute on function mai.imagen_pricing_reject_held(bigint, timestamptz) to service_role;
