-- unit_months: every unit's volume, rates, score and rank in each single month of the scanned
-- range (period_scores bucket 'month', i.e. unit_scores.sql per month): the monthly trend of a
-- unit report. The rank is the unit's rank in its group in that month.
SELECT
  period_start AS month, unit_type, unit_group, unit, parent,
  tickets, scored_tickets,
  response_rate, resolution_rate, satisfaction_rate, on_time_rate,
  score, rank
FROM period_scores
WHERE bucket = 'month'
ORDER BY unit_type, unit, parent, month
