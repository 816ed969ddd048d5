-- unit_categories: the category table of the city and of every unit (category_facts.sql):
-- the year-over-year change, the resolution rate, and category_rank, which orders a unit's
-- categories by tickets (ties by name).
SELECT
  unit_type, unit, parent, level, category_l1, category_l2,
  tickets, tickets_year_earlier,
  CAST(tickets AS DOUBLE) / nullif(CAST(tickets_year_earlier AS DOUBLE), 0.0) - 1.0 AS tickets_change_yoy,
  resolved_yes, resolved_answered,
  CAST(resolved_yes AS DOUBLE) / nullif(resolved_answered, 0) AS resolution_rate,
  row_number() OVER (
    PARTITION BY unit_type, unit, parent, level
    ORDER BY tickets DESC, category_l1, category_l2
  ) AS category_rank
FROM category_facts
ORDER BY unit_type, unit, parent, level, category_rank
