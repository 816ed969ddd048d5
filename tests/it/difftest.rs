//! Differential testing against DuckDB: the analyst corpus (tests/difftest/corpus.sql) and a
//! generator of random well-typed queries over the canonical schema, each answered by the session
//! `hotline sql` uses (masked `tickets`, reference tables, the session's rules) and by DuckDB
//! (tests/difftest/duckdb_answers.py) on the same rows, the answers compared value by value.
//!
//! Tolerance: floating-point values agree when |a − b| ≤ 1e-9 · max(1, |a|, |b|); integers,
//! text, booleans, timestamps and durations exactly. Rows are compared in order where the query
//! says `-- ordered` (its ORDER BY is total), otherwise as multisets.
//!
//! `HOTLINE_DIFFTEST_QUERIES` (default 300) random queries are run from `HOTLINE_DIFFTEST_SEED`
//! (default 31); set both for a longer run on demand, for example
//! `HOTLINE_DIFFTEST_QUERIES=20000 HOTLINE_DIFFTEST_SEED=$RANDOM cargo test --release difftest`.
//! A disagreement prints the query and both answers; make it a corpus entry once resolved.

use std::path::{Path, PathBuf};
use std::process::Command;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use serde_json::{Value, json};

use crate::common::*;

/// One query of the corpus.
#[derive(Debug, Clone)]
struct Query {
    name: String,
    sql: String,
    /// DuckDB's spelling, when the dialects differ.
    duckdb: Option<String>,
    ordered: bool,
    /// hotline must refuse it with a message containing this.
    refused: Option<String>,
}

fn corpus() -> Vec<Query> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/difftest/corpus.sql");
    parse_corpus(&std::fs::read_to_string(&path).unwrap())
}

fn parse_corpus(text: &str) -> Vec<Query> {
    let mut out: Vec<Query> = Vec::new();
    let mut current: Option<Query> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- name: ") {
            assert!(current.is_none(), "query before `{name}` does not end with `;`");
            current = Some(Query {
                name: name.trim().to_string(),
                sql: String::new(),
                duckdb: None,
                ordered: false,
                refused: None,
            });
            continue;
        }
        let Some(q) = current.as_mut() else { continue };
        if line.trim() == "-- ordered" {
            q.ordered = true;
        } else if let Some(sql) = line.strip_prefix("-- duckdb: ") {
            q.duckdb = Some(sql.trim().trim_end_matches(';').to_string());
        } else if let Some(text) = line.strip_prefix("-- refused: ") {
            q.refused = Some(text.trim().to_string());
        } else if !line.starts_with("--") {
            q.sql.push_str(line);
            q.sql.push('\n');
            if line.trim_end().ends_with(';') {
                let mut q = current.take().unwrap();
                q.sql = q.sql.trim().trim_end_matches(';').to_string();
                out.push(q);
            }
        }
    }
    assert!(current.is_none(), "the last query does not end with `;`");
    out
}

/// A generated archive, the session `hotline sql` opens on it, and the same tables as DuckDB reads them.
struct Fixture {
    _dir: tempfile::TempDir,
    /// tickets.parquet (the masked view's rows), districts, streets and population
    tables: PathBuf,
    rt: tokio::runtime::Runtime,
    ctx: datafusion::prelude::SessionContext,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let out =
        hotline(&["generate", "--out", s(&archive), "--tickets", "20000", "--years", "2024-2025", "--seed", "31"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rt = hotline::commands::runtime().unwrap();
    // the session of `hotline sql` (src/commands/sql.rs), step by step
    let ctx = hotline::engine::session_with_memory_limit(2 << 30).unwrap();
    rt.block_on(hotline::engine::register_archive(&ctx, &archive)).unwrap();
    let config = hotline::config::Config::default();
    hotline::sqltool::register_reference(&ctx, &config.metrics.population).unwrap();
    rt.block_on(hotline::sqltool::mask_personal_data(&ctx)).unwrap();
    // DuckDB reads what the session's tables show (the masked columns included: the key that
    // hashes caller ids is fixed for the session, so both see the same values)
    let tables = dir.path().join("tables");
    std::fs::create_dir_all(&tables).unwrap();
    for t in ["tickets", "districts", "streets", "population"] {
        let path = tables.join(format!("{t}.parquet"));
        rt.block_on(async {
            let batches = ctx.table(t).await.unwrap().collect().await.unwrap();
            let schema = batches[0].schema();
            let mut w =
                datafusion::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
                    .unwrap();
            for b in &batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
        });
    }
    Fixture { _dir: dir, tables, rt, ctx }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An answer: column count and rows of neutral values (the form duckdb_answers.py writes).
#[derive(Debug, Clone)]
enum Answer {
    Rows(usize, Vec<Vec<Value>>),
    Error(String),
}

impl Fixture {
    fn hotline(&self, sql: &str) -> Answer {
        let timeout = Some(std::time::Duration::from_secs(60));
        match hotline::sqltool::run(&self.rt, &self.ctx, sql, vec![], timeout) {
            Ok((schema, batches)) => {
                let mut rows = Vec::new();
                for b in &batches {
                    rows.extend(neutral_rows(b));
                }
                Answer::Rows(schema.fields().len(), rows)
            }
            Err(e) => Answer::Error(format!("{e:#}")),
        }
    }

    /// DuckDB's answers to `(name, sql)`, in order.
    fn duckdb(&self, queries: &[(String, String)]) -> Vec<Answer> {
        let dir = tempfile::tempdir().unwrap();
        let qpath = dir.path().join("queries.json");
        let apath = dir.path().join("answers.json");
        let list: Vec<Value> = queries.iter().map(|(n, q)| json!({"name": n, "sql": q})).collect();
        std::fs::write(&qpath, serde_json::to_string(&list).unwrap()).unwrap();
        let python = std::env::var("HOTLINE_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/difftest/duckdb_answers.py");
        let out = Command::new(&python)
            .arg(&script)
            .args([&self.tables, &qpath, &apath])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        assert!(
            out.status.success(),
            "DuckDB's answers failed (the `duckdb` Python package is installed by scripts/install-deps.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answers: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&apath).unwrap()).unwrap();
        assert_eq!(answers.len(), queries.len());
        answers
            .into_iter()
            .map(|a| match a.get("error") {
                Some(e) => Answer::Error(e.as_str().unwrap_or_default().to_string()),
                None => Answer::Rows(
                    a["columns"].as_array().unwrap().len(),
                    a["rows"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().clone()).collect(),
                ),
            })
            .collect()
    }
}

/// The rows of a batch in the neutral form: numbers as numbers, timestamps as
/// "YYYY-MM-DD HH:MM:SS.ffffff", dates as "YYYY-MM-DD", durations as "dur:<µs>".
fn neutral_rows(b: &RecordBatch) -> Vec<Vec<Value>> {
    let cols: Vec<Vec<Value>> = b.columns().iter().map(|c| neutral_column(c.as_ref())).collect();
    (0..b.num_rows()).map(|i| cols.iter().map(|c| c[i].clone()).collect()).collect()
}

fn neutral_column(a: &dyn Array) -> Vec<Value> {
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::*;
    let float = |v: f64| {
        if v.is_nan() {
            json!("NaN")
        } else if v.is_infinite() {
            json!(if v > 0.0 { "inf" } else { "-inf" })
        } else {
            json!(v)
        }
    };
    let n = a.len();
    let each = |f: &dyn Fn(usize) -> Value| (0..n).map(|i| if a.is_null(i) { Value::Null } else { f(i) }).collect();
    let micros = |us: i64| {
        let t = chrono::DateTime::from_timestamp_micros(us).unwrap().naive_utc();
        json!(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    };
    match a.data_type() {
        DataType::Null => vec![Value::Null; n],
        DataType::Boolean => each(&|i| json!(a.as_boolean().value(i))),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let c = cast(a, &DataType::Int64).unwrap();
            let c = c.as_primitive::<Int64Type>().clone();
            each(&|i| json!(c.value(i)))
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let c = cast(a, &DataType::UInt64).unwrap();
            let c = c.as_primitive::<UInt64Type>().clone();
            each(&|i| json!(c.value(i)))
        }
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => {
            let c = cast(a, &DataType::Float64).unwrap();
            let c = c.as_primitive::<Float64Type>().clone();
            each(&|i| float(c.value(i)))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..) => {
            let c = cast(a, &DataType::Utf8).unwrap();
            let c = c.as_string::<i32>().clone();
            each(&|i| json!(c.value(i)))
        }
        DataType::Timestamp(_, _) => {
            let c = cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap();
            let c = c.as_primitive::<TimestampMicrosecondType>().clone();
            each(&|i| micros(c.value(i)))
        }
        DataType::Date32 | DataType::Date64 => {
            let c = cast(a, &DataType::Date32).unwrap();
            let c = c.as_primitive::<Date32Type>().clone();
            each(&|i| json!(c.value_as_date(i).unwrap().format("%Y-%m-%d").to_string()))
        }
        DataType::Duration(_) => {
            let c = cast(a, &DataType::Duration(TimeUnit::Microsecond)).unwrap();
            let c = c.as_primitive::<DurationMicrosecondType>().clone();
            each(&|i| json!(format!("dur:{}", c.value(i))))
        }
        DataType::Interval(_) => {
            let c = cast(a, &DataType::Interval(IntervalUnit::MonthDayNano)).unwrap();
            let c = c.as_primitive::<IntervalMonthDayNanoType>().clone();
            each(&|i| {
                let v = c.value(i);
                let us = (v.months as i64 * 30 + v.days as i64) * 86_400_000_000 + v.nanoseconds / 1000;
                json!(format!("dur:{us}"))
            })
        }
        other => {
            let opts = datafusion::arrow::util::display::FormatOptions::default();
            let f = datafusion::arrow::util::display::ArrayFormatter::try_new(a, &opts).unwrap();
            let _ = other;
            each(&|i| json!(f.value(i).to_string()))
        }
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * 1f64.max(x.abs()).max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        _ => a == b,
    }
}

/// A sort key for a row that tiny floating-point differences do not change.
fn row_key(row: &[Value]) -> String {
    row.iter()
        .map(|v| match v {
            Value::Number(n) if n.as_i64().is_none() => format!("{:.6e}", n.as_f64().unwrap()),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\u{1}")
}

/// None when the answers agree, else what differs.
fn compare(ours: &Answer, theirs: &Answer, ordered: bool) -> Option<String> {
    match (ours, theirs) {
        (Answer::Error(a), Answer::Error(_)) => {
            // both refuse: agreement (the generator's rare ill-typed query); counted by the caller
            let _ = a;
            None
        }
        (Answer::Error(e), Answer::Rows(..)) => Some(format!("hotline refused, DuckDB answered: {e}")),
        (Answer::Rows(..), Answer::Error(e)) => Some(format!("DuckDB refused, hotline answered: {e}")),
        (Answer::Rows(nc_a, a), Answer::Rows(nc_b, b)) => {
            if nc_a != nc_b {
                return Some(format!("{nc_a} columns vs DuckDB's {nc_b}"));
            }
            if a.len() != b.len() {
                return Some(format!(
                    "{} rows vs DuckDB's {}; first rows: {:?} vs {:?}",
                    a.len(),
                    b.len(),
                    a.iter().take(3).collect::<Vec<_>>(),
                    b.iter().take(3).collect::<Vec<_>>()
                ));
            }
            let (mut a, mut b) = (a.clone(), b.clone());
            if !ordered {
                a.sort_by_cached_key(|r| row_key(r));
                b.sort_by_cached_key(|r| row_key(r));
            }
            for (i, (ra, rb)) in a.iter().zip(&b).enumerate() {
                if ra.len() != rb.len() || !ra.iter().zip(rb).all(|(x, y)| same_value(x, y)) {
                    return Some(format!("row {i}: {ra:?} vs DuckDB's {rb:?}"));
                }
            }
            None
        }
    }
}

#[test]
fn the_corpus_and_random_queries_agree_with_duckdb() {
    let f = fixture();
    let corpus = corpus();
    assert!(corpus.len() >= 80, "the corpus has {} queries", corpus.len());
    let seed: u64 = std::env::var("HOTLINE_DIFFTEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(31);
    let count: usize = std::env::var("HOTLINE_DIFFTEST_QUERIES").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let pools = Pools::read(&f);
    let mut generator = Generator { rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, pools };
    let random: Vec<String> = (0..count).map(|_| generator.query()).collect();

    let mut to_duckdb: Vec<(String, String)> = corpus
        .iter()
        .filter(|q| q.refused.is_none())
        .map(|q| (q.name.clone(), q.duckdb.clone().unwrap_or_else(|| q.sql.clone())))
        .collect();
    to_duckdb.extend(random.iter().enumerate().map(|(i, q)| (format!("random {i}"), q.clone())));
    let theirs = f.duckdb(&to_duckdb);
    let mut theirs = theirs.into_iter();

    let mut failures = Vec::new();
    for q in &corpus {
        let ours = f.hotline(&q.sql);
        if let Some(needle) = &q.refused {
            match &ours {
                Answer::Error(e) if e.contains(needle.as_str()) => {}
                other => failures.push(format!("{}: expected a refusal mentioning `{needle}`, got {other:?}", q.name)),
            }
            continue;
        }
        let answer = theirs.next().unwrap();
        for (who, a) in [("hotline", &ours), ("DuckDB", &answer)] {
            if let Answer::Error(e) = a {
                failures.push(format!("{}: {who} failed: {e}\n{}", q.name, q.sql));
            }
        }
        if let Some(diff) = compare(&ours, &answer, q.ordered) {
            failures.push(format!("{}: {diff}\n{}", q.name, q.sql));
        }
    }
    let mut both_refused = 0;
    for (i, q) in random.iter().enumerate() {
        let ours = f.hotline(q);
        let answer = theirs.next().unwrap();
        if matches!((&ours, &answer), (Answer::Error(_), Answer::Error(_))) {
            both_refused += 1;
        }
        if let Some(diff) = compare(&ours, &answer, true) {
            failures.push(format!("random query {i} (seed {seed}): {diff}\n{q}"));
        }
    }
    eprintln!(
        "difftest: {} corpus queries, {count} random queries (seed {seed}), {both_refused} refused by both, {} disagreements",
        corpus.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} disagreements with DuckDB:\n\n{}", failures.len(), failures.join("\n\n"));
    // the generator writes well-typed queries: both engines refusing one means it is broken
    assert!(both_refused * 50 <= count.max(1), "{both_refused} of {count} random queries were refused by both");
}

/// Values seen in the archive, for the generator's literals.
struct Pools {
    text: Vec<(&'static str, Vec<String>)>,
}

const TEXT_COLUMNS: [&str; 11] = [
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
const TIME_COLUMNS: [&str; 5] = ["received_at", "dispatched_at", "responded_at", "closed_at", "due_at"];

impl Pools {
    fn read(f: &Fixture) -> Pools {
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
struct Generator {
    rng: u64,
    pools: Pools,
}

impl Generator {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn text_column(&mut self) -> &'static str {
        // content is masked text: searched, not grouped
        TEXT_COLUMNS[self.below(TEXT_COLUMNS.len() - 1)]
    }
    fn literal_of(&mut self, column: &str) -> String {
        let r = self.next();
        let values = &self.pools.text.iter().find(|(c, _)| *c == column).unwrap().1;
        let v = values[(r % values.len() as u64) as usize].clone();
        format!("'{}'", v.replace('\'', "''"))
    }
    fn time_literal(&mut self) -> String {
        let day = self.below(730) as i64;
        let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + chrono::Duration::days(day)
            + chrono::Duration::minutes(self.below(1440) as i64);
        format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S"))
    }
    fn interval(&mut self) -> String {
        match self.below(4) {
            0 => format!("INTERVAL '{} minutes'", 1 + self.below(600)),
            1 => format!("INTERVAL '{} hours'", 1 + self.below(96)),
            2 => format!("INTERVAL '{} days'", 1 + self.below(20)),
            _ => format!("INTERVAL '{} days {} hours'", self.below(10), self.below(24)),
        }
    }
    fn duration(&mut self) -> String {
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
    fn comparison(&mut self) -> &'static str {
        const OPS: [&str; 6] = ["<", "<=", ">", ">=", "=", "<>"];
        OPS[self.below(OPS.len())]
    }

    fn predicate(&mut self, depth: usize) -> String {
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
    fn subquery_condition(&mut self) -> String {
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
    fn key(&mut self, joined: bool) -> String {
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

    fn aggregate(&mut self, joined: bool) -> String {
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

    fn order(&mut self, n: usize) -> String {
        (1..=n)
            .map(|i| {
                let dir = if self.chance(50) { "ASC" } else { "DESC" };
                let nulls = if self.chance(50) { "NULLS FIRST" } else { "NULLS LAST" };
                format!("{i} {dir} {nulls}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn query(&mut self) -> String {
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
fn unique<T: PartialEq + Clone>(items: &mut Vec<T>) {
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
fn qualify(sql: &str) -> String {
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

#[test]
fn the_corpus_parses_with_its_directives() {
    let q = parse_corpus(
        "-- comment\n-- name: a\n-- ordered\n-- duckdb: SELECT 2;\nSELECT 1\nFROM t;\n\n-- name: b\n-- refused: months\nSELECT 3;\n",
    );
    assert_eq!(q.len(), 2);
    assert_eq!((q[0].name.as_str(), q[0].sql.as_str(), q[0].ordered), ("a", "SELECT 1\nFROM t", true));
    assert_eq!(q[0].duckdb.as_deref(), Some("SELECT 2"));
    assert_eq!((q[1].refused.as_deref(), q[1].ordered), (Some("months"), false));
}

#[test]
fn answers_compare_with_the_stated_tolerance() {
    let rows = |v: Vec<Vec<Value>>| Answer::Rows(v.first().map_or(0, |r| r.len()), v);
    // 0.1 + 0.2 = 0.30000000000000004 in binary floating point: within 1e-9 relative
    assert!(compare(&rows(vec![vec![json!(0.1 + 0.2)]]), &rows(vec![vec![json!(0.3)]]), true).is_none());
    // 1e-6 relative is a different answer
    assert!(compare(&rows(vec![vec![json!(1.000001)]]), &rows(vec![vec![json!(1.0)]]), true).is_some());
    // integers exactly: 97 vs 98
    assert!(compare(&rows(vec![vec![json!(97)]]), &rows(vec![vec![json!(98)]]), true).is_some());
    // an integer and the same float agree (count(*) / 7.0 may be typed either way)
    assert!(compare(&rows(vec![vec![json!(3)]]), &rows(vec![vec![json!(3.0)]]), true).is_none());
    // unordered: the same multiset in another order agrees; ordered it does not
    let a = rows(vec![vec![json!("东城区"), json!(1)], vec![json!("西城区"), json!(2)]]);
    let b = rows(vec![vec![json!("西城区"), json!(2)], vec![json!("东城区"), json!(1)]]);
    assert!(compare(&a, &b, false).is_none());
    assert!(compare(&a, &b, true).is_some());
    // NULL is not an empty string
    assert!(compare(&rows(vec![vec![Value::Null]]), &rows(vec![vec![json!("")]]), true).is_some());
    assert!(compare(&Answer::Error("x".into()), &rows(vec![vec![json!(1)]]), true).is_some());
}

#[test]
fn joined_queries_qualify_the_ticket_district() {
    assert_eq!(
        qualify(
            "SELECT district, d.type FROM tickets JOIN districts d ON d.district = tickets.district WHERE district = '东城district'"
        ),
        "SELECT tickets.district, d.type FROM tickets JOIN districts d ON d.district = tickets.district WHERE tickets.district = '东城district'"
    );
}
