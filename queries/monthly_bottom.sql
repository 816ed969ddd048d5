-- monthly_bottom: the bottom $bottom_n units of each month within their ranking group, for
-- the unit types of the watch list (table watch_types; by default streets, as Beijing's
-- 治理类街乡 list). Table period_scores holds unit_scores.sql; its 'month' bucket has every
-- single month (rates from that month's counts, same weights and minimum sample).
--
--   bottom_rank = competition rank by score ascending among the month's ranked units, so
--                 ties at the boundary are all included (the list can be longer than N)
WITH ranked AS (
  SELECT
    m.period_start AS month, m.unit_type, m.unit_group, m.unit, m.parent, m.score, m.scored_tickets,
    rank() OVER (PARTITION BY m.period_start, m.unit_type, m.unit_group ORDER BY m.score ASC) AS bottom_rank
  FROM period_scores m
  JOIN watch_types w ON w.unit_type = m.unit_type
  WHERE m.bucket = 'month' AND m.rank IS NOT NULL
)
SELECT month, unit_type, unit_group, unit, parent, score, scored_tickets, bottom_rank
FROM ranked
WHERE bottom_rank <= $bottom_n
ORDER BY month, unit_type, unit_group, bottom_rank, unit, parent
