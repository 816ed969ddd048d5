-- check: abnormal_days
-- severity: warn
-- description: a day with more than 3 times or less than a third of the median daily volume (an outage, a double load, a holiday)
WITH d AS (
  SELECT CAST(date_trunc('day', received_at) AS DATE) AS day, count(*) AS tickets
  FROM checked
  GROUP BY 1
), m AS (
  -- a window over d, so the daily counts are computed once
  SELECT day, tickets, median(tickets) OVER () AS median_tickets FROM d
)
SELECT day, tickets, median_tickets
FROM m
WHERE tickets > 3 * median_tickets OR tickets * 3 < median_tickets
ORDER BY day
