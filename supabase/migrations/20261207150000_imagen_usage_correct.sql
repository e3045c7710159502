-- Correcting a ledger row of unknown cost once a reconciliation found what it cost
-- (src/core/reconcile.ts). The ledger stays append-only: the Worker's role still may not update a
-- row itself; this function (security definer, owned by the migrating role) is the one way, and
-- it changes only rows whose cost is still unknown (cost_unknown_reason set), and only the columns
-- a correction is about. A row the queue has not delivered yet is written here with its known
-- cost; the original event, arriving later, is then skipped as a duplicate. D1 does the same in
-- one statement (src/usage/d1-ledger.ts).

create or replace function mai.imagen_usage_correct(p_events jsonb)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into mai.imagen_usage (
    event_id, occurred_at, request_id, caller, source, backend, backend_type, model, model_version, seed, prompt_hash,
    width, height, images_requested, images_produced, latency_ms, cost_usd_estimate, price_id, success, error_code,
    error_message, external_id, attempt, client_request_id, ref, reserved_usd, provider_predict_time_s,
    provider_image_count, cost_unknown_reason
  )
  select
    event_id, occurred_at, request_id, caller, source, backend, backend_type, model, model_version, seed, prompt_hash,
    width, height, images_requested, images_produced, latency_ms, cost_usd_estimate, price_id, success, error_code,
    error_message, external_id, attempt, client_request_id, ref, reserved_usd, provider_predict_time_s,
    provider_image_count, cost_unknown_reason
  from jsonb_populate_recordset(null::mai.imagen_usage, p_events)
  on conflict (event_id) do update set
    cost_usd_estimate    = excluded.cost_usd_estimate,
    cost_unknown_reason  = excluded.cost_unknown_reason,
    images_produced      = excluded.images_produced,
    provider_image_count = excluded.provider_image_count,
    external_id          = excluded.external_id,
    error_message        = excluded.error_message
  where mai.imagen_usage.cost_unknown_reason is not null;
$$;

revoke execute on function mai.imagen_usage_correct(jsonb) from public, anon, authenticated;
grant execute on function mai.imagen_usage_correct(jsonb) to service_role;
