-- Who may touch the ledger through the Data API (PostgREST). The Worker uses the secret key
-- (role service_role, which bypasses row level security); anon and authenticated get nothing.
--
-- Grants name ImaGen Edge's objects one by one: the mai schema is shared with other mAi
-- projects, so nothing here changes their tables.

-- PostgREST needs USAGE on an exposed schema for every API role, even roles that may not read it.
grant usage on schema mai to anon, authenticated, service_role;

-- Row level security on, no policies: even a table granted to anon by mistake returns no rows.
alter table mai.imagen_usage         enable row level security;
alter table mai.imagen_pricing       enable row level security;
alter table mai.imagen_pricing_held  enable row level security;
alter table mai.imagen_pricing_runs  enable row level security;

revoke all on mai.imagen_usage, mai.imagen_pricing, mai.imagen_pricing_held, mai.imagen_pricing_runs
  from anon, authenticated, service_role;

-- The ledger is append-only: the Worker inserts and reads, it never updates or deletes a row.
grant select, insert on mai.imagen_usage to service_role;
-- Prices change only through imagen_pricing_apply (security invoker): insert a row, close the old one.
grant select, insert on mai.imagen_pricing to service_role;
grant update (effective_to) on mai.imagen_pricing to service_role;
grant select, insert on mai.imagen_pricing_held, mai.imagen_pricing_runs to service_role;

grant usage, select on sequence
  mai.imagen_usage_id_seq, mai.imagen_pricing_id_seq, mai.imagen_pricing_held_id_seq, mai.imagen_pricing_runs_id_seq
  to service_role;

-- Functions are executable by PUBLIC by default in Postgres; these are for the Worker only.
revoke execute on function
  mai.imagen_usage_check_filter(date, date),
  mai.imagen_usage_filtered(date, date, text),
  mai.imagen_usage_report(date, date, text, text[]),
  mai.imagen_usage_raw(date, date, text, integer, timestamptz, bigint),
  mai.imagen_usage_summary(date, date, text, integer),
  mai.imagen_pricing_apply(text, text, text, text, text, numeric, text, timestamptz, timestamptz)
  from public, anon, authenticated;
grant execute on function
  mai.imagen_usage_check_filter(date, date),
  mai.imagen_usage_filtered(date, date, text),
  mai.imagen_usage_report(date, date, text, text[]),
  mai.imagen_usage_raw(date, date, text, integer, timestamptz, bigint),
  mai.imagen_usage_summary(date, date, text, integer),
  mai.imagen_pricing_apply(text, text, text, text, text, numeric, text, timestamptz, timestamptz)
  to service_role;

-- Objects created later in mai by the migrating role reach the Worker's role without another
-- grant migration (Supabase's advice for exposed schemas), and never anon. Per-schema defaults
-- can only add to Postgres' global ones, so a new function must still revoke PUBLIC itself.
alter default privileges in schema mai grant select, insert on tables to service_role;
alter default privileges in schema mai grant usage, select on sequences to service_role;
alter default privileges in schema mai grant execute on functions to service_role;
