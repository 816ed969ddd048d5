-- ticket_facts: one scan of the archive into additive monthly counts per
-- (district, street, department). Every rate in hotline is a ratio of sums of these
-- counts, so a quarter or a year is computed from summed numerators and denominators,
-- never by averaging monthly rates.
--
-- Parameters (bound, never pasted into this text):
--   $start, $end              received_at range [start, end): the period and its comparison period
--   $response_<urgency>       response deadline per urgency class, a duration (e.g. 24 hours)
--   $close_<urgency>          closing limit per urgency class, a duration
-- When the source system set a due time (due_at, e.g. a 311 export's due date), on-time closing
-- is judged against it instead of the closing limit: a proxy, which the report labels as such
-- (data_quality.sql counts these tickets as source:due_at).
-- Table excluded_reasons (from the configuration): the excluded_reason values that take a
-- ticket out of scoring; any other value, and null, leave it scored.
-- A null urgency counts as general (spec §1); an unknown spelling also falls back to general
-- and is reported by the data-quality checks.
WITH t AS (
  SELECT
    received_at, district, street, department,
    dispatched_at, responded_at, closed_at, due_at, resolved, satisfaction,
    dispatched_at IS NOT NULL AND x.reason IS NULL AS is_scored,
    CASE coalesce(urgency, 'general')
      WHEN 'emergency' THEN $response_emergency
      WHEN 'utility'   THEN $response_utility
      WHEN 'complex'   THEN $response_complex
      ELSE $response_general
    END AS response_deadline,
    CASE coalesce(urgency, 'general')
      WHEN 'emergency' THEN $close_emergency
      WHEN 'utility'   THEN $close_utility
      WHEN 'complex'   THEN $close_complex
      ELSE $close_general
    END AS close_limit
  FROM tickets
  LEFT JOIN excluded_reasons x ON tickets.excluded_reason = x.reason
  WHERE received_at >= $start AND received_at < $end
)
SELECT
  date_trunc('month', received_at) AS month,
  district,
  street,
  department,
  -- volume: all contacts, and those dispatched to a unit
  count(*) AS tickets,
  count(dispatched_at) AS dispatched,
  -- scored = dispatched and not excluded (spec §2)
  count(*) FILTER (WHERE is_scored) AS scored,
  -- response: first contact within the deadline after dispatch
  count(*) FILTER (WHERE is_scored AND responded_at IS NOT NULL
            AND responded_at <= dispatched_at + response_deadline) AS responded_on_time,
  -- whether first contact is recorded at all (311 exports have no such time: then the
  -- response rate is "not available", not 0; see unit_scores.sql)
  count(*) FILTER (WHERE is_scored AND responded_at IS NOT NULL) AS responded_known,
  -- on-time closing: closed within the limit after dispatch (or by the source's due time)
  count(*) FILTER (WHERE is_scored AND closed_at IS NOT NULL
            AND closed_at <= coalesce(due_at, dispatched_at + close_limit)) AS closed_on_time,
  -- resolution: follow-up answers (null = no valid answer, out of the denominator)
  count(*) FILTER (WHERE is_scored AND resolved) AS resolved_yes,
  count(*) FILTER (WHERE is_scored AND resolved IS NOT NULL) AS resolved_answered,
  -- satisfaction: counts per level; the weights are applied in unit_scores.sql
  count(*) FILTER (WHERE is_scored AND satisfaction = 'satisfied') AS satisfied,
  count(*) FILTER (WHERE is_scored AND satisfaction = 'basically_satisfied') AS basically_satisfied,
  count(*) FILTER (WHERE is_scored AND satisfaction = 'dissatisfied') AS dissatisfied
FROM t
GROUP BY date_trunc('month', received_at), district, street, department
