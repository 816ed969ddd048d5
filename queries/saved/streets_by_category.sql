-- streets_by_category: the streets with the most tickets of one category in a period
-- param category: a category name at any level (category_l1, _l2 or _l3), e.g. 冬季采暖
-- param period: 2025, 2025Q4, 2025-12 (binds $period_start and $period_end)
SELECT
  district,
  street,
  count(*) AS tickets,
  count(dispatched_at) AS dispatched,
  round(avg(CASE WHEN resolved THEN 1.0 WHEN NOT resolved THEN 0.0 END), 4) AS resolved_share
FROM tickets
WHERE $category IN (category_l1, category_l2, category_l3)
  AND received_at >= $period_start AND received_at < $period_end
  AND street IS NOT NULL
GROUP BY district, street
ORDER BY tickets DESC, district, street
LIMIT 20
