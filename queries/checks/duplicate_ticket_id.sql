-- check: duplicate_ticket_id
-- severity: error
-- description: a ticket_id that appears more than once (every count would be inflated)
SELECT ticket_id, count(*) AS copies, min(received_at) AS first_received
FROM checked
WHERE ticket_id IS NOT NULL  -- a missing id is missing_required's, not a duplicate
GROUP BY ticket_id
HAVING count(*) > 1
ORDER BY copies DESC, ticket_id
