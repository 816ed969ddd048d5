-- check: abnormal_days
-- severity: warn
-- description: a day with more than 3 times or less than a third of the median daily volume (an outage, a double load, a holiday)
-- Reads checked_days (day, tickets): the checked tickets counted per calendar day.
WITH m AS (
  SELECT day, tickets, median(tickets) OVER () AS median_tickets FROM checked_days
)
SELECT day, tickets, median_tickets
FROM m
WHERE tickets > 3 * median_tickets OR tickets * 3 < median_tickets
ORDER BY day
