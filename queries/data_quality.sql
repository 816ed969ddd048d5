-- data_quality: what the archive's tickets of the period [$start, $end) look like, for the
-- report's appendix: one row per check with the number of tickets it counts.
--   rows                      tickets received in the period
--   excluded:<reason>         taken out of scoring, per excluded_reason
--   null:<column>             missing values (responded_at, closed_at: of dispatched tickets;
--                             resolved, satisfaction: of scored tickets — no valid follow-up answer)
--   order:<a>_before_<b>      timestamps out of order (e.g. dispatched before received)
--   unknown:<column>          values outside the schema's list (spec §1)
WITH t AS (
  SELECT tickets.*, dispatched_at IS NOT NULL AND excluded_reason IS NULL AS is_scored
  FROM tickets
  WHERE received_at >= $start AND received_at < $end
), a AS (
  SELECT
    count(*) AS n_rows,
    sum(CASE WHEN excluded_reason = 'duplicate' THEN 1 ELSE 0 END) AS x_duplicate,
    sum(CASE WHEN excluded_reason = 'invalid' THEN 1 ELSE 0 END) AS x_invalid,
    sum(CASE WHEN excluded_reason = 'out_of_scope' THEN 1 ELSE 0 END) AS x_out_of_scope,
    sum(CASE WHEN excluded_reason = 'malicious' THEN 1 ELSE 0 END) AS x_malicious,
    sum(CASE WHEN excluded_reason = 'appeal_approved' THEN 1 ELSE 0 END) AS x_appeal_approved,
    sum(CASE WHEN channel IS NULL THEN 1 ELSE 0 END) AS n_channel,
    sum(CASE WHEN urgency IS NULL THEN 1 ELSE 0 END) AS n_urgency,
    sum(CASE WHEN category_l2 IS NULL THEN 1 ELSE 0 END) AS n_category_l2,
    sum(CASE WHEN street IS NULL THEN 1 ELSE 0 END) AS n_street,
    sum(CASE WHEN department IS NULL THEN 1 ELSE 0 END) AS n_department,
    sum(CASE WHEN dispatched_at IS NULL THEN 1 ELSE 0 END) AS n_dispatched_at,
    sum(CASE WHEN dispatched_at IS NOT NULL AND responded_at IS NULL THEN 1 ELSE 0 END) AS n_responded_at,
    sum(CASE WHEN dispatched_at IS NOT NULL AND closed_at IS NULL THEN 1 ELSE 0 END) AS n_closed_at,
    sum(CASE WHEN is_scored AND resolved IS NULL THEN 1 ELSE 0 END) AS n_resolved,
    sum(CASE WHEN is_scored AND satisfaction IS NULL THEN 1 ELSE 0 END) AS n_satisfaction,
    sum(CASE WHEN dispatched_at < received_at THEN 1 ELSE 0 END) AS o_dispatched,
    sum(CASE WHEN responded_at < dispatched_at THEN 1 ELSE 0 END) AS o_responded,
    sum(CASE WHEN closed_at < dispatched_at THEN 1 ELSE 0 END) AS o_closed,
    sum(CASE WHEN closed_at < responded_at THEN 1 ELSE 0 END) AS o_closed_responded,
    sum(CASE WHEN channel NOT IN ('phone', 'web', 'wechat', 'app', 'weibo', 'other') THEN 1 ELSE 0 END) AS u_channel,
    sum(CASE WHEN request_type NOT IN ('consultation', 'help', 'complaint', 'report', 'suggestion', 'praise', 'other') THEN 1 ELSE 0 END) AS u_request_type,
    sum(CASE WHEN urgency NOT IN ('emergency', 'utility', 'general', 'complex') THEN 1 ELSE 0 END) AS u_urgency,
    sum(CASE WHEN satisfaction NOT IN ('satisfied', 'basically_satisfied', 'dissatisfied') THEN 1 ELSE 0 END) AS u_satisfaction,
    sum(CASE WHEN excluded_reason NOT IN ('duplicate', 'invalid', 'out_of_scope', 'malicious', 'appeal_approved') THEN 1 ELSE 0 END) AS u_excluded_reason
  FROM t
)
SELECT * FROM (
  SELECT 1 AS ord, 'rows' AS item, n_rows AS tickets FROM a
  UNION ALL SELECT 2, 'excluded:duplicate', x_duplicate FROM a
  UNION ALL SELECT 3, 'excluded:invalid', x_invalid FROM a
  UNION ALL SELECT 4, 'excluded:out_of_scope', x_out_of_scope FROM a
  UNION ALL SELECT 5, 'excluded:malicious', x_malicious FROM a
  UNION ALL SELECT 6, 'excluded:appeal_approved', x_appeal_approved FROM a
  UNION ALL SELECT 10, 'null:channel', n_channel FROM a
  UNION ALL SELECT 11, 'null:urgency', n_urgency FROM a
  UNION ALL SELECT 12, 'null:category_l2', n_category_l2 FROM a
  UNION ALL SELECT 13, 'null:street', n_street FROM a
  UNION ALL SELECT 14, 'null:department', n_department FROM a
  UNION ALL SELECT 15, 'null:dispatched_at', n_dispatched_at FROM a
  UNION ALL SELECT 16, 'null:responded_at', n_responded_at FROM a
  UNION ALL SELECT 17, 'null:closed_at', n_closed_at FROM a
  UNION ALL SELECT 18, 'null:resolved', n_resolved FROM a
  UNION ALL SELECT 19, 'null:satisfaction', n_satisfaction FROM a
  UNION ALL SELECT 20, 'order:dispatched_before_received', o_dispatched FROM a
  UNION ALL SELECT 21, 'order:responded_before_dispatched', o_responded FROM a
  UNION ALL SELECT 22, 'order:closed_before_dispatched', o_closed FROM a
  UNION ALL SELECT 23, 'order:closed_before_responded', o_closed_responded FROM a
  UNION ALL SELECT 30, 'unknown:channel', u_channel FROM a
  UNION ALL SELECT 31, 'unknown:request_type', u_request_type FROM a
  UNION ALL SELECT 32, 'unknown:urgency', u_urgency FROM a
  UNION ALL SELECT 33, 'unknown:satisfaction', u_satisfaction FROM a
  UNION ALL SELECT 34, 'unknown:excluded_reason', u_excluded_reason FROM a
) q
ORDER BY ord
