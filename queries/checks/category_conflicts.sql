-- check: category_conflicts
-- severity: warn
-- description: a level-2 category filed under more than one level-1 category (a typo, a renamed category, or a taxonomy whose level-2 names are not unique)
-- Reads checked_categories (category_l1, category_l2, tickets): the checked tickets counted per
-- stored category pair.
SELECT
  category_l2,
  count(DISTINCT category_l1) AS level1_categories,
  min(category_l1) AS first_level1,
  max(category_l1) AS last_level1,
  sum(tickets) AS tickets
FROM checked_categories
WHERE category_l2 IS NOT NULL AND category_l1 IS NOT NULL
GROUP BY category_l2
HAVING count(DISTINCT category_l1) > 1
ORDER BY tickets DESC, category_l2
