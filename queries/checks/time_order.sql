-- check: time_order
-- severity: error
-- description: dispatched, responded or closed before the ticket was received, or closed before it was dispatched
SELECT ticket_id, received_at, dispatched_at, responded_at, closed_at
FROM checked
WHERE dispatched_at < received_at OR responded_at < received_at OR closed_at < received_at
   OR closed_at < dispatched_at
ORDER BY received_at, ticket_id, dispatched_at, responded_at, closed_at
