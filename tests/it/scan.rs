//! The native scan (src/scan/) against the SQL files it stands in for: on random archives
//! with every kind of value the schema allows and many it does not (nulls in required columns,
//! unknown spellings, times out of order, repeated ticket_ids, a district missing from the
//! population table), split over two files and many row groups, each file storing its text as
//! Utf8, LargeUtf8 or Utf8View and its times in µs, ns or ms, every metric and every built-in
//! data check must come out the same, bit for bit; and the exact percentiles and the repeated
//! ids must be those the test computes itself from the rows.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use hotline::config::{MetricSettings, Population, PopulationRow, Topic};
use hotline::period::Period;
use hotline::schema;
use proptest::prelude::*;

use crate::metrics::assert_same;

/// xorshift64*: the rows of one archive from one seed that proptest picks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, from: &[Option<&'a str>]) -> Option<&'a str> {
        from[self.below(from.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const MIN: i64 = 60_000_000;
const HOUR: i64 = 60 * MIN;

fn micros(y: i32, m: u32, d: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros()
}

/// `n` random rows received between 2023-06-01 and 2026-01-10; their times in whole seconds
/// when `whole` (as most archives store them), else in any µs.
fn random_rows(seed: u64, n: usize, whole: bool) -> RecordBatch {
    let mut r = Rng(seed | 1);
    let (from, to) = (micros(2023, 6, 1), micros(2026, 1, 10));
    let mut ids: Vec<Option<String>> = Vec::new();
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::new(); 12];
    let mut times: [Vec<Option<i64>>; 5] = Default::default();
    let mut resolved = Vec::new();
    for i in 0..n {
        let id = if r.chance(1) {
            None
        } else if r.chance(3) && !ids.is_empty() {
            ids[r.below(ids.len() as u64) as usize].clone() // a repeated ticket_id
        } else {
            // some not ASCII
            Some(if i % 7 == 0 { format!("单{i}") } else { format!("t{i}") })
        };
        ids.push(id);
        let received = if r.chance(1) { None } else { Some(from + (r.next() % (to - from) as u64) as i64) };
        let dispatched = match received {
            Some(t) if r.chance(80) => Some(t + r.below(3 * HOUR as u64) as i64 - 10 * MIN),
            _ => None,
        };
        let after = |r: &mut Rng, base: Option<i64>, span: i64| match base {
            Some(t) if r.chance(85) => Some(t + r.below(span as u64) as i64 - HOUR),
            _ => None,
        };
        let responded = after(&mut r, dispatched, 40 * HOUR);
        let closed = after(&mut r, dispatched, 20 * 24 * HOUR);
        let due = match dispatched {
            Some(t) if r.chance(20) => Some(t + r.below(10 * 24 * HOUR as u64) as i64),
            _ => None,
        };
        let second = |t: Option<i64>| if whole { t.map(|t| t - t.rem_euclid(1_000_000)) } else { t };
        times[0].push(second(received));
        times[1].push(second(dispatched));
        times[2].push(second(responded));
        times[3].push(second(closed));
        // a source due time now and then (311 exports): on-time closing is judged against it
        times[4].push(second(due));
        resolved.push(match r.below(3) {
            0 => None,
            k => Some(k == 1),
        });
        let values: [&[Option<&str>]; 12] = [
            &[
                Some("phone"),
                Some("web"),
                Some("wechat"),
                Some("app"),
                Some("weibo"),
                Some("other"),
                Some("fax"),
                Some("unknown"),
                None,
            ],
            &[
                Some("consultation"),
                Some("help"),
                Some("complaint"),
                Some("report"),
                Some("praise"),
                Some("bogus"),
                None,
            ],
            &[Some("城乡建设"), Some("城乡建设"), Some("公共安全"), Some("交通管理"), None],
            &[Some("供水"), Some("供暖"), Some("治安"), Some("公共安全"), None, None],
            &[Some("停水"), Some("噪音"), None, None],
            &[
                Some("emergency"),
                Some("utility"),
                Some("general"),
                Some("general"),
                Some("complex"),
                Some("urgent"),
                None,
            ],
            &[Some("甲区"), Some("甲区"), Some("乙区"), Some("丙区"), Some("丁区"), None],
            &[Some("一街道"), Some("二街道"), Some("三街道"), None],
            &[Some("市水务局"), Some("市城管委"), Some("区住建委"), Some("#read(\"/etc/passwd\")"), None],
            &[Some("satisfied"), Some("basically_satisfied"), Some("dissatisfied"), Some("meh"), None],
            &[None, None, None, None, None, None, Some("duplicate"), Some("invalid"), Some("spam")],
            &[None],
        ];
        for (k, v) in values.iter().enumerate() {
            // required columns are null only now and then
            let value = r.pick(v);
            let value = if [1, 2, 6].contains(&k) && value.is_none() && !r.chance(10) { v[0] } else { value };
            cols[k].push(value.map(str::to_string));
        }
    }
    let s = |v: &Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(v.clone())) };
    let t = |v: &Vec<Option<i64>>| -> ArrayRef { Arc::new(TimestampMicrosecondArray::from(v.clone())) };
    let none = vec![None; n];
    let columns: Vec<ArrayRef> = vec![
        s(&ids),
        t(&times[0]),
        s(&cols[0]),
        s(&cols[1]),
        s(&cols[2]),
        s(&cols[3]),
        s(&cols[4]),
        s(&cols[5]),
        s(&cols[6]),
        s(&cols[7]),
        s(&cols[8]),
        t(&times[1]),
        t(&times[2]),
        t(&times[3]),
        t(&times[4]),
        Arc::new(BooleanArray::from(resolved)),
        s(&cols[9]),
        s(&cols[10]),
        s(&none),
        s(&none),
        s(&none),
    ];
    // every column nullable, as an import from a messy export could be
    let fields: Vec<_> =
        schema::file_schema().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
    RecordBatch::try_new(Arc::new(datafusion::arrow::datatypes::Schema::new(fields)), columns).unwrap()
}

fn write(dir: &std::path::Path, name: &str, batch: &RecordBatch, row_group: usize) {
    write_as(dir, name, batch, row_group, 0);
}

/// How a file stores its columns (the scan reads each through arrow-rs). ticket_id: 0 the
/// writer's defaults (a dictionary); PLAIN in 1 version-1 pages of 5 rows, uncompressed, 2
/// version-2 pages, ZSTD; 3 version-2 pages of the writer's choice (DELTA_BYTE_ARRAY). The
/// other columns: dictionaries, but in 1 a dictionary of at most 64 bytes, so that a column
/// chunk goes on in PLAIN pages once it is full, and in 2 PLAIN pages only.
fn write_as(dir: &std::path::Path, name: &str, batch: &RecordBatch, row_group: usize, layout: u8) {
    use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
    use datafusion::parquet::file::properties::WriterVersion;
    use datafusion::parquet::schema::types::ColumnPath;
    let id = ColumnPath::from("ticket_id");
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(row_group));
    let props = match layout {
        0 => props,
        1 => props
            .set_column_dictionary_enabled(id, false)
            .set_data_page_row_count_limit(5)
            .set_write_batch_size(5)
            .set_dictionary_page_size_limit(64),
        2 => props
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::PLAIN)
            .set_column_encoding(id, Encoding::PLAIN)
            .set_compression(Compression::ZSTD(ZstdLevel::default())),
        _ => props.set_writer_version(WriterVersion::PARQUET_2_0).set_column_dictionary_enabled(id, false),
    }
    .build();
    let f = std::fs::File::create(dir.join(name)).unwrap();
    let mut w = ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// The batch as another writer might store it: 0 as generated (Utf8, µs); 1 large strings and
/// nanoseconds; 2 string views and milliseconds (the µs digits are cut, in the file itself).
fn recode(batch: &RecordBatch, variant: u8) -> RecordBatch {
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    if variant == 0 {
        return batch.clone();
    }
    let (text, unit) = match variant {
        1 => (DataType::LargeUtf8, TimeUnit::Nanosecond),
        _ => (DataType::Utf8View, TimeUnit::Millisecond),
    };
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let ty = match f.data_type() {
            DataType::Utf8 => text.clone(),
            DataType::Timestamp(_, _) => DataType::Timestamp(unit, None),
            other => other.clone(),
        };
        cols.push(datafusion::arrow::compute::cast(c, &ty).unwrap());
        fields.push(Field::new(f.name(), ty, true));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

fn settings() -> MetricSettings {
    let month = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
    let row = |d: &str, p| PopulationRow { district: d.to_string(), street: None, population: p };
    MetricSettings {
        min_scored_tickets: 2,
        topics: vec![
            Topic { name: "供水".into(), month: month(2025, 3), categories: vec!["供水".into(), "停水".into()] },
            Topic { name: "安全".into(), month: month(2024, 11), categories: vec!["公共安全".into()] },
        ],
        population: Population {
            source: "test".into(),
            sha256: None,
            rows: vec![row("甲区", 1000), row("乙区", 2000), row("丙区", 500)],
        },
        ..MetricSettings::default()
    }
}

/// A session on the archive in `dir` with the population table the checks read.
async fn session(
    dir: &std::path::Path,
    settings: &MetricSettings,
) -> (datafusion::prelude::SessionContext, hotline::engine::Archive) {
    let ctx = hotline::engine::session();
    let archive = hotline::engine::register_archive(&ctx, dir).await.unwrap();
    let population = hotline::config::population_batch(&settings.population).unwrap();
    hotline::metrics::register(&ctx, "population", vec![population]).unwrap();
    (ctx, archive)
}

/// `encodings`: how the two files store their columns (see [`recode`]), `layouts` their ids (see
/// [`write_as`]).
fn compare(
    seed: u64,
    n: usize,
    row_group: usize,
    encodings: (u8, u8),
    layouts: (u8, u8),
    whole: bool,
) -> Result<(), TestCaseError> {
    compare_rows(random_rows(seed, n, whole), row_group, encodings, layouts)
}

/// [`compare`] on these rows (half in each file).
fn compare_rows(
    rows: RecordBatch,
    row_group: usize,
    encodings: (u8, u8),
    layouts: (u8, u8),
) -> Result<(), TestCaseError> {
    let n = rows.num_rows();
    let dir = tempfile::tempdir().unwrap();
    let half = n / 2;
    let (a, b) = (recode(&rows.slice(0, half), encodings.0), recode(&rows.slice(half, n - half), encodings.1));
    write_as(dir.path(), "a.parquet", &a, row_group, layouts.0);
    write_as(dir.path(), "b.parquet", &b, row_group, layouts.1);
    // the values as the files hold them (a millisecond file has lost its µs digits)
    let stored = datafusion::arrow::compute::concat_batches(&plain(&a).schema(), &[plain(&a), plain(&b)]).unwrap();
    let settings = settings();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for period in [Period::year(2025), Period::quarter(2025, 1), Period::month(2024, 12)] {
        rt.block_on(async {
            let checks = hotline::checks::builtin();
            let window = (period.year_earlier().start, period.end);
            let (ctx, archive) = session(dir.path(), &settings).await;
            let spec = hotline::scan::Spec::new(&period, &settings);
            let out = hotline::scan::scan(&archive, &spec).unwrap();
            prop_assert!(out.suspects.iter().all(Option::is_some));
            let scanned_checks = hotline::checks::run_window(&ctx, &checks, window, Some(&out)).await.unwrap();
            let scanned = hotline::metrics::compute(&ctx, &period, &settings, Some(&out)).await.unwrap();
            // with no room for suspects: the repeated ids from the scan, the rest from the window;
            // with room for all but the most: that check from the window, the others from theirs
            let kept = |o: &hotline::scan::Output| -> Vec<Option<usize>> {
                o.suspects.iter().map(|s| s.as_ref().map(|b| b.iter().map(|b| b.num_rows()).sum())).collect()
            };
            let most = kept(&out).into_iter().flatten().max().unwrap_or(0);
            let mut capped_checks = Vec::new();
            for cap in [0, most.saturating_sub(1)] {
                let mut spec = hotline::scan::Spec::new(&period, &settings);
                spec.suspect_cap = cap;
                let capped = hotline::scan::scan(&archive, &spec).unwrap();
                if cap > 0 {
                    // the most suspected check reads the window, each check under the cap its own
                    let counts = kept(&capped);
                    prop_assert!(counts.iter().any(Option::is_none), "{counts:?}");
                    prop_assert!(counts.iter().flatten().all(|&c| c <= cap), "{counts:?}");
                }
                capped_checks
                    .push((cap, hotline::checks::run_window(&ctx, &checks, window, Some(&capped)).await.unwrap()));
            }

            let (ctx, _) = session(dir.path(), &settings).await;
            let sql_checks = hotline::checks::run_window(&ctx, &checks, window, None).await.unwrap();
            let sql = hotline::metrics::compute(&ctx, &period, &settings, None).await.unwrap();

            assert_same(&scanned, &sql);
            // and both against the test's own computation of the percentiles and repeated ids
            let oracle = Oracle::of(&stored, &period, &settings);
            prop_assert_eq!(&sql.city_durations, &oracle.durations(None), "city, {}", period.label());
            for s in sql.of_type("district") {
                prop_assert_eq!(
                    [s.respond_hours_median, s.respond_hours_p90, s.close_hours_median, s.close_hours_p90],
                    oracle.durations(Some(&s.unit)).as_array(),
                    "district {}, {}",
                    s.unit,
                    period.label()
                );
            }
            let dup = sql_checks.iter().find(|c| c.check.name == "duplicate_ticket_id").unwrap();
            prop_assert_eq!(dup.failing, oracle.repeated_ids, "repeated ids in {}", period.label());
            for (cap, capped) in &capped_checks {
                for (a, b) in capped.iter().zip(&sql_checks) {
                    prop_assert_eq!(
                        (&a.check.name, a.failing),
                        (&b.check.name, b.failing),
                        "cap {}, {}",
                        cap,
                        period.label()
                    );
                    prop_assert_eq!(&a.examples, &b.examples, "cap {}, check {}", cap, a.check.name);
                }
            }
            for (a, b) in scanned_checks.iter().zip(&sql_checks) {
                prop_assert_eq!(&a.check.name, &b.check.name);
                prop_assert_eq!(a.failing, b.failing, "check {} in {}", a.check.name, period.label());
                prop_assert_eq!(&a.examples, &b.examples, "check {}", a.check.name);
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Every column cast to the generator's file schema (Utf8 text, µs times): the values a file of
/// any encoding holds, as one plain file would hold them.
fn plain(batch: &RecordBatch) -> RecordBatch {
    use datafusion::arrow::datatypes::{Field, Schema};
    let file = schema::file_schema();
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (f, c) in file.fields().iter().zip(batch.columns()) {
        cols.push(datafusion::arrow::compute::cast(c, f.data_type()).unwrap());
        fields.push(Field::new(f.name(), f.data_type().clone(), true));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

/// (district, hours to respond, hours to close) of a scored ticket of the period.
type Scored = (Option<String>, Option<f64>, Option<f64>);

/// What the test computes itself from the rows, without the engine: the type-7 percentiles of
/// the hours to respond and to close of the period's scored tickets (city-wide and per district),
/// and the number of ticket_ids that occur more than once in the checked window.
struct Oracle {
    scored: Vec<Scored>,
    repeated_ids: usize,
}

impl Oracle {
    fn of(rows: &RecordBatch, period: &Period, settings: &MetricSettings) -> Oracle {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::TimestampMicrosecondType;
        let col = |name: &str| rows.column(rows.schema().index_of(name).unwrap()).clone();
        let time = |name: &str| {
            let c = col(name);
            let t = c.as_primitive::<TimestampMicrosecondType>();
            (0..t.len()).map(|i| t.is_valid(i).then(|| t.value(i))).collect::<Vec<_>>()
        };
        let text = |name: &str| {
            let c = col(name);
            let s = c.as_string::<i32>();
            (0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i).to_string())).collect::<Vec<_>>()
        };
        let (received, dispatched, responded, closed) =
            (time("received_at"), time("dispatched_at"), time("responded_at"), time("closed_at"));
        let (district, excluded, ids) = (text("district"), text("excluded_reason"), text("ticket_id"));
        let us = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
        let inside = |t: Option<i64>, from: chrono::NaiveDate, to: chrono::NaiveDate| {
            t.is_some_and(|t| t >= us(from) && t < us(to))
        };
        // hours from dispatch, when not negative: whole µs, then divided (as the SQL file says)
        let hours = |to: Option<i64>, from: i64| to.filter(|&t| t >= from).map(|t| (t - from) as f64 / 3_600_000_000.0);
        let mut scored = Vec::new();
        let mut ids_seen = std::collections::HashMap::<String, usize>::new();
        let window_start = period.year_earlier().start;
        for i in 0..rows.num_rows() {
            if inside(received[i], window_start, period.end)
                && let Some(id) = &ids[i]
            {
                *ids_seen.entry(id.clone()).or_default() += 1;
            }
            let is_excluded = excluded[i].as_ref().is_some_and(|x| settings.excluded_reasons.contains(x));
            if let Some(d) = dispatched[i]
                && inside(received[i], period.start, period.end)
                && !is_excluded
            {
                scored.push((district[i].clone(), hours(responded[i], d), hours(closed[i], d)));
            }
        }
        Oracle { scored, repeated_ids: ids_seen.values().filter(|&&n| n > 1).count() }
    }

    /// The percentiles of the city (None) or of one district.
    fn durations(&self, district: Option<&str>) -> hotline::metrics::Durations {
        let of = |pick: fn(&Scored) -> Option<f64>| {
            let mut v: Vec<f64> = self
                .scored
                .iter()
                .filter(|t| district.is_none() || t.0.as_deref() == district)
                .filter_map(pick)
                .collect();
            v.sort_by(f64::total_cmp);
            let q = |p: f64| {
                if v.is_empty() {
                    return None;
                }
                let r = p * (v.len() - 1) as f64;
                let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
                Some(v[lo] + (r - lo as f64) * (v[hi] - v[lo]))
            };
            (q(0.5), q(0.9))
        };
        let (rm, rp) = of(|t| t.1);
        let (cm, cp) = of(|t| t.2);
        hotline::metrics::Durations {
            respond_hours_median: rm,
            respond_hours_p90: rp,
            close_hours_median: cm,
            close_hours_p90: cp,
        }
    }
}

trait AsArray4 {
    fn as_array(&self) -> [Option<f64>; 4];
}

impl AsArray4 for hotline::metrics::Durations {
    fn as_array(&self) -> [Option<f64>; 4] {
        [self.respond_hours_median, self.respond_hours_p90, self.close_hours_median, self.close_hours_p90]
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn scan_equals_sql(
        seed in any::<u64>(),
        n in 50usize..1500,
        row_group in prop::sample::select(vec![7usize, 64, 100_000]),
        encodings in (0u8..3, 0u8..3),
        layouts in (0u8..4, 0u8..4),
        whole in any::<bool>(),
    ) {
        compare(seed, n, row_group, encodings, layouts, whole)?;
    }
}

/// Batches of several of the scan's 2,048-row blocks (the proptest's are smaller than one).
#[test]
fn batches_of_several_blocks() {
    compare(7, 9000, 100_000, (1, 2), (1, 2), false).unwrap();
    compare(8, 5000, 100_000, (0, 0), (2, 0), true).unwrap();
}

/// More tickets of one place, department and category in a row group than a 16-bit category
/// cell holds (65,535): the 16-bit rows are added into the 32-bit ones mid-batch, and nothing
/// is lost or counted twice.
#[test]
fn one_unit_past_the_16_bit_rows() {
    let rows = random_rows(9, 360_000, false);
    let schema = rows.schema();
    let mut columns = rows.columns().to_vec();
    let one = [
        ("district", "东城区"),
        ("street", "东华门街道"),
        ("department", "市水务局"),
        ("category_l1", "城乡建设"),
        ("category_l2", "供水"),
    ];
    for (name, value) in one {
        let k = schema.index_of(name).unwrap();
        columns[k] = Arc::new(StringArray::from(vec![Some(value); rows.num_rows()])) as ArrayRef;
    }
    let rows = RecordBatch::try_new(schema, columns).unwrap();
    compare_rows(rows, 200_000, (0, 0), (0, 0)).unwrap();
}

/// Columns that cannot be null (no definition levels in their pages): the scan equals the SQL
/// engine on them too, from dictionaries (v1) and PLAIN pages (v2).
#[test]
fn required_columns() {
    use datafusion::arrow::datatypes::{Field, Schema};
    let rows = random_rows(11, 3000, false);
    let required = ["received_at", "request_type", "category_l1", "category_l2", "category_l3", "resolved"];
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in rows.schema().fields().iter().zip(rows.columns()) {
        if required.contains(&f.name().as_str()) {
            // the nulls replaced by the first valid value
            let first = (0..c.len()).find(|&i| c.is_valid(i)).unwrap();
            let idx: Vec<u32> = (0..c.len()).map(|i| if c.is_valid(i) { i as u32 } else { first as u32 }).collect();
            let c =
                datafusion::arrow::compute::take(c, &datafusion::arrow::array::UInt32Array::from(idx), None).unwrap();
            fields.push(Field::new(f.name(), f.data_type().clone(), false));
            columns.push(c);
        } else {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
        }
    }
    let rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    compare_rows(rows, 500, (0, 0), (1, 2)).unwrap();
}

/// Every built-in check finds something in a big random archive, so the comparison above is
/// not between two empty results.
#[test]
fn the_random_archive_fails_every_builtin_check() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.parquet", &random_rows(42, 3000, false), 500);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let period = Period::year(2025);
    let settings = settings();
    let outcomes = rt.block_on(async {
        let (ctx, archive) = session(dir.path(), &settings).await;
        let out = hotline::scan::scan(&archive, &hotline::scan::Spec::new(&period, &settings)).unwrap();
        let window = (period.year_earlier().start, period.end);
        hotline::checks::run_window(&ctx, &hotline::checks::builtin(), window, Some(&out)).await.unwrap()
    });
    for o in &outcomes {
        if o.check.name != "abnormal_days" {
            assert!(o.failing > 0, "{} finds nothing", o.check.name);
        }
    }
    compare(42, 3000, 500, (1, 2), (2, 1), false).unwrap();
    compare(42, 3000, 500, (2, 0), (0, 3), true).unwrap();
}
