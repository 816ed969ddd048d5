-- check: unknown_districts
-- severity: warn
-- description: a district that is not in the population table (a typo, or a unit the reference data does not know)
SELECT district, count(*) AS tickets
FROM checked
WHERE district IS NOT NULL
  AND (SELECT count(*) FROM population) > 0
  AND district NOT IN (SELECT district FROM population WHERE street IS NULL)
GROUP BY district
ORDER BY tickets DESC, district
