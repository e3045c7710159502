-- Why an attempt's cost is unknown (docs/ledger.md), the same as
-- supabase/migrations/20261207120000_imagen_usage_cost_unknown_reason.sql. An attempt that may
-- have been accepted and billed without anyone knowing (its answer was lost after the request was
-- sent: "ambiguous_create"; the process restarted after the call went out: "restarted_after_send")
-- is ledgered with cost_usd_estimate NULL and this reason, never as a cost of 0. NULL on every
-- other row, and on rows written before this migration.
ALTER TABLE imagen_usage ADD COLUMN cost_unknown_reason TEXT
  CONSTRAINT imagen_usage_cost_unknown_reason_length CHECK (length(cost_unknown_reason) BETWEEN 1 AND 64);
