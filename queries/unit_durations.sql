-- unit_durations: median and 90th percentile of the time to respond and the time to close,
-- in hours, per unit of one unit type ($unit_type: district, street, department, or city for
-- one city-wide row), over the scored tickets received in [$start, $end).
--
--   time to respond = responded_at − dispatched_at   (tickets with a response)
--   time to close   = closed_at − dispatched_at      (tickets that are closed)
-- Negative times (a response or closing stamped before the dispatch: a data error reported by
-- the data-quality checks) are left out. Percentiles are exact and interpolate linearly
-- between the two nearest values: quantile_exact (src/udf.rs) = DuckDB's quantile_cont.
-- The archive's timestamps are microseconds (the engine's table schema): the difference is
-- exact in whole microseconds, then divided by 3,600,000,000 µs per hour.
-- Run once per unit type so that only one type's values are held in memory at a time.
WITH t AS (
  SELECT
    -- written as conditions on $unit_type (not CASE $unit_type WHEN …) so that DataFusion folds
    -- the CASE to one column and reads only that column
    CASE WHEN $unit_type = 'district' THEN district WHEN $unit_type = 'street' THEN street
         WHEN $unit_type = 'department' THEN department ELSE 'city' END AS unit,
    CASE WHEN $unit_type = 'street' THEN district END AS parent,
    CASE WHEN responded_at >= dispatched_at
         THEN CAST(CAST(responded_at AS BIGINT) - CAST(dispatched_at AS BIGINT) AS DOUBLE) / 3600000000.0
    END AS respond_hours,
    CASE WHEN closed_at >= dispatched_at
         THEN CAST(CAST(closed_at AS BIGINT) - CAST(dispatched_at AS BIGINT) AS DOUBLE) / 3600000000.0
    END AS close_hours
  FROM tickets
  LEFT JOIN excluded_reasons x ON tickets.excluded_reason = x.reason
  WHERE received_at >= $start AND received_at < $end
    AND dispatched_at IS NOT NULL AND x.reason IS NULL
)
SELECT
  unit, parent,
  respond[1] AS respond_hours_median,
  respond[2] AS respond_hours_p90,
  close[1] AS close_hours_median,
  close[2] AS close_hours_p90
FROM (
  -- both quantiles of a column from one copy of its values
  SELECT unit, parent,
    quantile_exact(respond_hours, [0.5, 0.9]) AS respond,
    quantile_exact(close_hours, [0.5, 0.9]) AS close
  FROM t
  WHERE unit IS NOT NULL
  GROUP BY unit, parent
)
