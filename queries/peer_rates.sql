-- peer_rates: each ranking group taken as a whole in the report's period — the "peers" a
-- unit report compares a unit with (all districts; all streets; municipal departments;
-- public-service enterprises; street offices). Rates are summed numerators over summed
-- denominators of the group's units (from period_scores, bucket 'current'), the same
-- formulas as unit_scores.sql, so a group rate is the rate of all the group's tickets
-- together, not an average of unit rates. units = units with tickets; ranked = units ranked.
WITH g AS (
  SELECT
    unit_type, unit_group,
    count(*) AS units,
    count(rank) AS ranked,
    sum(tickets) AS tickets,
    sum(scored_tickets) AS scored_tickets,
    sum(responded_on_time) AS responded_on_time,
    count(response_rate) AS with_response_rate,
    sum(closed_on_time) AS closed_on_time,
    sum(resolved_yes) AS resolved_yes,
    sum(resolved_answered) AS resolved_answered,
    sum(satisfied) AS satisfied,
    sum(basically_satisfied) AS basically_satisfied,
    sum(dissatisfied) AS dissatisfied,
    median(score) AS median_score
  FROM period_scores
  WHERE bucket = 'current'
  GROUP BY unit_type, unit_group
)
SELECT
  g.unit_type, g.unit_group, g.units, g.ranked, g.tickets, g.scored_tickets,
  -- not available when no unit has one (no first-contact times in the archive)
  CASE WHEN g.with_response_rate > 0 THEN CAST(g.responded_on_time AS DOUBLE) / nullif(g.scored_tickets, 0) END AS response_rate,
  CAST(g.resolved_yes AS DOUBLE) / nullif(g.resolved_answered, 0) AS resolution_rate,
  (g.satisfied * w.weight_satisfied
     + g.basically_satisfied * w.weight_basically_satisfied
     + g.dissatisfied * w.weight_dissatisfied)
    / nullif(CAST(g.satisfied + g.basically_satisfied + g.dissatisfied AS DOUBLE), 0) AS satisfaction_rate,
  CAST(g.closed_on_time AS DOUBLE) / nullif(g.scored_tickets, 0) AS on_time_rate,
  g.median_score
FROM g
JOIN score_settings w ON w.unit_type = g.unit_type
ORDER BY g.unit_type, g.unit_group
