-- Analyst questions, each answered by hotline's session (`hotline sql`: the masked `tickets`
-- view, the reference tables, the session's rules) and by DuckDB on the same rows; the answers
-- must agree (tests/it/difftest.rs, tolerance: relative 1e-9 on floating-point values).
--
-- Each query starts with `-- name: <name>`. Directives on the following comment lines:
--   -- ordered            compare rows in order (the ORDER BY is total); otherwise as multisets
--   -- duckdb: <SQL>      DuckDB's spelling of the same question (a dialect difference, listed
--                        in docs/difftest.md); the answers must still agree
--   -- refused: <text>    hotline refuses the query with an error containing <text>
-- A query ends with a line that ends with `;`.

-- name: volume_by_district
-- ordered
SELECT district, count(*) AS n FROM tickets GROUP BY district ORDER BY n DESC, district;

-- name: volume_by_month_category
SELECT date_trunc('month', received_at) AS month, category_l1, count(*) AS n
FROM tickets GROUP BY 1, 2;

-- name: top_categories_of_a_district_in_a_quarter
-- ordered
SELECT category_l2, count(*) AS n FROM tickets
WHERE district = '朝阳区' AND received_at >= TIMESTAMP '2025-07-01' AND received_at < TIMESTAMP '2025-10-01'
GROUP BY category_l2 ORDER BY n DESC, category_l2 NULLS LAST LIMIT 10;

-- name: response_rate_of_complaints_by_department
SELECT department,
       count(*) AS dispatched,
       avg(CASE WHEN responded_at IS NOT NULL THEN 1.0 ELSE 0.0 END) AS response_rate
FROM tickets
WHERE request_type = 'complaint' AND dispatched_at IS NOT NULL AND department IS NOT NULL
GROUP BY department;

-- name: count_filter
SELECT district,
       count(*) FILTER (WHERE resolved) AS resolved,
       count(*) FILTER (WHERE NOT resolved) AS unresolved,
       count(*) FILTER (WHERE resolved IS NULL) AS unknown
FROM tickets GROUP BY district;

-- name: satisfaction_shares
SELECT satisfaction, count(*) AS n, round(100.0 * count(*) / sum(count(*)) OVER (), 4) AS pct
FROM tickets GROUP BY satisfaction;

-- name: distinct_counts
SELECT count(DISTINCT district) AS districts, count(DISTINCT street) AS streets,
       count(DISTINCT department) AS departments, count(DISTINCT category_l3) AS l3,
       count(street) AS with_street, count(*) AS total
FROM tickets;

-- name: min_max_times
SELECT min(received_at), max(received_at), min(closed_at), max(closed_at), max(due_at)
FROM tickets;

-- name: sum_avg_of_empty_set
SELECT count(*) AS n, sum(length(ticket_id)) AS s, avg(length(ticket_id)) AS a, min(district) AS m
FROM tickets WHERE district = 'no such district';

-- name: having_count
SELECT street, count(*) AS n FROM tickets
WHERE street IS NOT NULL GROUP BY street HAVING count(*) > 150;

-- name: having_rate
SELECT district, avg(CASE WHEN satisfaction = 'dissatisfied' THEN 1.0 ELSE 0.0 END) AS dissatisfied
FROM tickets WHERE satisfaction IS NOT NULL
GROUP BY district HAVING avg(CASE WHEN satisfaction = 'dissatisfied' THEN 1.0 ELSE 0.0 END) > 0.02;

-- name: least_satisfied_streets
-- ordered
SELECT street, count(*) AS rated,
       round(avg(CASE WHEN satisfaction IN ('satisfied', 'basically_satisfied') THEN 1.0 ELSE 0.0 END), 6) AS rate
FROM tickets WHERE satisfaction IS NOT NULL AND street IS NOT NULL
GROUP BY street HAVING count(*) >= 30
ORDER BY rate, street LIMIT 15;

-- name: hour_by_weekday
SELECT extract(dow FROM received_at) AS dow, extract(hour FROM received_at) AS hour, count(*) AS n
FROM tickets GROUP BY 1, 2;

-- name: date_part_fields
SELECT date_part('year', received_at) AS y, date_part('quarter', received_at) AS q,
       date_part('month', received_at) AS m, count(*) AS n
FROM tickets GROUP BY 1, 2, 3;

-- name: day_of_year_and_week
SELECT extract(doy FROM received_at) AS doy, extract(week FROM received_at) AS week, count(*) AS n
FROM tickets WHERE received_at < TIMESTAMP '2024-03-01' GROUP BY 1, 2;

-- name: date_trunc_week_day_hour
SELECT date_trunc('week', received_at) AS w, date_trunc('day', received_at) AS d,
       date_trunc('hour', received_at) AS h, count(*) AS n
FROM tickets WHERE received_at BETWEEN TIMESTAMP '2025-02-01' AND TIMESTAMP '2025-02-20 12:00:00'
GROUP BY 1, 2, 3;

-- name: date_trunc_quarter_year
SELECT date_trunc('quarter', received_at) AS q, date_trunc('year', received_at) AS y, count(*) AS n
FROM tickets GROUP BY 1, 2;

-- name: cast_to_date
SELECT CAST(received_at AS DATE) AS day, count(*) AS n FROM tickets
WHERE received_at >= TIMESTAMP '2025-12-20' GROUP BY 1;

-- name: closing_buckets_with_intervals
SELECT CASE WHEN closed_at - dispatched_at <= INTERVAL '1 day'  THEN 'a<=1d'
            WHEN closed_at - dispatched_at <= INTERVAL '3 days' THEN 'b<=3d'
            WHEN closed_at - dispatched_at <= INTERVAL '7 days' THEN 'c<=7d'
            ELSE 'd>7d' END AS b, count(*) AS n
FROM tickets WHERE closed_at IS NOT NULL AND dispatched_at IS NOT NULL GROUP BY 1;

-- name: interval_on_the_left
SELECT count(*) FILTER (WHERE INTERVAL '2 hours' > responded_at - dispatched_at) AS within_2h,
       count(*) FILTER (WHERE INTERVAL '2 hours' <= responded_at - dispatched_at) AS later
FROM tickets;

-- name: interval_between
SELECT count(*) AS n FROM tickets
WHERE closed_at - dispatched_at BETWEEN INTERVAL '12 hours' AND INTERVAL '2 days 6 hours';

-- name: interval_minutes_seconds
SELECT count(*) FILTER (WHERE responded_at - dispatched_at < INTERVAL '90 minutes') AS a,
       count(*) FILTER (WHERE responded_at - dispatched_at >= INTERVAL '3600 seconds') AS b,
       count(*) FILTER (WHERE responded_at - dispatched_at = INTERVAL '0 seconds') AS c
FROM tickets;

-- name: timestamp_plus_interval
SELECT count(*) FILTER (WHERE closed_at <= dispatched_at + INTERVAL '7 days') AS within_week,
       count(*) FILTER (WHERE closed_at - INTERVAL '30 days' > dispatched_at) AS over_month
FROM tickets;

-- name: timestamp_plus_month_interval
SELECT count(*) AS n FROM tickets WHERE closed_at > received_at + INTERVAL '1 month';

-- name: duration_against_month_interval
-- refused: has no fixed length
SELECT count(*) FROM tickets WHERE closed_at - dispatched_at > INTERVAL '1 month';

-- name: overdue_against_due_at
SELECT district, count(*) FILTER (WHERE closed_at > due_at) AS late,
       count(*) FILTER (WHERE closed_at IS NULL AND due_at IS NOT NULL) AS open
FROM tickets GROUP BY district;

-- name: durations_min_max
SELECT department, min(closed_at - dispatched_at) AS fastest, max(closed_at - dispatched_at) AS slowest
FROM tickets WHERE department IS NOT NULL GROUP BY department;

-- name: duration_in_hours
SELECT district,
       round(avg(extract(epoch FROM closed_at - dispatched_at)) / 3600.0, 6) AS avg_hours
FROM tickets GROUP BY district;

-- name: median_closing_hours
SELECT district,
       median(extract(epoch FROM closed_at - dispatched_at) / 3600.0) AS median_hours
FROM tickets GROUP BY district;

-- name: epoch_of_short_and_long_durations
SELECT extract(epoch FROM responded_at - dispatched_at) AS s, date_part('epoch', closed_at - received_at) AS t
FROM tickets WHERE district = '门头沟区' AND received_at < TIMESTAMP '2024-02-01';

-- name: epoch_and_seconds_of_timestamps
SELECT extract(epoch FROM received_at) AS e, extract(second FROM received_at) AS s,
       extract(minute FROM received_at) AS m
FROM tickets WHERE district = '门头沟区' AND received_at < TIMESTAMP '2024-02-01';

-- name: percentile_cont
SELECT urgency,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - dispatched_at)) AS p90_s
FROM tickets GROUP BY urgency;

-- name: median_of_integers
SELECT category_l1, median(length(content)) AS m FROM tickets GROUP BY category_l1;

-- name: stddev_variance
SELECT district, round(stddev_samp(extract(hour FROM received_at)), 9) AS sd,
       round(var_pop(extract(hour FROM received_at)), 9) AS v
FROM tickets GROUP BY district;

-- name: integer_division
-- duckdb: SELECT district, count(*) // 7 AS weeks, count(*) % 7 AS rest FROM tickets GROUP BY district;
SELECT district, count(*) / 7 AS weeks, count(*) % 7 AS rest FROM tickets GROUP BY district;

-- name: float_division
SELECT district, count(*) / 7.0 AS per_day, CAST(count(*) AS DOUBLE) / 3 AS third
FROM tickets GROUP BY district;

-- name: desc_order_puts_nulls
-- ordered
-- duckdb: SELECT DISTINCT department FROM tickets WHERE district = '延庆区' ORDER BY department DESC NULLS FIRST;
SELECT DISTINCT department FROM tickets WHERE district = '延庆区' ORDER BY department DESC;

-- name: asc_order_puts_nulls
-- ordered
SELECT DISTINCT department FROM tickets WHERE district = '延庆区' ORDER BY department;

-- name: explicit_null_order
-- ordered
SELECT DISTINCT satisfaction FROM tickets ORDER BY satisfaction DESC NULLS LAST;

-- name: null_comparisons
SELECT count(*) FILTER (WHERE street = NULL) AS eq_null,
       count(*) FILTER (WHERE street IS NULL) AS is_null,
       count(*) FILTER (WHERE street IS DISTINCT FROM NULL) AS distinct_null,
       count(*) FILTER (WHERE NOT (resolved AND satisfaction = 'satisfied')) AS not_and
FROM tickets;

-- name: coalesce_nullif
SELECT coalesce(department, street, '(none)') AS owner, nullif(urgency, 'general') AS u, count(*) AS n
FROM tickets GROUP BY 1, 2;

-- name: not_in_with_nulls
SELECT count(*) AS n FROM tickets
WHERE district NOT IN (SELECT street FROM tickets WHERE district = '东城区');

-- name: not_in_without_nulls
SELECT count(*) AS n FROM tickets
WHERE street NOT IN (SELECT street FROM streets WHERE district = '东城区');

-- name: in_subquery
SELECT district, count(*) AS n FROM tickets
WHERE street IN (SELECT street FROM streets WHERE type = '镇') GROUP BY district;

-- name: exists_correlated
SELECT count(*) AS n FROM streets s
WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.street = s.street AND t.category_l1 = '城乡建设');

-- name: not_exists_correlated
SELECT s.district, count(*) AS streets_without_tickets FROM streets s
WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.street = s.street AND t.received_at >= TIMESTAMP '2025-12-01')
GROUP BY s.district;

-- name: scalar_subquery
SELECT district, count(*) AS n FROM tickets
GROUP BY district HAVING count(*) > (SELECT count(*) / 16 FROM tickets);

-- name: correlated_scalar_subquery
SELECT d.district, (SELECT count(*) FROM tickets t WHERE t.district = d.district AND t.urgency = 'emergency') AS emergencies
FROM districts d;

-- name: cte_and_join
WITH by_district AS (SELECT district, count(*) AS n FROM tickets GROUP BY district)
SELECT b.district, b.n, d.population_2020, round(b.n * 10000.0 / d.population_2020, 6) AS per_10k
FROM by_district b JOIN districts d ON d.district = b.district;

-- name: left_join_reference
SELECT d.district, d.type, count(t.ticket_id) AS n
FROM districts d LEFT JOIN tickets t ON t.district = d.district AND t.request_type = 'praise'
GROUP BY d.district, d.type;

-- name: join_streets_by_type
SELECT s.type, count(*) AS n, count(DISTINCT t.street) AS streets
FROM tickets t JOIN streets s ON s.street = t.street AND s.district = t.district
GROUP BY s.type;

-- name: full_join_population
SELECT coalesce(p.district, t.district) AS district, p.population, count(t.ticket_id) AS n
FROM (SELECT district, population FROM population WHERE street IS NULL) p
FULL JOIN (SELECT district, ticket_id FROM tickets WHERE category_l1 = '交通管理') t ON t.district = p.district
GROUP BY 1, 2;

-- name: self_join_same_caller_same_day
SELECT count(*) AS pairs FROM tickets a JOIN tickets b
  ON a.caller_id = b.caller_id AND CAST(a.received_at AS DATE) = CAST(b.received_at AS DATE)
 AND a.ticket_id < b.ticket_id
WHERE a.district = '门头沟区';

-- name: repeat_callers
SELECT n, count(*) AS callers FROM (
  SELECT caller_id, count(*) AS n FROM tickets WHERE caller_id IS NOT NULL GROUP BY caller_id
) GROUP BY n;

-- name: union_except_intersect
SELECT 'union' AS op, count(*) AS n FROM (SELECT district FROM tickets UNION SELECT district FROM districts)
UNION ALL
SELECT 'except', count(*) FROM (SELECT street FROM streets EXCEPT SELECT street FROM tickets)
UNION ALL
SELECT 'intersect', count(*) FROM (SELECT street FROM streets INTERSECT SELECT street FROM tickets);

-- name: window_rank_within_district
SELECT district, street, n, rank() OVER (PARTITION BY district ORDER BY n DESC, street) AS r
FROM (SELECT district, street, count(*) AS n FROM tickets WHERE street IS NOT NULL GROUP BY 1, 2);

-- name: window_dense_rank_row_number
SELECT category_l1, n,
       dense_rank() OVER (ORDER BY n DESC) AS dr,
       row_number() OVER (ORDER BY n DESC, category_l1) AS rn
FROM (SELECT category_l1, count(*) AS n FROM tickets GROUP BY 1);

-- name: window_running_sum_and_lag
SELECT month, n, sum(n) OVER (ORDER BY month) AS running,
       n - lag(n) OVER (ORDER BY month) AS change, lead(n, 2) OVER (ORDER BY month) AS later
FROM (SELECT date_trunc('month', received_at) AS month, count(*) AS n FROM tickets GROUP BY 1);

-- name: window_moving_average
SELECT day, round(avg(n) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 6) AS ma7
FROM (SELECT CAST(received_at AS DATE) AS day, count(*) AS n FROM tickets GROUP BY 1);

-- name: window_share_of_partition
SELECT district, category_l1, n, round(n * 1.0 / sum(n) OVER (PARTITION BY district), 9) AS share
FROM (SELECT district, category_l1, count(*) AS n FROM tickets GROUP BY 1, 2);

-- name: window_percent_rank_ntile
SELECT street, n, round(percent_rank() OVER (ORDER BY n, street), 9) AS pr,
       ntile(4) OVER (ORDER BY n, street) AS quartile, round(cume_dist() OVER (ORDER BY n), 9) AS cd
FROM (SELECT street, count(*) AS n FROM tickets WHERE street IS NOT NULL GROUP BY 1);

-- name: window_first_last_value
SELECT DISTINCT district,
       first_value(category_l1) OVER (PARTITION BY district ORDER BY n DESC, category_l1) AS top,
       last_value(category_l1) OVER (PARTITION BY district ORDER BY n DESC, category_l1
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS bottom
FROM (SELECT district, category_l1, count(*) AS n FROM tickets GROUP BY 1, 2);

-- name: qualify_like_filter_on_window
SELECT district, category_l2, n FROM (
  SELECT district, category_l2, count(*) AS n,
         row_number() OVER (PARTITION BY district ORDER BY count(*) DESC, category_l2) AS r
  FROM tickets WHERE category_l2 IS NOT NULL GROUP BY 1, 2
) WHERE r <= 3;

-- name: like_on_chinese_text
SELECT category_l1, count(*) AS n FROM tickets
WHERE content LIKE '%噪音%' OR content LIKE '%供暖%' OR category_l3 LIKE '%停车%' GROUP BY 1;

-- name: like_single_character_wildcard
SELECT street, count(*) AS n FROM tickets WHERE street LIKE '__街道' GROUP BY 1;

-- name: ilike_and_not_like
SELECT count(*) FILTER (WHERE channel ILIKE 'WE%') AS we,
       count(*) FILTER (WHERE district NOT LIKE '%区') AS not_qu
FROM tickets;

-- name: length_of_chinese_text
SELECT length(category_l3) AS chars, count(*) AS n FROM tickets GROUP BY 1;

-- name: character_length_and_octets
-- duckdb: SELECT DISTINCT category_l1, character_length(category_l1) AS chars, strlen(category_l1) AS bytes FROM tickets;
SELECT DISTINCT category_l1, character_length(category_l1) AS chars, octet_length(category_l1) AS bytes
FROM tickets;

-- name: substr_left_right
SELECT substr(street, 1, 2) AS a, substr(street, 3) AS b, left(district, 1) AS l, right(district, 1) AS r,
       count(*) AS n
FROM tickets WHERE street IS NOT NULL GROUP BY 1, 2, 3, 4;

-- name: substr_from_zero
SELECT DISTINCT district, substr(district, 0, 2) AS s FROM tickets;

-- name: strpos_replace_concat
SELECT DISTINCT category_l1, strpos(category_l1, '管') AS pos, replace(category_l1, '管理', 'GL') AS r,
       category_l1 || '/' || coalesce(category_l2, '-') AS path, concat(category_l1, NULL, '!') AS c
FROM tickets;

-- name: concat_with_null_operator
SELECT count(*) FILTER (WHERE (district || street) IS NULL) AS null_concat,
       count(*) FILTER (WHERE concat(district, street) IS NULL) AS null_concat_fn
FROM tickets;

-- name: split_part_and_trim
SELECT split_part(ticket_id, '-', 1) AS prefix, trim(' ' || district || ' ') AS d, count(*) AS n
FROM tickets GROUP BY 1, 2;

-- name: upper_lower_on_mixed_text
SELECT DISTINCT upper(channel) AS u, lower(upper(request_type)) AS l FROM tickets;

-- name: regexp_replace_on_masked_content
SELECT regexp_replace(content, '[0-9]', '#', 'g') AS c, count(*) AS n FROM tickets
WHERE district = '延庆区' AND received_at < TIMESTAMP '2024-02-01' GROUP BY 1;

-- name: regexp_match_operator
SELECT count(*) FILTER (WHERE category_l3 ~ '问题$') AS a, count(*) FILTER (WHERE street ~ '^.{2}镇') AS b FROM tickets;

-- name: starts_with_ends_with
SELECT count(*) FILTER (WHERE starts_with(street, district)) AS a,
       count(*) FILTER (WHERE ends_with(street, '镇')) AS b
FROM tickets;

-- name: string_agg_ordered
SELECT district, string_agg(DISTINCT channel, ',' ORDER BY channel) AS channels
FROM tickets WHERE channel IS NOT NULL GROUP BY district;

-- name: case_simple_and_searched
SELECT CASE urgency WHEN 'emergency' THEN 2 WHEN 'utility' THEN 1 ELSE 0 END AS u,
       CASE WHEN resolved THEN 'y' WHEN NOT resolved THEN 'n' END AS r, count(*) AS n
FROM tickets GROUP BY 1, 2;

-- name: case_without_else_gives_null
SELECT count(CASE WHEN request_type = 'praise' THEN 1 END) AS praise,
       sum(CASE WHEN request_type = 'praise' THEN 1 END) AS praise_sum
FROM tickets WHERE district = '大兴区';

-- name: boolean_aggregates
SELECT district, bool_and(received_at < closed_at) AS all_after, bool_or(resolved) AS any_resolved
FROM tickets GROUP BY district;

-- name: in_list_and_between_strings
SELECT count(*) AS n FROM tickets
WHERE request_type IN ('complaint', 'report') AND category_l1 BETWEEN '交' AND '环';

-- name: cast_boolean_and_numbers
SELECT CAST(resolved AS INT) AS r, count(*) AS n, sum(CAST(resolved AS INT)) AS s FROM tickets GROUP BY 1;

-- name: cast_string_to_timestamp
SELECT count(*) AS n FROM tickets WHERE received_at < CAST('2024-06-30 12:00:00' AS TIMESTAMP);

-- name: rounding
SELECT round(2.5) AS a, round(-2.5) AS b, round(2.345, 2) AS c, floor(-1.5) AS d, ceil(1.2) AS e,
       trunc(-1.7) AS f, abs(-3) AS g, 7 % 3 AS h, -7 % 3 AS i, power(2, 10) AS j;

-- name: group_by_expression_and_order_by_alias
-- ordered
SELECT substr(category_l1, 1, 1) AS initial, count(*) AS n FROM tickets
GROUP BY substr(category_l1, 1, 1) ORDER BY n DESC, initial LIMIT 5;

-- name: order_by_position_offset
-- ordered
SELECT district, count(*) FROM tickets GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5 OFFSET 3;

-- name: values_and_cross_join
SELECT v.k, count(*) AS n FROM tickets t CROSS JOIN (VALUES (1), (2)) AS v(k)
WHERE t.district = '怀柔区' AND t.received_at < TIMESTAMP '2024-01-15' GROUP BY v.k;

-- name: grouping_sets_rollup
SELECT district, request_type, count(*) AS n FROM tickets
WHERE district IN ('东城区', '西城区') GROUP BY ROLLUP (district, request_type);

-- name: excluded_tickets_share
SELECT excluded_reason, count(*) AS n,
       round(count(*) * 100.0 / (SELECT count(*) FROM tickets), 6) AS pct
FROM tickets GROUP BY 1;

-- name: distinct_from_then_or
-- refused: would be read as a comparison with everything after DISTINCT FROM
SELECT count(*) FILTER (WHERE resolved IS DISTINCT FROM true OR district = '东城区') AS n FROM tickets;

-- name: distinct_from_in_parentheses
SELECT count(*) FILTER (WHERE (resolved IS DISTINCT FROM true) OR district = '东城区') AS a,
       count(*) FILTER (WHERE district = '东城区' AND resolved IS NOT DISTINCT FROM false) AS b
FROM tickets;

-- name: subquery_inside_an_expression
-- refused: can stand only as a condition of WHERE
SELECT count(CASE WHEN street IN (SELECT street FROM streets WHERE type = '镇') THEN 1 END) AS n FROM tickets;

-- name: two_ordered_aggregates
-- refused: Conflicting ordering requirements
SELECT string_agg(channel, ',' ORDER BY channel), string_agg(urgency, ',' ORDER BY urgency) FROM tickets;

-- name: duplicate_output_names
-- refused: unique expression names
SELECT district, district FROM tickets;

-- name: masked_phones_keep_shape
SELECT length(caller_phone) AS len, count(*) AS n FROM tickets GROUP BY 1;

-- name: one_ticket_by_id
SELECT t.* FROM tickets t
JOIN (SELECT min(ticket_id) AS id FROM tickets WHERE district = '密云区') m ON t.ticket_id = m.id;
