-- watch_list: per unit, the months of [$start, $end) it spent in its group's monthly bottom-N
-- (monthly_bottom.sql) and its longest run of consecutive bottom-N months that reaches into
-- the period (a run may start before the period: the months before it are in monthly_bottom
-- too). A unit whose run is at least $months long is a 治理类 (watch-list) candidate.
--
-- Consecutive months are found as "islands": month number minus row number is constant
-- along a run of consecutive months.
WITH b AS (
  SELECT
    unit_type, unit, parent, month,
    CAST(date_part('year', month) AS BIGINT) * 12 + CAST(date_part('month', month) AS BIGINT) AS month_no
  FROM monthly_bottom
), islands AS (
  SELECT *, month_no - row_number() OVER (PARTITION BY unit_type, unit, parent ORDER BY month) AS island
  FROM b
), runs AS (
  SELECT unit_type, unit, parent, min(month) AS first_month, max(month) AS last_month, count(*) AS run_months
  FROM islands
  GROUP BY unit_type, unit, parent, island
), in_period AS (
  SELECT unit_type, unit, parent, count(*) AS bottom_months
  FROM b
  WHERE month >= $start AND month < $end
  GROUP BY unit_type, unit, parent
), longest AS (
  SELECT unit_type, unit, parent, max(run_months) AS longest_run
  FROM runs
  WHERE last_month >= $start AND first_month < $end
  GROUP BY unit_type, unit, parent
)
SELECT
  i.unit_type, i.unit, i.parent, i.bottom_months, l.longest_run,
  l.longest_run >= $months AS watch_list
FROM in_period i
JOIN longest l
  ON l.unit_type = i.unit_type AND l.unit = i.unit AND l.parent IS NOT DISTINCT FROM i.parent
ORDER BY i.unit_type, l.longest_run DESC, i.bottom_months DESC, i.unit, i.parent
