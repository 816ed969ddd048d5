//! The generator of random well-typed queries over the canonical schema: grouped aggregates,
//! joins with `districts`, rankings and ticket rows, with literals drawn from the archive.

use super::*;

/// Values seen in the archive, for the generator's literals.
pub(super) struct Pools {
    pub(super) text: Vec<(&'static str, Vec<String>)>,
}

pub(super) const TEXT_COLUMNS: [&str; 11] = [
    "district",
    "street",
    "department",
    "category_l1",
    "category_l2",
    "channel",
    "request_type",
    "urgency",
    "satisfaction",
    "excluded_reason",
    "content",
];
pub(super) const TIME_COLUMNS: [&str; 5] = ["received_at", "dispatched_at", "responded_at", "closed_at", "due_at"];

impl Pools {
    pub(super) fn read(f: &Fixture) -> Pools {
        let text = TEXT_COLUMNS
            .iter()
            .map(|c| {
                let sql = format!("SELECT DISTINCT {c} FROM tickets WHERE {c} IS NOT NULL ORDER BY 1 LIMIT 40");
                let Answer::Rows(_, rows) = f.hotline(&sql) else { panic!("{sql}") };
                let values: Vec<String> = rows.iter().map(|r| r[0].as_str().unwrap().to_string()).collect();
                assert!(!values.is_empty(), "no values of {c}");
                (*c, values)
            })
            .collect();
        Pools { text }
    }
}

/// Random well-typed queries over the canonical schema: grouped aggregates (keys from columns,
/// date truncation, extraction, substrings, CASE buckets, duration buckets), filters (equality, IN,
/// LIKE on Chinese text, NULL tests, time ranges, durations against intervals, AND / OR / NOT),
/// HAVING, joins with `districts`, and row queries; every ORDER BY total, NULL order explicit.
pub(super) struct Generator {
    pub(super) rng: u64,
    pub(super) pools: Pools,
}

impl Generator {
    pub(super) fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(super) fn text_column(&mut self) -> &'static str {
        // content is masked text: searched, not grouped
        TEXT_COLUMNS[self.below(TEXT_COLUMNS.len() - 1)]
    }
    pub(super) fn literal_of(&mut self, column: &str) -> String {
        let r = self.next();
        let values = &self.pools.text.iter().find(|(c, _)| *c == column).unwrap().1;
        let v = values[(r % values.len() as u64) as usize].clone();
        format!("'{}'", v.replace('\'', "''"))
    }
    pub(super) fn time_literal(&mut self) -> String {
        let day = self.below(730) as i64;
        let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + chrono::Duration::days(day)
            + chrono::Duration::minutes(self.below(1440) as i64);
        format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S"))
    }
    pub(super) fn interval(&mut self) -> String {
        match self.below(4) {
            0 => format!("INTERVAL '{} minutes'", 1 + self.below(600)),
            1 => format!("INTERVAL '{} hours'", 1 + self.below(96)),
            2 => format!("INTERVAL '{} days'", 1 + self.below(20)),
            _ => format!("INTERVAL '{} days {} hours'", self.below(10), self.below(24)),
        }
    }
    pub(super) fn duration(&mut self) -> String {
        let pairs = [
            ("closed_at", "dispatched_at"),
            ("responded_at", "dispatched_at"),
            ("dispatched_at", "received_at"),
            ("closed_at", "received_at"),
            ("due_at", "closed_at"),
        ];
        let (a, b) = *self.pick(&pairs);
        format!("({a} - {b})")
    }
    pub(super) fn comparison(&mut self) -> &'static str {
        const OPS: [&str; 6] = ["<", "<=", ">", ">=", "=", "<>"];
        OPS[self.below(OPS.len())]
    }

    pub(super) fn predicate(&mut self, depth: usize) -> String {
        if depth < 2 && self.chance(30) {
            let a = self.predicate(depth + 1);
            let b = self.predicate(depth + 1);
            return match self.below(3) {
                0 => format!("({a} AND {b})"),
                1 => format!("({a} OR {b})"),
                _ => format!("NOT ({a})"),
            };
        }
        match self.below(15) {
            0 | 1 => {
                let c = self.text_column();
                let op = *self.pick(&["=", "<>", "<", ">="]);
                format!("{c} {op} {}", self.literal_of(c))
            }
            2 => {
                let c = self.text_column();
                let (a, b) = (self.literal_of(c), self.literal_of(c));
                let not = if self.chance(30) { "NOT " } else { "" };
                format!("{c} {not}IN ({a}, {b})")
            }
            3 => {
                let c = if self.chance(50) { self.text_column() } else { *self.pick(&TIME_COLUMNS) };
                let not = if self.chance(50) { "NOT " } else { "" };
                format!("{c} IS {not}NULL")
            }
            4 => {
                // LIKE on a piece of a real value (Chinese text)
                let c = if self.chance(30) { "content" } else { self.text_column() };
                let v = self.literal_of(c);
                let chars: Vec<char> = v.trim_matches('\'').chars().collect();
                let start = self.below(chars.len().max(1));
                let len = 1 + self.below(2);
                let piece: String = chars.iter().skip(start).take(len).filter(|c| !"%_'\\".contains(**c)).collect();
                match self.below(3) {
                    0 => format!("{c} LIKE '%{piece}%'"),
                    1 => format!("{c} LIKE '{piece}%'"),
                    _ => format!("{c} NOT LIKE '%{piece}'"),
                }
            }
            5 => {
                let c = *self.pick(&TIME_COLUMNS);
                let op = self.comparison();
                format!("{c} {op} {}", self.time_literal())
            }
            6 => {
                let c = *self.pick(&TIME_COLUMNS);
                let (a, b) = (self.time_literal(), self.time_literal());
                format!("{c} BETWEEN {a} AND {b}")
            }
            7 => {
                let d = self.duration();
                let i = self.interval();
                let op = self.comparison();
                if self.chance(25) { format!("{i} {op} {d}") } else { format!("{d} {op} {i}") }
            }
            8 => {
                let (a, b) = (*self.pick(&TIME_COLUMNS), *self.pick(&TIME_COLUMNS));
                let i = self.interval();
                let sign = if self.chance(50) { "+" } else { "-" };
                format!("{a} {} {b} {sign} {i}", self.comparison())
            }
            9 => (*self.pick(&[
                "resolved",
                "NOT resolved",
                "resolved IS NULL",
                "resolved = false",
                "resolved IS NOT TRUE",
            ]))
            .to_string(),
            10 => {
                let field = *self.pick(&["hour", "dow", "month", "day"]);
                let c = *self.pick(&TIME_COLUMNS);
                let a = self.below(12);
                format!("extract({field} FROM {c}) BETWEEN {a} AND {}", a + self.below(12))
            }
            11 => {
                let c = self.text_column();
                format!("length({c}) {} {}", self.comparison(), 1 + self.below(8))
            }
            12 => {
                let c = self.text_column();
                let v = self.literal_of(c);
                // in parentheses, as the session asks (corpus: distinct_from_then_or)
                match self.below(4) {
                    0 => format!("({c} IS DISTINCT FROM {v})"),
                    1 => format!("({c} IS NOT DISTINCT FROM {v})"),
                    2 => format!("coalesce({c}, '-') = {v}"),
                    _ => format!("nullif({c}, {v}) IS NULL"),
                }
            }
            13 => {
                let c = self.text_column();
                let v = self.literal_of(c);
                let ch: String = v.trim_matches('\'').chars().take(1).collect();
                format!("strpos({c}, '{ch}') {} {}", self.comparison(), self.below(3))
            }
            _ => {
                let c = *self.pick(&TIME_COLUMNS);
                format!("{c} < {c} + INTERVAL '{} hours'", self.below(5))
            }
        }
    }

    /// A subquery condition: DataFusion plans these only as a WHERE conjunct (corpus:
    /// subquery_inside_an_expression), so the generator puts them only there.
    pub(super) fn subquery_condition(&mut self) -> String {
        match self.below(4) {
            3 => {
                let c = *self.pick(&TIME_COLUMNS);
                format!("{c} >= (SELECT max({c}) - INTERVAL '30 days' FROM tickets)")
            }
            0 => "street IN (SELECT street FROM streets WHERE type = '镇')".to_string(),
            1 => format!(
                "district NOT IN (SELECT district FROM districts WHERE population_2020 > {})",
                self.below(3_000_000)
            ),
            _ => format!(
                "EXISTS (SELECT 1 FROM streets s WHERE s.street = tickets.street AND s.type = '{}')",
                self.pick(&["街道", "镇", "乡", "地区"])
            ),
        }
    }

    /// An expression to group by (never a floating-point value).
    pub(super) fn key(&mut self, joined: bool) -> String {
        match self.below(if joined { 10 } else { 9 }) {
            0..=2 => self.text_column().to_string(),
            3 => {
                let unit = *self.pick(&["month", "quarter", "week", "day", "year"]);
                format!("date_trunc('{unit}', {})", self.pick(&TIME_COLUMNS))
            }
            4 => {
                let field = *self.pick(&["hour", "dow", "month", "year", "quarter", "doy"]);
                format!("extract({field} FROM {})", self.pick(&TIME_COLUMNS))
            }
            5 => {
                let c = self.text_column();
                format!("substr({c}, {}, {})", 1 + self.below(2), 1 + self.below(3))
            }
            6 => format!("CASE WHEN {} THEN 'yes' ELSE 'no' END", self.predicate(1)),
            7 => {
                let d = self.duration();
                let (a, b) = (self.interval(), self.interval());
                format!("CASE WHEN {d} <= {a} THEN 'a' WHEN {d} <= {b} THEN 'b' WHEN {d} IS NULL THEN 'n' ELSE 'c' END")
            }
            8 => (*self.pick(&[
                "resolved",
                "CAST(received_at AS DATE)",
                "coalesce(street, department, '-')",
                "length(category_l3)",
                "left(category_l2, 2)",
                "right(street, 2)",
                "replace(category_l1, '管理', '')",
                "date_trunc('day', received_at + INTERVAL '8 hours')",
                "extract(week FROM received_at)",
                "extract(isodow FROM received_at)",
                "nullif(urgency, 'general')",
                "split_part(category_l3, '问题', 1)",
                "CAST(resolved AS INT) + CAST(extract(month FROM received_at) AS INT) * 10",
            ]))
            .to_string(),
            _ => "d.type".to_string(),
        }
    }

    pub(super) fn aggregate(&mut self, joined: bool) -> String {
        match self.below(if joined { 14 } else { 13 }) {
            0 => "count(*)".into(),
            1 => format!("count({})", self.text_column()),
            2 => format!("count(DISTINCT {})", self.text_column()),
            3 => format!("sum(CASE WHEN {} THEN 1 ELSE 0 END)", self.predicate(1)),
            4 => format!("avg(CASE WHEN {} THEN 1.0 ELSE 0.0 END)", self.predicate(1)),
            5 => format!("{}({})", self.pick(&["min", "max"]), self.text_column()),
            6 => format!("{}({})", self.pick(&["min", "max"]), self.pick(&TIME_COLUMNS)),
            7 => format!("{}({})", self.pick(&["min", "max"]), self.duration()),
            8 => format!("avg(extract(hour FROM {}))", self.pick(&TIME_COLUMNS)),
            9 => format!("sum(length({}))", self.text_column()),
            10 => format!("count(*) FILTER (WHERE {})", self.predicate(1)),
            11 => format!("avg(extract(epoch FROM {}))", self.duration()),
            12 => match self.below(6) {
                0 => format!("median(extract(minute FROM {}))", self.pick(&TIME_COLUMNS)),
                1 => format!("stddev_pop(extract(hour FROM {}))", self.pick(&TIME_COLUMNS)),
                2 => format!("bool_or({})", self.predicate(1)),
                3 => format!("max(length({0})) - min(length({0}))", self.text_column()),
                4 => format!("sum(extract(day FROM {})) % 7", self.pick(&TIME_COLUMNS)),
                _ => {
                    let c = *self.pick(&["channel", "urgency", "satisfaction", "request_type"]);
                    format!("string_agg(DISTINCT {c}, ',' ORDER BY {c})")
                }
            },
            _ => "sum(d.population_2020)".into(),
        }
    }

    pub(super) fn order(&mut self, n: usize) -> String {
        (1..=n)
            .map(|i| {
                let dir = if self.chance(50) { "ASC" } else { "DESC" };
                let nulls = if self.chance(50) { "NULLS FIRST" } else { "NULLS LAST" };
                format!("{i} {dir} {nulls}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn query(&mut self) -> String {
        if self.chance(20) {
            // rows: a few expressions of single tickets, ordered by the unique id
            let exprs = [
                "street",
                "substr(content, 1, 6)",
                "closed_at - dispatched_at",
                "date_trunc('hour', received_at)",
                "upper(channel)",
                "category_l1 || '/' || coalesce(category_l2, '?')",
                "CAST(resolved AS INT)",
                "extract(minute FROM responded_at)",
                "coalesce(due_at, closed_at)",
                "length(content)",
                "caller_phone",
            ];
            let k = 1 + self.below(4);
            let mut cols: Vec<&str> = (0..k).map(|_| *self.pick(&exprs)).collect();
            unique(&mut cols);
            return format!(
                "SELECT ticket_id, {} FROM tickets WHERE {} ORDER BY ticket_id LIMIT {}",
                cols.join(", "),
                self.predicate(0),
                1 + self.below(40)
            );
        }
        if self.chance(10) {
            // a ranking over a grouped count, ordered totally
            let k = self.key(false);
            let f =
                *self.pick(&["rank()", "dense_rank()", "row_number()", "ntile(3)", "percent_rank()", "cume_dist()"]);
            let part = if self.chance(50) { "PARTITION BY (count(*) % 2) " } else { "" };
            return format!(
                "SELECT {k} AS k, count(*) AS n, {f} OVER ({part}ORDER BY count(*) DESC, {k} ASC NULLS LAST) AS w, \
                 sum(count(*)) OVER (ORDER BY {k} ASC NULLS FIRST ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s \
                 FROM tickets WHERE {} GROUP BY {k} ORDER BY 1 ASC NULLS LAST",
                self.predicate(1)
            );
        }
        let joined = self.chance(15);
        // DataFusion refuses two output columns of the same name (corpus: duplicate_output_names)
        let mut keys: Vec<String> = (0..self.below(3)).map(|_| self.key(joined)).collect();
        unique(&mut keys);
        let mut aggs: Vec<String> = (0..1 + self.below(3)).map(|_| self.aggregate(joined)).collect();
        unique(&mut aggs);
        // one ordered aggregate per query: DataFusion refuses two orders (corpus: two_ordered_aggregates)
        let first = aggs.iter().position(|a| a.contains("ORDER BY"));
        let mut i = 0;
        aggs.retain(|a| {
            i += 1;
            !a.contains("ORDER BY") || Some(i - 1) == first
        });
        let from = if joined { "tickets JOIN districts d ON d.district = tickets.district" } else { "tickets" };
        let mut sql =
            format!("SELECT {} FROM {from}", keys.iter().chain(aggs.iter()).cloned().collect::<Vec<_>>().join(", "));
        if self.chance(70) {
            sql.push_str(&format!(" WHERE {}", self.predicate(0)));
            if !joined && self.chance(20) {
                sql.push_str(&format!(" AND {}", self.subquery_condition()));
            }
        }
        if !keys.is_empty() {
            let positions: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
            sql.push_str(&format!(" GROUP BY {}", positions.join(", ")));
            if self.chance(20) {
                sql.push_str(&format!(" HAVING count(*) > {}", self.below(50)));
            }
            sql.push_str(&format!(" ORDER BY {}", self.order(keys.len())));
            if self.chance(40) {
                sql.push_str(&format!(" LIMIT {}", 1 + self.below(20)));
            }
        }
        // the joined columns are qualified: `district` alone would be ambiguous
        if joined { qualify(&sql) } else { sql }
    }
}

/// Keep the first of equal items, in order.
pub(super) fn unique<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::new();
    items.retain(|x| {
        let new = !seen.contains(x);
        if new {
            seen.push(x.clone());
        }
        new
    });
}

/// Qualify the ticket columns of a joined query with `tickets.` where `districts` has the same name.
pub(super) fn qualify(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(i) = rest.find("district") {
        let before = rest[..i].chars().last();
        let after = rest[i + "district".len()..].chars().next();
        let word = !matches!(before, Some(c) if c.is_alphanumeric() || c == '_' || c == '.')
            && !matches!(after, Some(c) if c.is_alphanumeric() || c == '_' || c == '\'');
        let quoted = (out.matches('\'').count() + rest[..i].matches('\'').count()) % 2 == 1;
        out.push_str(&rest[..i]);
        if word && !quoted {
            out.push_str("tickets.district");
        } else {
            out.push_str("district");
        }
        rest = &rest[i + "district".len()..];
    }
    out.push_str(rest);
    out
}
