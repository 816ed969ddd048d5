-- topic_effect: the 每月一题 topics of the configuration, before and after: contacts per month
-- and the resolution and satisfaction rates of the topic's categories in the phase before
-- the topic month and the phase from it on. Table topics (from the configuration): topic,
-- category (a level-1, 2 or 3 name; a ticket matches when any of its levels equals it),
-- before_start, before_end, after_start, after_end. A ticket counts once per topic even when
-- it matches two of its categories. months_with_data = months of the phase with any ticket
-- of the topic (the after phase may reach past the archive's end).
WITH m AS (
  SELECT DISTINCT
    p.topic, t.ticket_id, t.received_at, date_trunc('month', t.received_at) AS month,
    CASE WHEN t.received_at >= p.after_start THEN 'after' ELSE 'before' END AS phase,
    t.dispatched_at IS NOT NULL AND x.reason IS NULL AS is_scored,
    t.resolved, t.satisfaction
  FROM tickets t
  JOIN topics p
    ON (t.category_l1 = p.category OR t.category_l2 = p.category OR t.category_l3 = p.category)
   AND t.received_at >= p.before_start AND t.received_at < p.after_end
   AND (t.received_at < p.before_end OR t.received_at >= p.after_start)
  LEFT JOIN excluded_reasons x ON t.excluded_reason = x.reason
), s AS (
  SELECT
    topic, phase,
    count(*) AS tickets,
    count(DISTINCT month) AS months_with_data,
    sum(CASE WHEN is_scored AND resolved THEN 1 ELSE 0 END) AS resolved_yes,
    sum(CASE WHEN is_scored AND resolved IS NOT NULL THEN 1 ELSE 0 END) AS resolved_answered,
    sum(CASE WHEN is_scored AND satisfaction = 'satisfied' THEN 1 ELSE 0 END) AS satisfied,
    sum(CASE WHEN is_scored AND satisfaction = 'basically_satisfied' THEN 1 ELSE 0 END) AS basically_satisfied,
    sum(CASE WHEN is_scored AND satisfaction = 'dissatisfied' THEN 1 ELSE 0 END) AS dissatisfied
  FROM m
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
