-- unit_report: one row per unit of the period — the rates and rank of unit_scores.sql, plus
-- what puts them in context. Tables (each the result of another file in queries/):
--   period_scores  unit_scores.sql: buckets 'current' (the period), 'previous' (the period
--       before it: previous month / quarter / year) and 'year_earlier' (a year earlier)
--   durations    unit_durations.sql       watch    watch_list.sql
--   population   the population table from the configuration (district, street, population;
--                street null on a district's own row)
--
--   tickets_per_1000    = tickets ÷ population × 1000          (districts and streets)
--   *_change_prev       = value − value in the previous period (tickets: relative change)
--   *_change_yoy        = value − value a year earlier          (tickets: relative change)
--   rank_movement       = previous rank − rank: positive = moved up (only when both ranked)
--   bottom_months, bottom_longest_run, watch_list: from watch_list.sql (table watch_types
--                         says which unit types have a watch list)
WITH keyed AS (
  SELECT s.*, coalesce(s.parent, '') AS pkey FROM period_scores s WHERE bucket = 'current'
), prev AS (
  SELECT unit_type, unit, coalesce(parent, '') AS pkey, tickets, score, rank
  FROM period_scores WHERE bucket = 'previous'
), yoy AS (
  SELECT unit_type, unit, coalesce(parent, '') AS pkey, tickets, score, rank
  FROM period_scores WHERE bucket = 'year_earlier'
), d AS (
  SELECT unit_type, unit, coalesce(parent, '') AS pkey, respond_hours_median, respond_hours_p90,
         close_hours_median, close_hours_p90
  FROM durations
), w AS (
  SELECT unit_type, unit, coalesce(parent, '') AS pkey, bottom_months, longest_run, watch_list FROM watch
), pop AS (
  SELECT 'district' AS unit_type, district AS unit, '' AS pkey, population FROM population WHERE street IS NULL
  UNION ALL
  SELECT 'street' AS unit_type, street AS unit, district AS pkey, population FROM population WHERE street IS NOT NULL
)
SELECT
  k.unit_type, k.unit_group, k.unit, k.parent,
  k.tickets, k.dispatched, k.scored_tickets,
  k.responded_on_time, k.closed_on_time, k.resolved_yes, k.resolved_answered,
  k.satisfied, k.basically_satisfied, k.dissatisfied,
  k.response_rate, k.resolution_rate, k.satisfaction_rate, k.on_time_rate,
  k.score, k.score_reweighted, k.rank,
  pop.population,
  CAST(k.tickets AS DOUBLE) / nullif(CAST(pop.population AS DOUBLE), 0.0) * 1000.0 AS tickets_per_1000,
  d.respond_hours_median, d.respond_hours_p90, d.close_hours_median, d.close_hours_p90,
  prev.tickets AS tickets_previous,
  CAST(k.tickets AS DOUBLE) / nullif(CAST(prev.tickets AS DOUBLE), 0.0) - 1.0 AS tickets_change_prev,
  prev.score AS score_previous,
  k.score - prev.score AS score_change_prev,
  prev.rank AS rank_previous,
  CAST(prev.rank AS BIGINT) - CAST(k.rank AS BIGINT) AS rank_movement,
  yoy.tickets AS tickets_year_earlier,
  CAST(k.tickets AS DOUBLE) / nullif(CAST(yoy.tickets AS DOUBLE), 0.0) - 1.0 AS tickets_change_yoy,
  yoy.score AS score_year_earlier,
  k.score - yoy.score AS score_change_yoy,
  -- watch-list columns exist for the watch-list unit types only (null for the others)
  CASE WHEN wt.unit_type IS NOT NULL THEN coalesce(w.bottom_months, 0) END AS bottom_months,
  CASE WHEN wt.unit_type IS NOT NULL THEN coalesce(w.longest_run, 0) END AS bottom_longest_run,
  coalesce(w.watch_list, false) AS watch_list
FROM keyed k
LEFT JOIN prev ON prev.unit_type = k.unit_type AND prev.unit = k.unit AND prev.pkey = k.pkey
LEFT JOIN yoy ON yoy.unit_type = k.unit_type AND yoy.unit = k.unit AND yoy.pkey = k.pkey
LEFT JOIN d ON d.unit_type = k.unit_type AND d.unit = k.unit AND d.pkey = k.pkey
LEFT JOIN w ON w.unit_type = k.unit_type AND w.unit = k.unit AND w.pkey = k.pkey
LEFT JOIN pop ON pop.unit_type = k.unit_type AND pop.unit = k.unit AND pop.pkey = k.pkey
LEFT JOIN watch_types wt ON wt.unit_type = k.unit_type
