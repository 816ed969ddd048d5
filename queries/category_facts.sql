-- category_facts: contacts per category in the period and in the same period a year earlier,
-- city-wide and for every unit, in one scan with GROUPING SETS:
--   unit_type 'city'       level 1 (category_l1) and level 2 (category_l1, category_l2)
--   'district', 'street' (parent = district), 'department'   level 2
-- A null category_l2 counts under its level-1 name. tickets = all contacts in the period;
-- tickets_year_earlier = the same in [$ye_start, $ye_end); resolved_yes / resolved_answered
-- over the period's scored tickets (as in ticket_facts.sql) give the category's resolution
-- rate (unit_categories.sql).
-- Parameters: $start, $end (the period), $ye_start, $ye_end (a year earlier).
WITH t AS (
  SELECT
    district, street, department, category_l1,
    coalesce(category_l2, category_l1) AS category_l2,
    received_at >= $start AS in_period,
    dispatched_at IS NOT NULL AND x.reason IS NULL AS is_scored,
    resolved
  FROM tickets
  LEFT JOIN excluded_reasons x ON tickets.excluded_reason = x.reason
  WHERE (received_at >= $start AND received_at < $end)
     OR (received_at >= $ye_start AND received_at < $ye_end)
), g AS (
  SELECT
    grouping(district) AS g_district,
    grouping(street) AS g_street,
    grouping(department) AS g_department,
    grouping(category_l2) AS g_l2,
    district, street, department, category_l1, category_l2,
    count(*) FILTER (WHERE in_period) AS tickets,
    count(*) FILTER (WHERE NOT in_period) AS tickets_year_earlier,
    count(*) FILTER (WHERE in_period AND is_scored AND resolved) AS resolved_yes,
    count(*) FILTER (WHERE in_period AND is_scored AND resolved IS NOT NULL) AS resolved_answered
  FROM t
  GROUP BY GROUPING SETS (
    (category_l1),
    (category_l1, category_l2),
    (district, category_l1, category_l2),
    (district, street, category_l1, category_l2),
    (department, category_l1, category_l2)
  )
)
SELECT
  CASE
    WHEN g_department = 0 THEN 'department'
    WHEN g_street = 0 THEN 'street'
    WHEN g_district = 0 THEN 'district'
    ELSE 'city'
  END AS unit_type,
  CASE
    WHEN g_department = 0 THEN department
    WHEN g_street = 0 THEN street
    WHEN g_district = 0 THEN district
  END AS unit,
  CASE WHEN g_street = 0 AND g_department = 1 THEN district END AS parent,
  CASE WHEN g_l2 = 0 THEN 2 ELSE 1 END AS level,
  category_l1,
  CASE WHEN g_l2 = 0 THEN category_l2 END AS category_l2,
  tickets, tickets_year_earlier, resolved_yes, resolved_answered
FROM g
-- a ticket without a street (or department) belongs to no unit of that type
WHERE NOT ((g_street = 0 AND g_department = 1 AND street IS NULL)
        OR (g_department = 0 AND department IS NULL))
