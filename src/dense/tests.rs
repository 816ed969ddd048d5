//! The dense aggregation against DataFusion's own hash aggregation, on random tables whose
//! keys cover every key kind, nulls, growth past the packed bits, the wide keys, grouping
//! sets, FILTER clauses, early emission and pass-through.

use super::*;
use datafusion::arrow::array::{
    BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, StringViewArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn maybe<T>(&mut self, null_in: u64, v: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        if self.next(null_in) == 0 { None } else { Some(v(self)) }
    }
}

fn table(seed: u64, rows: usize) -> Vec<Vec<RecordBatch>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("short", DataType::Utf8View, true),
        Field::new("long", DataType::Utf8View, true),
        Field::new("text", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("d", DataType::Date32, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("id", DataType::Utf8, false),
        Field::new("x", DataType::Int64, true),
        Field::new("v", DataType::Float64, true),
    ]));
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let shorts = ["东城区", "西城区", "a", "", "朝阳区"];
    let mut parts = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut at = 0;
    while at < rows {
        let n = (rows - at).min(1 + rng.next(900) as usize);
        let mut cols: Vec<ArrayRef> = Vec::new();
        let short: Vec<Option<&str>> = (0..n).map(|_| rng.maybe(7, |r| shorts[r.next(5) as usize])).collect();
        cols.push(Arc::new(StringViewArray::from(short)));
        let long: Vec<Option<String>> =
            (0..n).map(|_| rng.maybe(9, |r| format!("某某街道办事处第{}社区", r.next(40)))).collect();
        cols.push(Arc::new(StringViewArray::from(long)));
        let text: Vec<Option<String>> = (0..n).map(|_| rng.maybe(11, |r| format!("类{}", r.next(300)))).collect();
        cols.push(Arc::new(StringArray::from(text)));
        cols.push(Arc::new(Int64Array::from(
            (0..n).map(|_| rng.maybe(13, |r| r.next(2000) as i64)).collect::<Vec<_>>(),
        )));
        cols.push(Arc::new(BooleanArray::from((0..n).map(|_| rng.maybe(5, |r| r.next(2) == 0)).collect::<Vec<_>>())));
        cols.push(Arc::new(Date32Array::from(
            (0..n).map(|_| rng.maybe(17, |r| 20_000 + r.next(400) as i32)).collect::<Vec<_>>(),
        )));
        let ts = (0..n).map(|_| rng.maybe(19, |r| 1_735_689_600_000_000 + r.next(400 * 86_400) as i64 * 1_000_000));
        cols.push(Arc::new(TimestampMicrosecondArray::from(ts.collect::<Vec<_>>())));
        cols.push(Arc::new(StringArray::from((at..at + n).map(|i| format!("T{i:07}")).collect::<Vec<_>>())));
        cols.push(Arc::new(Int64Array::from(
            (0..n).map(|_| rng.maybe(6, |r| r.next(1000) as i64 - 300)).collect::<Vec<_>>(),
        )));
        cols.push(Arc::new(Float64Array::from(
            (0..n).map(|_| rng.maybe(6, |r| r.next(1000) as f64 / 7.0)).collect::<Vec<_>>(),
        )));
        let part = rng.next(3) as usize;
        parts[part].push(RecordBatch::try_new(Arc::clone(&schema), cols).unwrap());
        at += n;
    }
    parts
}

fn ctx(dense: Option<DenseAggregate>, probe_rows: usize, parts: Vec<Vec<RecordBatch>>) -> SessionContext {
    let mut config = SessionConfig::new().with_target_partitions(2).with_batch_size(700);
    config.options_mut().execution.skip_partial_aggregation_probe_rows_threshold = probe_rows;
    let mut state = SessionStateBuilder::new().with_config(config).with_default_features();
    if let Some(rule) = dense {
        state = state.with_physical_optimizer_rule(Arc::new(rule));
    }
    let ctx = SessionContext::new_with_state(state.build());
    ctx.register_udaf(crate::udf::quantile_exact());
    let schema = parts.iter().flatten().next().unwrap().schema();
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, parts).unwrap())).unwrap();
    ctx
}

/// (query, whether the dense plan must use DenseAggregateExec)
const QUERIES: [(&str, bool); 10] = [
    (
        "SELECT short, long, count(*) AS c, sum(x) AS s, min(v) AS lo, max(long) AS hi, avg(x) AS a
      FROM t GROUP BY short, long",
        true,
    ),
    ("SELECT text, n, b, count(x) AS c, sum(x) FILTER (WHERE v > 50) AS s FROM t GROUP BY text, n, b", true),
    (
        "SELECT d, date_trunc('month', ts) AS m, n % 7 AS r, count(*) AS c, quantile_exact(v, 0.5) AS q
      FROM t GROUP BY d, date_trunc('month', ts), n % 7",
        true,
    ),
    // more than 64 bits of numbers: the wide keys
    (
        "SELECT id, n, text, ts, d, long, short, b, count(*) AS c FROM t GROUP BY id, n, text, ts, d, long, short, b",
        true,
    ),
    (
        "SELECT short, n, d, b, grouping(n) AS gn, count(*) AS c, sum(x) FILTER (WHERE b) AS s FROM t
      GROUP BY GROUPING SETS ((short), (short, n), (d, b), (n))",
        true,
    ),
    ("SELECT short, long, count(*) AS c FROM t GROUP BY ROLLUP (short, long)", false),
    ("SELECT id, count(*) AS c, min(x) AS lo FROM t GROUP BY id HAVING count(*) >= 1", true),
    ("SELECT NULL AS z, short, count(*) AS c FROM t GROUP BY 1, 2", true),
    // DataFusion turns a single DISTINCT into two GROUP BYs: both dense
    ("SELECT short, count(DISTINCT n) AS c FROM t GROUP BY short", true),
    // an aggregate with ORDER BY stays DataFusion's
    ("SELECT short, first_value(x ORDER BY id) AS f FROM t GROUP BY short", false),
];

async fn answer(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    // the rows in order (a GROUP BY's order is not defined), after the header
    let mut rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).skip(1).collect();
    rows.sort_unstable();
    rows.join("\n")
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(&format!("EXPLAIN {sql}")).await.unwrap().collect().await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dense_equals_hash_aggregation() {
    // (seed, rows, max_groups, max_values, probe rows): the default; early emission every 50
    // groups; pass-through after 500 rows when the keys barely repeat; a key column of more than
    // 20 values is not dense (pass-through, or emission with grouping sets)
    let runs = [
        (1, 5_000, MAX_GROUPS, MAX_VALUES, 100_000),
        (2, 12_000, 50, MAX_VALUES, 100_000),
        (3, 9_000, MAX_GROUPS, MAX_VALUES, 500),
        (4, 3, 1, MAX_VALUES, 1),
        (5, 9_000, MAX_GROUPS, 20, 100_000),
    ];
    for (seed, rows, max_groups, max_values, probe) in runs {
        let parts = table(seed, rows);
        let hash = ctx(None, probe, parts.clone());
        let dense = ctx(Some(DenseAggregate { max_groups, max_values }), probe, parts);
        for (sql, uses) in QUERIES {
            let expected = answer(&hash, sql).await;
            let got = answer(&dense, sql).await;
            assert_eq!(got, expected, "seed {seed}, max_groups {max_groups}, max_values {max_values}: {sql}");
            assert_eq!(plan(&dense, sql).await.contains("DenseAggregateExec"), uses, "{sql}");
            assert!(!plan(&hash, sql).await.contains("DenseAggregateExec"));
            assert!(expected.lines().count() > 2 || rows < 10, "{sql} gave too little to compare:\n{expected}");
        }
    }
}
