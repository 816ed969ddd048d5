-- check: unknown_districts
-- severity: warn
-- description: a district that is not in the population table (a typo, or a unit the reference data does not know)
--
-- NOT EXISTS, not NOT IN: the same rows (population.district is never null), and DataFusion
-- builds its hash table from the population instead of from every ticket.
SELECT district, count(*) AS tickets
FROM checked c
WHERE district IS NOT NULL
  AND (SELECT count(*) FROM population) > 0
  AND NOT EXISTS (SELECT 1 FROM population p WHERE p.street IS NULL AND p.district = c.district)
GROUP BY district
ORDER BY tickets DESC, district
