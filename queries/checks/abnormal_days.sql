-- check: abnormal_days
-- severity: warn
-- description: a day with more than 3 times or less than a third of the median daily volume (an outage, a double load, a holiday)
WITH d AS (
  SELECT CAST(date_trunc('day', received_at) AS DATE) AS day, count(*) AS tickets
  FROM checked
  GROUP BY 1
), m AS (
  SELECT median(tickets) AS median_tickets FROM d
)
SELECT d.day, d.tickets, m.median_tickets
FROM d CROSS JOIN m
WHERE d.tickets > 3 * m.median_tickets OR d.tickets * 3 < m.median_tickets
ORDER BY d.day
