-- ImaGen Edge usage ledger and prices on D1, the embedded default ledger (docs/ledger.md).
-- The same tables, columns and rules as the Supabase migrations (supabase/migrations), as far as
-- SQLite allows: STRICT tables, booleans as 0/1, money as REAL, times as canonical ISO 8601 text
-- ("2026-05-04T08:00:00.000Z", checked below), so text order is time order. No legacy rows exist
-- here, so every fact an event carries is NOT NULL.

CREATE TABLE imagen_pricing (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  provider       TEXT NOT NULL CONSTRAINT imagen_pricing_provider_present CHECK (provider <> ''),
  model          TEXT NOT NULL CONSTRAINT imagen_pricing_model_present CHECK (model <> ''),
  unit           TEXT NOT NULL CONSTRAINT imagen_pricing_unit_known CHECK (unit IN ('image', 'megapixel', 'second')),
  usd_rate       REAL NOT NULL CONSTRAINT imagen_pricing_rate_non_negative CHECK (usd_rate >= 0),
  quality        TEXT CONSTRAINT imagen_pricing_quality_present CHECK (quality <> ''),
  size           TEXT CONSTRAINT imagen_pricing_size_format CHECK (size GLOB '[1-9]*x[1-9]*' AND size NOT GLOB '*[^0-9x]*' AND size NOT GLOB '*x*x*'),
  source         TEXT NOT NULL CONSTRAINT imagen_pricing_source_present CHECK (source <> ''),
  fetched_at     TEXT NOT NULL CONSTRAINT imagen_pricing_fetched_at_iso CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', fetched_at) IS fetched_at),
  effective_from TEXT NOT NULL CONSTRAINT imagen_pricing_effective_from_iso CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', effective_from) IS effective_from),
  effective_to   TEXT CONSTRAINT imagen_pricing_effective_to_iso CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', effective_to) IS effective_to),
  CONSTRAINT imagen_pricing_period CHECK (effective_to IS NULL OR effective_to > effective_from)
) STRICT;

-- At most one current row per price line.
CREATE UNIQUE INDEX imagen_pricing_one_current ON imagen_pricing
  (provider, model, unit, coalesce(quality, ''), coalesce(size, ''))
  WHERE effective_to IS NULL;

CREATE INDEX imagen_pricing_history ON imagen_pricing (provider, model, effective_from DESC);

CREATE TABLE imagen_pricing_held (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  provider    TEXT NOT NULL CONSTRAINT imagen_pricing_held_provider_present CHECK (provider <> ''),
  model       TEXT NOT NULL CONSTRAINT imagen_pricing_held_model_present CHECK (model <> ''),
  unit        TEXT NOT NULL CONSTRAINT imagen_pricing_held_unit_known CHECK (unit IN ('image', 'megapixel', 'second')),
  quality     TEXT CONSTRAINT imagen_pricing_held_quality_present CHECK (quality <> ''),
  size        TEXT CONSTRAINT imagen_pricing_held_size_format CHECK (size GLOB '[1-9]*x[1-9]*' AND size NOT GLOB '*[^0-9x]*' AND size NOT GLOB '*x*x*'),
  old_rate    REAL CONSTRAINT imagen_pricing_held_old_rate_non_negative CHECK (old_rate >= 0),
  new_rate    REAL NOT NULL CONSTRAINT imagen_pricing_held_new_rate_non_negative CHECK (new_rate >= 0),
  source      TEXT NOT NULL CONSTRAINT imagen_pricing_held_source_present CHECK (source <> ''),
  reason      TEXT NOT NULL CONSTRAINT imagen_pricing_held_reason_present CHECK (reason <> ''),
  detected_at TEXT NOT NULL CONSTRAINT imagen_pricing_held_detected_at_iso CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', detected_at) IS detected_at)
) STRICT;

-- The same proposed rate for the same line is held once (SQLite has no NULLS NOT DISTINCT).
CREATE UNIQUE INDEX imagen_pricing_held_once ON imagen_pricing_held
  (provider, model, unit, coalesce(quality, ''), coalesce(size, ''), new_rate);

CREATE TABLE imagen_pricing_runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at  TEXT NOT NULL CONSTRAINT imagen_pricing_runs_started_at_iso CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', started_at) IS started_at),
  finished_at TEXT NOT NULL CONSTRAINT imagen_pricing_runs_finished_at_iso CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', finished_at) IS finished_at),
  ok          INTEGER NOT NULL CONSTRAINT imagen_pricing_runs_ok_boolean CHECK (ok IN (0, 1)),
  report      TEXT NOT NULL CONSTRAINT imagen_pricing_runs_report_json CHECK (json_valid(report)),
  CONSTRAINT imagen_pricing_runs_order CHECK (finished_at >= started_at)
) STRICT;

CREATE INDEX imagen_pricing_runs_recent ON imagen_pricing_runs (started_at DESC, id DESC);

CREATE TABLE imagen_usage (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  backend           TEXT NOT NULL,
  model             TEXT NOT NULL,
  seed              INTEGER CONSTRAINT imagen_usage_seed_non_negative CHECK (seed >= 0),
  prompt_hash       TEXT NOT NULL CONSTRAINT imagen_usage_prompt_hash_sha256
                      CHECK (length(prompt_hash) = 64 AND prompt_hash NOT GLOB '*[^0-9a-f]*'),
  latency_ms        INTEGER NOT NULL CONSTRAINT imagen_usage_latency_non_negative CHECK (latency_ms >= 0),
  cost_usd_estimate REAL CONSTRAINT imagen_usage_cost_non_negative CHECK (cost_usd_estimate >= 0),
  caller            TEXT NOT NULL,
  -- The idempotency key: the queue may deliver an event twice, the ledger keeps one row.
  event_id          TEXT NOT NULL UNIQUE CONSTRAINT imagen_usage_event_id_present CHECK (event_id <> ''),
  occurred_at       TEXT NOT NULL CONSTRAINT imagen_usage_occurred_at_iso
                      CHECK (strftime('%Y-%m-%dT%H:%M:%fZ', occurred_at) IS occurred_at),
  request_id        TEXT NOT NULL,
  source            TEXT,
  backend_type      TEXT NOT NULL,
  model_version     TEXT,
  width             INTEGER NOT NULL,
  height            INTEGER NOT NULL,
  images_requested  INTEGER NOT NULL,
  images_produced   INTEGER NOT NULL,
  success           INTEGER NOT NULL CONSTRAINT imagen_usage_success_boolean CHECK (success IN (0, 1)),
  error_code        TEXT,
  error_message     TEXT,
  external_id       TEXT,
  attempt           INTEGER NOT NULL CONSTRAINT imagen_usage_attempt_positive CHECK (attempt >= 1),
  price_id          INTEGER REFERENCES imagen_pricing (id),
  CONSTRAINT imagen_usage_names_present
    CHECK (backend <> '' AND model <> '' AND backend_type <> '' AND caller <> '' AND request_id <> ''),
  -- A success carries no error, a failure names its error code.
  CONSTRAINT imagen_usage_outcome CHECK (
    (success = 1 AND error_code IS NULL AND error_message IS NULL)
    OR (success = 0 AND error_code IS NOT NULL AND error_code <> '')
  ),
  CONSTRAINT imagen_usage_success_has_images CHECK (success = 0 OR images_produced >= 1),
  CONSTRAINT imagen_usage_image_counts CHECK (images_requested >= 1 AND images_produced >= 0),
  CONSTRAINT imagen_usage_size_positive CHECK (width > 0 AND height > 0),
  CONSTRAINT imagen_usage_priced_estimate CHECK (price_id IS NULL OR cost_usd_estimate IS NOT NULL)
) STRICT;

CREATE INDEX imagen_usage_created_at_idx ON imagen_usage (created_at DESC);
CREATE INDEX imagen_usage_caller_idx ON imagen_usage (caller);
CREATE INDEX imagen_usage_occurred ON imagen_usage (occurred_at DESC, id DESC);
CREATE INDEX imagen_usage_caller_occurred ON imagen_usage (caller, occurred_at DESC);
CREATE INDEX imagen_usage_failures ON imagen_usage (occurred_at DESC, id DESC) WHERE success = 0;
