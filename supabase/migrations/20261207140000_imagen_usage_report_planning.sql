-- The usage reports plan their filters with the filter's values (docs/ledger.md, "Reports at scale").
--
-- Two things made every filtered report a full scan of mai.imagen_usage on Postgres <= 17:
--   1. mai.imagen_usage_filtered carried `set search_path = ''`. A SQL function with a SET clause is
--      never inlined, so its body ran as a separate query whose parameters had no values when it was
--      planned: "(p_caller is null or caller = p_caller)" cannot use an index that way. (Postgres 18,
--      which PGlite embeds, plans SQL function bodies with their values and hid this.)
--   2. PL/pgSQL caches the plan of each statement in a function; after five calls it may switch to
--      one generic plan for all values, which again cannot use the indexes for optional filters.
-- So the filter function loses its SET clause (it is plain SQL, security invoker, and names every
-- object with its schema, so the caller's search_path cannot redirect it; the report functions that
-- inline it keep theirs), and the report functions always plan each call for its own values. A
-- custom plan costs a planning per call (well under a millisecond here), which the optional filters
-- repay many times over.

alter function mai.imagen_usage_filtered(date, date, text, text, text) reset search_path;

alter function mai.imagen_usage_report(date, date, text, text[], text, text)
  set plan_cache_mode = force_custom_plan;
alter function mai.imagen_usage_raw(date, date, text, integer, timestamptz, bigint, text, text)
  set plan_cache_mode = force_custom_plan;
alter function mai.imagen_usage_summary(date, date, text, integer, text, text)
  set plan_cache_mode = force_custom_plan;
