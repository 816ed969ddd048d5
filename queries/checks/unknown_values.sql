-- check: unknown_values
-- severity: warn
-- description: a value outside the schema's list in channel, request_type, urgency, satisfaction or excluded_reason
SELECT ticket_id, channel, request_type, urgency, satisfaction, excluded_reason
FROM checked
WHERE channel NOT IN ('phone', 'web', 'wechat', 'app', 'weibo', 'other')
   OR request_type NOT IN ('consultation', 'help', 'complaint', 'report', 'suggestion', 'praise', 'other')
   OR urgency NOT IN ('emergency', 'utility', 'general', 'complex')
   OR satisfaction NOT IN ('satisfied', 'basically_satisfied', 'dissatisfied')
   OR excluded_reason NOT IN ('duplicate', 'invalid', 'out_of_scope', 'malicious', 'appeal_approved')
ORDER BY ticket_id, channel, request_type, urgency, satisfaction, excluded_reason
