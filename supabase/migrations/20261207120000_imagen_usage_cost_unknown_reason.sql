-- Why an attempt's cost is unknown (docs/ledger.md), the same as
-- migrations/d1/0005_usage_cost_unknown_reason.sql. An attempt that may have been accepted and
-- billed without anyone knowing (its answer was lost after the request was sent:
-- "ambiguous_create"; the process restarted after the call went out: "restarted_after_send") is
-- ledgered with cost_usd_estimate NULL and this reason, never as a cost of 0. NULL on every other
-- row, and on rows written before this migration.
alter table mai.imagen_usage
  add column if not exists cost_unknown_reason text;

alter table mai.imagen_usage
  add constraint imagen_usage_cost_unknown_reason_length check (length(cost_unknown_reason) between 1 and 64);
