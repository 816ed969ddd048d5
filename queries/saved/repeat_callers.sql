-- repeat_callers: callers with several tickets in a period (caller_id is masked unless
-- --allow-personal-data; the masked key still groups the same caller)
-- param period: 2025, 2025Q4, 2025-12 (binds $period_start and $period_end)
-- param min_tickets: the least number of tickets to be listed, e.g. 5
SELECT
  caller_id,
  count(*) AS tickets,
  count(DISTINCT category_l1) AS categories,
  min(received_at) AS first_ticket,
  max(received_at) AS last_ticket
FROM tickets
WHERE caller_id IS NOT NULL
  AND received_at >= $period_start AND received_at < $period_end
GROUP BY caller_id
HAVING count(*) >= CAST($min_tickets AS BIGINT)
ORDER BY tickets DESC, caller_id
LIMIT 100
