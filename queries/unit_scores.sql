-- unit_scores: the four rates, composite score and rank of every unit in each period of the
-- table period_months (bucket, period_start, period_end, month): the report's period (bucket 'current'),
-- the previous period ('previous'), the same period a year earlier ('year_earlier') and every
-- single month of the scanned range ('month'), all in one pass over unit_month. A period's
-- months are [period_start, period_end). Settings come from the table score_settings (one row
-- per unit type: composite weights, satisfaction weights per level, min_scored_tickets), built
-- from the configuration, so this file holds the formulas and nothing else.
--
--   response_rate     = responded_on_time / scored
--   resolution_rate   = resolved_yes / resolved_answered
--   satisfaction_rate = Σ weight(level) × count(level) / count(answered)
--   on_time_rate      = closed_on_time / scored
--   score             = 100 × Σ w·rate / Σ w over the rates that exist (re-normalised when a
--                       rate has an empty denominator; score_reweighted says so)
--   rank              = competition rank (1, 2, 2, 4) by score within the period and the unit's ranking group
--                       (table unit_groups: district, street, and for departments municipal /
--                       enterprise / street_office), among units with at least
--                       min_scored_tickets scored tickets
-- An empty denominator gives NULL, never 0 and never NaN. When no scored ticket of the scanned
-- range has a first-contact time (an archive without that column, e.g. imported 311 data), the
-- response rate is NULL ("not available") for every unit, not 0.
WITH avail AS (
  SELECT coalesce(sum(responded_known), 0) > 0 AS has_response FROM unit_month
), s AS (
  SELECT
    p.bucket, p.period_start, m.unit_type, m.unit, m.parent,
    sum(tickets) AS tickets,
    sum(dispatched) AS dispatched,
    sum(scored) AS scored_tickets,
    sum(responded_on_time) AS responded_on_time,
    sum(closed_on_time) AS closed_on_time,
    sum(resolved_yes) AS resolved_yes,
    sum(resolved_answered) AS resolved_answered,
    sum(satisfied) AS satisfied,
    sum(basically_satisfied) AS basically_satisfied,
    sum(dissatisfied) AS dissatisfied
  FROM unit_month m
  -- period_months: one row per (period, month of it), so this is an equality join
  JOIN period_months p ON m.month = p.month
  GROUP BY p.bucket, p.period_start, m.unit_type, m.unit, m.parent
), r AS (
  SELECT
    s.*,
    coalesce(g.unit_group, s.unit_type) AS unit_group,
    w.w_response, w.w_resolution, w.w_satisfaction, w.min_scored_tickets,
    CASE WHEN avail.has_response THEN CAST(s.responded_on_time AS DOUBLE) / nullif(s.scored_tickets, 0) END AS response_rate,
    CAST(s.resolved_yes AS DOUBLE) / nullif(s.resolved_answered, 0) AS resolution_rate,
    (s.satisfied * w.weight_satisfied
       + s.basically_satisfied * w.weight_basically_satisfied
       + s.dissatisfied * w.weight_dissatisfied)
      / nullif(CAST(s.satisfied + s.basically_satisfied + s.dissatisfied AS DOUBLE), 0) AS satisfaction_rate,
    CAST(s.closed_on_time AS DOUBLE) / nullif(s.scored_tickets, 0) AS on_time_rate
  FROM s
  CROSS JOIN avail
  JOIN score_settings w ON w.unit_type = s.unit_type
  LEFT JOIN unit_groups g ON g.unit_type = s.unit_type AND g.unit = s.unit
), sc AS (
  SELECT
    r.*,
    100.0 * (coalesce(w_response * response_rate, 0.0)
           + coalesce(w_resolution * resolution_rate, 0.0)
           + coalesce(w_satisfaction * satisfaction_rate, 0.0))
      / nullif(CASE WHEN response_rate IS NULL THEN 0.0 ELSE w_response END
             + CASE WHEN resolution_rate IS NULL THEN 0.0 ELSE w_resolution END
             + CASE WHEN satisfaction_rate IS NULL THEN 0.0 ELSE w_satisfaction END, 0.0) AS score,
    (response_rate IS NULL OR resolution_rate IS NULL OR satisfaction_rate IS NULL) AS score_reweighted
  FROM r
), ranked AS (
  SELECT
    sc.*,
    (score IS NOT NULL AND scored_tickets >= min_scored_tickets) AS ranked
  FROM sc
)
SELECT
  bucket, period_start,
  unit_type, unit_group, unit, parent,
  tickets, dispatched, scored_tickets,
  responded_on_time, closed_on_time, resolved_yes, resolved_answered,
  satisfied, basically_satisfied, dissatisfied,
  response_rate, resolution_rate, satisfaction_rate, on_time_rate,
  score,
  CASE WHEN score IS NULL THEN false ELSE score_reweighted END AS score_reweighted,
  CASE WHEN ranked THEN rank() OVER (PARTITION BY bucket, period_start, unit_type, unit_group, ranked ORDER BY score DESC) END AS rank
FROM ranked
ORDER BY bucket, period_start, unit_type, unit_group, rank NULLS LAST, unit, parent
