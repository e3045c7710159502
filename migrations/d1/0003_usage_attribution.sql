-- Attribution and reconciliation columns on the usage ledger (docs/ledger.md), the same as
-- supabase/migrations/20261130120000_imagen_usage_attribution.sql. All nullable: rows written
-- before this migration, and events queued by an older Worker, simply lack them.
--   client_request_id  the caller's own X-Request-Id (correlation; request_id stays ours and unique)
--   ref                a caller-chosen attribution, e.g. a post id ("what did post X cost?")
--   reserved_usd       the spend guard's reservation for the attempt
--   provider_predict_time_s, provider_image_count   what the provider itself reported

ALTER TABLE imagen_usage ADD COLUMN client_request_id TEXT
  CONSTRAINT imagen_usage_client_request_id_length CHECK (length(client_request_id) BETWEEN 1 AND 128);
ALTER TABLE imagen_usage ADD COLUMN ref TEXT
  CONSTRAINT imagen_usage_ref_length CHECK (length(ref) BETWEEN 1 AND 200);
ALTER TABLE imagen_usage ADD COLUMN reserved_usd REAL
  CONSTRAINT imagen_usage_reserved_non_negative CHECK (reserved_usd >= 0);
ALTER TABLE imagen_usage ADD COLUMN provider_predict_time_s REAL
  CONSTRAINT imagen_usage_predict_time_non_negative CHECK (provider_predict_time_s >= 0);
ALTER TABLE imagen_usage ADD COLUMN provider_image_count INTEGER
  CONSTRAINT imagen_usage_provider_images_non_negative CHECK (provider_image_count >= 0);

-- "What did post X cost?" reads one ref over time; a caller looks up its own correlation id.
CREATE INDEX imagen_usage_ref_occurred ON imagen_usage (ref, occurred_at DESC) WHERE ref IS NOT NULL;
CREATE INDEX imagen_usage_client_request ON imagen_usage (caller, client_request_id) WHERE client_request_id IS NOT NULL;
