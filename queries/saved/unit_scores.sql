-- unit_scores: one unit type's rates, score and rank as in the report's scores.csv
-- (needs --period, which computes the table `scores` with the report's own SQL)
-- param unit_type: district, street or department
SELECT unit, parent, unit_group, scored_tickets, response_rate, resolution_rate,
       satisfaction_rate, on_time_rate, score, rank, rank_movement
FROM scores
WHERE unit_type = $unit_type
ORDER BY unit_group, rank NULLS LAST, unit
