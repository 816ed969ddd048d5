-- city_mix: the city's contacts by channel, by request type, by hour of the day and by
-- level-2 category per month, in one scan with GROUPING SETS. tickets = the period
-- [$start, $end); tickets_year_earlier = the same period a year earlier [$ye_start, $ye_end);
-- direct = the period's contacts answered directly (never dispatched). A null channel or
-- request type counts as 'unknown'; a null category_l2 counts under its level-1 name.
--   dimension 'channel' | 'request_type' | 'hour' (value '0'…'23', hour = the number)
--           | 'category_month' (month, category_l1, category_l2; the period only)
WITH t AS (
  SELECT
    coalesce(channel, 'unknown') AS channel,
    coalesce(request_type, 'unknown') AS request_type,
    CAST(date_part('hour', received_at) AS BIGINT) AS hour,
    CASE WHEN received_at >= $start THEN date_trunc('month', received_at) END AS month,
    category_l1,
    coalesce(category_l2, category_l1) AS category_l2,
    received_at >= $start AS in_period,
    dispatched_at IS NULL AS direct
  FROM tickets
  WHERE (received_at >= $start AND received_at < $end)
     OR (received_at >= $ye_start AND received_at < $ye_end)
), g AS (
  SELECT
    grouping(channel) AS g_channel,
    grouping(request_type) AS g_type,
    grouping(hour) AS g_hour,
    channel, request_type, hour, month, category_l1, category_l2,
    count(*) FILTER (WHERE in_period) AS tickets,
    count(*) FILTER (WHERE NOT in_period) AS tickets_year_earlier,
    count(*) FILTER (WHERE in_period AND direct) AS direct
  FROM t
  GROUP BY GROUPING SETS ((channel), (request_type), (hour), (month, category_l1, category_l2))
)
SELECT
  CASE
    WHEN g_channel = 0 THEN 'channel'
    WHEN g_type = 0 THEN 'request_type'
    WHEN g_hour = 0 THEN 'hour'
    ELSE 'category_month'
  END AS dimension,
  CASE
    WHEN g_channel = 0 THEN channel
    WHEN g_type = 0 THEN request_type
    WHEN g_hour = 0 THEN CAST(hour AS VARCHAR)
  END AS value,
  CASE WHEN g_hour = 0 THEN hour END AS hour,
  month, category_l1, category_l2,
  tickets, tickets_year_earlier, direct
FROM g
-- the category × month rows of the year-earlier tickets have no month: not needed
WHERE NOT (g_channel = 1 AND g_type = 1 AND g_hour = 1 AND month IS NULL)
ORDER BY dimension, hour, month, tickets DESC, value, category_l1, category_l2
