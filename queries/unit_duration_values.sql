-- unit_duration_values: the times to respond and to close of the scored tickets received in
-- [$start, $end), in hours, collected per (district, street, department) — the finest units,
-- from which unit_durations.sql takes the percentiles of every unit type, so that the tickets
-- are read once for all of them.
--
--   time to respond = responded_at − dispatched_at   (tickets with a response)
--   time to close   = closed_at − dispatched_at      (tickets that are closed)
-- Negative times (a response or closing stamped before the dispatch: a data error reported by
-- the data-quality checks) are left out. The archive's timestamps are microseconds (the
-- engine's table schema): the difference is exact in whole microseconds, then divided by
-- 3,600,000,000 µs per hour. quantile_values (src/udf.rs) keeps a group's values as a list,
-- leaving out nulls: the values quantile_exact would take from the tickets themselves.
WITH t AS (
  SELECT
    district, street, department,
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
  district, street, department,
  quantile_values(respond_hours) AS respond_hours,
  quantile_values(close_hours) AS close_hours
FROM t
GROUP BY district, street, department
