-- unit_month: ticket_facts rolled up to one row per unit and month, for each unit type.
-- A street is keyed by (district, street): street names repeat across districts
-- (八里庄街道 is in both 朝阳区 and 海淀区). Tickets whose unit column is null belong
-- to no unit of that type; they still count city-wide (city_summary.sql).
WITH u AS (
  SELECT 'district' AS unit_type, district AS unit, CAST(NULL AS VARCHAR) AS parent, f.* FROM ticket_facts f
  UNION ALL
  SELECT 'street' AS unit_type, street AS unit, district AS parent, f.* FROM ticket_facts f
  UNION ALL
  SELECT 'department' AS unit_type, department AS unit, CAST(NULL AS VARCHAR) AS parent, f.* FROM ticket_facts f
)
SELECT
  unit_type, unit, parent, month,
  sum(tickets) AS tickets,
  sum(dispatched) AS dispatched,
  sum(scored) AS scored,
  sum(responded_on_time) AS responded_on_time,
  sum(responded_known) AS responded_known,
  sum(closed_on_time) AS closed_on_time,
  sum(resolved_yes) AS resolved_yes,
  sum(resolved_answered) AS resolved_answered,
  sum(satisfied) AS satisfied,
  sum(basically_satisfied) AS basically_satisfied,
  sum(dissatisfied) AS dissatisfied
FROM u
WHERE unit IS NOT NULL
GROUP BY unit_type, unit, parent, month
