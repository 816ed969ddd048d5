-- topic_facts: the tickets of each 每月一题 topic of the configuration per phase and month:
-- the phase before the topic month and the phase from it on (topic_effect.sql compares them).
-- Table topics (from the configuration): topic, category (a level-1, 2 or 3 name; a ticket
-- matches when any of its levels equals it), before_start, before_end, after_start, after_end.
-- A ticket counts once per topic even when it matches two of its categories. Scored as in
-- ticket_facts.sql (dispatched, and no configured excluded_reason).
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
)
SELECT
  topic, phase, month,
  count(*) AS tickets,
  count(*) FILTER (WHERE is_scored AND resolved) AS resolved_yes,
  count(*) FILTER (WHERE is_scored AND resolved IS NOT NULL) AS resolved_answered,
  count(*) FILTER (WHERE is_scored AND satisfaction = 'satisfied') AS satisfied,
  count(*) FILTER (WHERE is_scored AND satisfaction = 'basically_satisfied') AS basically_satisfied,
  count(*) FILTER (WHERE is_scored AND satisfaction = 'dissatisfied') AS dissatisfied
FROM m
GROUP BY topic, phase, month
