-- check: missing_required
-- severity: error
-- description: a required column (ticket_id, received_at, request_type, category_l1, district) is empty
SELECT ticket_id, received_at, request_type, category_l1, district
FROM checked
WHERE ticket_id IS NULL OR received_at IS NULL OR request_type IS NULL
   OR category_l1 IS NULL OR district IS NULL
ORDER BY received_at, ticket_id, request_type, category_l1, district
