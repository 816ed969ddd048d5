-- daily_volume: contacts per calendar day in [$start, $end), for the daily average and peak day.
SELECT
  CAST(date_trunc('day', received_at) AS DATE) AS day,
  count(*) AS tickets
FROM tickets
WHERE received_at >= $start AND received_at < $end
GROUP BY 1
ORDER BY tickets DESC, day
