-- category_trend: tickets of one category per month, with the share of all tickets
-- param category: a category name at any level (category_l1, _l2 or _l3), e.g. 冬季采暖
WITH m AS (
  SELECT
    date_trunc('month', received_at) AS month,
    count(*) AS all_tickets,
    sum(CASE WHEN $category IN (category_l1, category_l2, category_l3) THEN 1 ELSE 0 END) AS tickets
  FROM tickets
  GROUP BY 1
)
SELECT
  CAST(CAST(month AS DATE) AS VARCHAR) AS month,
  tickets,
  round(CAST(tickets AS DOUBLE) / all_tickets, 4) AS share
FROM m
ORDER BY m.month
