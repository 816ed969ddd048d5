-- data_quality: what the archive's tickets of the period [$start, $end) look like, for the
-- report's appendix: one row per check with the number of tickets it counts.
--   rows                      tickets received in the period
--   excluded:<reason>         taken out of scoring, per excluded_reason
--   null:<column>             missing values (responded_at, closed_at: of dispatched tickets;
--                             resolved, satisfaction: of scored tickets — no valid follow-up answer)
--   order:<a>_before_<b>      timestamps out of order (e.g. dispatched before received)
--   unknown:<column>          values outside the schema's list (spec §1)
--   source:due_at             scored tickets with a due time from the source system: their
--                             on-time closing is judged against it (a proxy; ticket_facts.sql)
WITH t AS (
  SELECT tickets.*, dispatched_at IS NOT NULL AND excluded_reason IS NULL AS is_scored
  FROM tickets
  WHERE received_at >= $start AND received_at < $end
), a AS (
  SELECT
    -- a column's missing values as count(*) - count(column): counted from each batch's null
    -- count, where a CASE per row costs a comparison per ticket
    count(*) AS n_rows,
    count(*) FILTER (WHERE excluded_reason = 'duplicate') AS x_duplicate,
    count(*) FILTER (WHERE excluded_reason = 'invalid') AS x_invalid,
    count(*) FILTER (WHERE excluded_reason = 'out_of_scope') AS x_out_of_scope,
    count(*) FILTER (WHERE excluded_reason = 'malicious') AS x_malicious,
    count(*) FILTER (WHERE excluded_reason = 'appeal_approved') AS x_appeal_approved,
    count(*) - count(channel) AS n_channel,
    count(*) - count(urgency) AS n_urgency,
    count(*) - count(category_l2) AS n_category_l2,
    count(*) - count(street) AS n_street,
    count(*) - count(department) AS n_department,
    count(*) - count(dispatched_at) AS n_dispatched_at,
    count(*) FILTER (WHERE dispatched_at IS NOT NULL AND responded_at IS NULL) AS n_responded_at,
    count(*) FILTER (WHERE dispatched_at IS NOT NULL AND closed_at IS NULL) AS n_closed_at,
    count(*) FILTER (WHERE is_scored AND resolved IS NULL) AS n_resolved,
    count(*) FILTER (WHERE is_scored AND satisfaction IS NULL) AS n_satisfaction,
    count(*) FILTER (WHERE dispatched_at < received_at) AS o_dispatched,
    count(*) FILTER (WHERE responded_at < dispatched_at) AS o_responded,
    count(*) FILTER (WHERE closed_at < dispatched_at) AS o_closed,
    count(*) FILTER (WHERE closed_at < responded_at) AS o_closed_responded,
    count(*) FILTER (WHERE channel NOT IN ('phone', 'web', 'wechat', 'app', 'weibo', 'other')) AS u_channel,
    count(*) FILTER (WHERE request_type NOT IN ('consultation', 'help', 'complaint', 'report', 'suggestion', 'praise', 'other')) AS u_request_type,
    count(*) FILTER (WHERE urgency NOT IN ('emergency', 'utility', 'general', 'complex')) AS u_urgency,
    count(*) FILTER (WHERE satisfaction NOT IN ('satisfied', 'basically_satisfied', 'dissatisfied')) AS u_satisfaction,
    count(*) FILTER (WHERE excluded_reason NOT IN ('duplicate', 'invalid', 'out_of_scope', 'malicious', 'appeal_approved')) AS u_excluded_reason,
    count(*) FILTER (WHERE is_scored AND due_at IS NOT NULL) AS s_due_at
  FROM t
)
-- one row per check, in this order (the aggregate above runs once: a UNION ALL of 25 selects
-- from `a` would compute it 25 times, as CTEs are inlined)
SELECT
  unnest(make_array(
    'rows', 'excluded:duplicate', 'excluded:invalid', 'excluded:out_of_scope', 'excluded:malicious', 'excluded:appeal_approved', 'null:channel', 'null:urgency', 'null:category_l2', 'null:street', 'null:department', 'null:dispatched_at', 'null:responded_at', 'null:closed_at', 'null:resolved', 'null:satisfaction', 'order:dispatched_before_received', 'order:responded_before_dispatched', 'order:closed_before_dispatched', 'order:closed_before_responded', 'unknown:channel', 'unknown:request_type', 'unknown:urgency', 'unknown:satisfaction', 'unknown:excluded_reason', 'source:due_at'
  )) AS item,
  unnest(make_array(
    n_rows, x_duplicate, x_invalid, x_out_of_scope, x_malicious, x_appeal_approved, n_channel, n_urgency, n_category_l2, n_street, n_department, n_dispatched_at, n_responded_at, n_closed_at, n_resolved, n_satisfaction, o_dispatched, o_responded, o_closed, o_closed_responded, u_channel, u_request_type, u_urgency, u_satisfaction, u_excluded_reason, s_due_at
  )) AS tickets
FROM a
