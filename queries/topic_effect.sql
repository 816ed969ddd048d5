-- topic_effect: the 每月一题 topics of the configuration, before and after: contacts per month
-- and the resolution and satisfaction rates of the topic's categories in the phase before
-- the topic month and the phase from it on, from topic_facts.sql (one row per topic, phase
-- and month with tickets). months_with_data = months of the phase with any ticket of the
-- topic (the after phase may reach past the archive's end).
WITH s AS (
  SELECT
    topic, phase,
    sum(tickets) AS tickets,
    count(*) AS months_with_data,
    sum(resolved_yes) AS resolved_yes,
    sum(resolved_answered) AS resolved_answered,
    sum(satisfied) AS satisfied,
    sum(basically_satisfied) AS basically_satisfied,
    sum(dissatisfied) AS dissatisfied
  FROM topic_facts
  GROUP BY topic, phase
)
SELECT
  s.topic, s.phase, s.tickets, s.months_with_data,
  CAST(s.tickets AS DOUBLE) / nullif(s.months_with_data, 0) AS tickets_per_month,
  CAST(s.resolved_yes AS DOUBLE) / nullif(s.resolved_answered, 0) AS resolution_rate,
  (s.satisfied * w.weight_satisfied
     + s.basically_satisfied * w.weight_basically_satisfied
     + s.dissatisfied * w.weight_dissatisfied)
    / nullif(CAST(s.satisfied + s.basically_satisfied + s.dissatisfied AS DOUBLE), 0) AS satisfaction_rate
FROM s
CROSS JOIN (SELECT * FROM score_settings WHERE unit_type = 'district') w
ORDER BY s.topic, s.phase DESC
