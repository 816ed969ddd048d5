-- city_summary: city-wide volume and rates for every period of the table periods (bucket,
-- period_start, period_end): the report's period ('current'), the previous period, the same
-- period a year earlier and each single month of the scanned range ('month'), from
-- city_month (every ticket, with or without a unit) in one pass. A period with no tickets
-- still gets its row (counts 0, rates null). Satisfaction weights: the district row of score_settings
-- (they are the same for every unit type). Population: the district rows of the population
-- table (null when it has none); tickets_per_1000 = tickets ÷ population × 1000.
WITH avail AS (
  -- as in unit_scores.sql: no first-contact time anywhere → response rate not available
  SELECT coalesce(sum(responded_known), 0) > 0 AS has_response FROM city_month
), s AS (
  SELECT
    p.bucket, p.period_start,
    sum(f.tickets) AS tickets,
    sum(f.dispatched) AS dispatched,
    sum(f.scored) AS scored_tickets,
    sum(f.responded_on_time) AS responded_on_time,
    sum(f.closed_on_time) AS closed_on_time,
    sum(f.resolved_yes) AS resolved_yes,
    sum(f.resolved_answered) AS resolved_answered,
    sum(f.satisfied) AS satisfied,
    sum(f.basically_satisfied) AS basically_satisfied,
    sum(f.dissatisfied) AS dissatisfied,
    count(DISTINCT f.month) AS months
  FROM periods p
  LEFT JOIN city_month f ON f.month >= p.period_start AND f.month < p.period_end
  GROUP BY p.bucket, p.period_start
)
SELECT
  s.bucket,
  s.period_start,
  coalesce(s.tickets, 0) AS tickets,
  coalesce(s.dispatched, 0) AS dispatched,
  coalesce(s.scored_tickets, 0) AS scored_tickets,
  CASE WHEN avail.has_response THEN CAST(s.responded_on_time AS DOUBLE) / nullif(s.scored_tickets, 0) END AS response_rate,
  CAST(s.resolved_yes AS DOUBLE) / nullif(s.resolved_answered, 0) AS resolution_rate,
  (s.satisfied * w.weight_satisfied
     + s.basically_satisfied * w.weight_basically_satisfied
     + s.dissatisfied * w.weight_dissatisfied)
    / nullif(CAST(s.satisfied + s.basically_satisfied + s.dissatisfied AS DOUBLE), 0) AS satisfaction_rate,
  CAST(s.closed_on_time AS DOUBLE) / nullif(s.scored_tickets, 0) AS on_time_rate,
  s.months,
  p.population,
  CAST(coalesce(s.tickets, 0) AS DOUBLE) / nullif(CAST(p.population AS DOUBLE), 0.0) * 1000.0 AS tickets_per_1000
FROM s
CROSS JOIN avail
CROSS JOIN (SELECT * FROM score_settings WHERE unit_type = 'district') w
CROSS JOIN (SELECT sum(population) AS population FROM population WHERE street IS NULL) p
ORDER BY s.bucket, s.period_start
