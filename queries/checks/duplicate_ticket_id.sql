-- check: duplicate_ticket_id
-- severity: error
-- description: a ticket_id that appears more than once (every count would be inflated)
--
-- Two steps, so that the window's ids are never held as text: the 64-bit hashes of the ids
-- (hash64, src/udf.rs) seen more than once, then the ids with those hashes, grouped exactly.
-- A missing id is missing_required's, not a duplicate (its hash is null and joins nothing).
WITH repeated_hashes AS (
  SELECT hash64(ticket_id) AS h
  FROM checked
  WHERE ticket_id IS NOT NULL
  GROUP BY 1
  HAVING count(*) > 1
)
SELECT c.ticket_id, count(*) AS copies, min(c.received_at) AS first_received
FROM repeated_hashes r
JOIN checked c ON r.h = hash64(c.ticket_id)
GROUP BY c.ticket_id
HAVING count(*) > 1
ORDER BY copies DESC, c.ticket_id
