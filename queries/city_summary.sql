-- city_summary: city-wide volume and rates over the months [$start, $end), from ticket_facts.
-- Includes tickets whose district, street or department is null (they belong to no unit but
-- are part of the city's work). Satisfaction weights: the district row of score_settings
-- (they are the same for every unit type). Population: the district rows of the population
-- table (null when it has none); tickets_per_1000 = tickets ÷ population × 1000.
WITH s AS (
  SELECT
    sum(tickets) AS tickets,
    sum(dispatched) AS dispatched,
    sum(scored) AS scored_tickets,
    sum(responded_on_time) AS responded_on_time,
    sum(closed_on_time) AS closed_on_time,
    sum(resolved_yes) AS resolved_yes,
    sum(resolved_answered) AS resolved_answered,
    sum(satisfied) AS satisfied,
    sum(basically_satisfied) AS basically_satisfied,
    sum(dissatisfied) AS dissatisfied,
    count(DISTINCT month) AS months
  FROM ticket_facts
  WHERE month >= $start AND month < $end
)
SELECT
  coalesce(s.tickets, 0) AS tickets,
  coalesce(s.dispatched, 0) AS dispatched,
  coalesce(s.scored_tickets, 0) AS scored_tickets,
  CAST(s.responded_on_time AS DOUBLE) / nullif(s.scored_tickets, 0) AS response_rate,
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
CROSS JOIN (SELECT * FROM score_settings WHERE unit_type = 'district') w
CROSS JOIN (SELECT sum(population) AS population FROM population WHERE street IS NULL) p
