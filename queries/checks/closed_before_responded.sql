-- check: closed_before_responded
-- severity: warn
-- description: closed before the first contact with the citizen (the response may have been recorded late)
SELECT ticket_id, dispatched_at, responded_at, closed_at
FROM checked
WHERE closed_at < responded_at
ORDER BY dispatched_at, ticket_id, responded_at, closed_at
