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

mod generator;
use generator::*;

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
