-- unit_durations: median and 90th percentile of the time to respond and the time to close,
-- in hours, per unit of one unit type ($unit_type: district, street, department, or city for
-- one city-wide row), over the scored tickets of the period: the values that
-- unit_duration_values.sql collected per (district, street, department), taken together per
-- unit. Percentiles are exact and interpolate linearly between the two nearest values:
-- quantile_exact (src/udf.rs) = DuckDB's quantile_cont; given lists, it takes their values.
-- Run once per unit type so that only one type's values are held in memory at a time.
WITH t AS (
  SELECT
    -- written as conditions on $unit_type (not CASE $unit_type WHEN …) so that DataFusion folds
    -- the CASE to one column
    CASE WHEN $unit_type = 'district' THEN district WHEN $unit_type = 'street' THEN street
         WHEN $unit_type = 'department' THEN department ELSE 'city' END AS unit,
    CASE WHEN $unit_type = 'street' THEN district END AS parent,
    respond_hours, close_hours
  FROM unit_duration_values
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
