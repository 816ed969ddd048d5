-- city_month: ticket_facts rolled up to one row per month for the whole city (every ticket
-- of the scanned range, including those whose district, street or department is null: they
-- belong to no unit but are part of the city's work). Read by city_summary.sql.
SELECT
  month,
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
FROM ticket_facts
GROUP BY month
