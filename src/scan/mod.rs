//! The one scan: every table the report needs from the archive's single tickets, computed in
//! one parallel pass over the Parquet files.
//!
//! The SQL files in `queries/` define these tables (ticket_facts.sql → unit_month.sql and
//! city_month.sql, unit_durations.sql, category_facts.sql, city_mix.sql, data_quality.sql,
//! topic_facts.sql, daily_volume.sql); `--engine sql` runs them on DataFusion instead. This module is the fast path: it reads only the columns and row groups
//! it needs, turns the low-cardinality text columns into dictionary ids, and adds each ticket
//! into additive counts (per unit × month, per category, per channel …) that the metric SQL
//! then reads. The time percentiles keep each scored ticket's two durations and select the
//! order statistics exactly, as `quantile_exact` does. The tests hold the two paths to the same
//! result: every metric test runs both, and `scan_equals_sql` compares every metric and check
//! on random messy archives.
//!
//! The data checks get the rows that could fail a built-in check (a null required value, an
//! out-of-order time, an unknown value, an unknown district, a repeated ticket_id): the check
//! SQL then runs on those rows alone, which gives the result it gives on the whole window.
//!
//! Parts: `read.rs` (the files, the row groups a scan needs, their readers), `columns.rs` (a
//! batch's columns as the row loop reads them), `batch.rs` (the row loop), `acc.rs` (the
//! accumulators), `durations.rs` (the exact percentiles), `results.rs` (the tables built from
//! the accumulators). Every column is read through arrow-rs (`ParquetRecordBatchReader`, the
//! low-cardinality text columns as dictionaries, ticket_id as views), and row groups are
//! chosen from the statistics arrow-rs decodes.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, StringViewArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, ScalarBuffer};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType};
use datafusion::common::HashMap;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;

use crate::config::MetricSettings;
use crate::engine::Archive;
use crate::period::{Period, add_months, micros, month_starts};
use crate::schema;

mod acc;
mod batch;
mod columns;
mod durations;
mod read;
mod results;
#[cfg(test)]
mod tests;

use acc::*;
use batch::*;
use columns::*;
use durations::*;
use read::*;
use results::*;

/// Rows of possibly failing tickets kept for the checks; beyond this the checks run in SQL.
pub const SUSPECT_CAP: usize = 1_000_000;
/// Rows of a batch: its per-row arrays, written by pass 1 and read by pass 2, stay in the cache
/// between the two (65,536 rows took pass 2 0.46 s against 0.40 s on 20M tickets).
const BATCH_ROWS: usize = 16_384;
/// Rows of a batch whose columns the per-row loop reads at a time (see [`rows`]).
const BLOCK: usize = 2048;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// What the scan computes, in µs since the epoch (wall-clock time, as the archive stores it).
pub struct Spec {
    /// Month starts from the year-earlier period's start to the period's end (inclusive).
    months: Vec<i64>,
    /// The month (index into `months`) of each day from the first month's start.
    day_month: Vec<u16>,
    period: (i64, i64),
    year_earlier: (i64, i64),
    /// Response deadline and closing limit per urgency class (emergency, utility, general, complex).
    response: [i64; 4],
    close: [i64; 4],
    excluded: Vec<String>,
    topics: Vec<TopicSpec>,
    /// Districts of the population table; empty = no unknown_districts check.
    known_districts: Vec<String>,
    /// At most this many rows that could fail a built-in check are kept (default
    /// [`SUSPECT_CAP`]); beyond it the row checks read the whole window.
    pub suspect_cap: usize,
}

struct TopicSpec {
    name: String,
    categories: Vec<String>,
    before: (i64, i64),
    after: (i64, i64),
}

fn date_of(us: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.date_naive()).unwrap_or_default()
}

impl Spec {
    pub fn new(period: &Period, settings: &MetricSettings) -> Spec {
        let earlier = period.year_earlier();
        let mut months: Vec<i64> = month_starts(earlier.start, period.end).into_iter().map(micros).collect();
        months.push(micros(period.end));
        let secs =
            |d: &crate::config::Deadlines| [d.emergency, d.utility, d.general, d.complex].map(|s| s as i64 * 1_000_000);
        let w = crate::config::TOPIC_WINDOW_MONTHS;
        let day_month = (0..months.len() - 1)
            .flat_map(|m| {
                let days = (months[m + 1] - months[m]) / MICROS_PER_DAY;
                std::iter::repeat_n(m as u16, days as usize)
            })
            .collect();
        Spec {
            months,
            day_month,
            period: (micros(period.start), micros(period.end)),
            year_earlier: (micros(earlier.start), micros(earlier.end)),
            response: secs(&settings.response_deadline),
            close: secs(&settings.close_limit),
            excluded: settings.excluded_reasons.clone(),
            topics: settings
                .topics
                .iter()
                .map(|t| TopicSpec {
                    name: t.name.clone(),
                    categories: t.categories.clone(),
                    before: (micros(add_months(t.month, -w)), micros(t.month)),
                    after: (micros(t.month), micros(add_months(t.month, w))),
                })
                .collect(),
            known_districts: settings
                .population
                .rows
                .iter()
                .filter(|r| r.street.is_none())
                .map(|r| r.district.clone())
                .collect(),
            suspect_cap: SUSPECT_CAP,
        }
    }

    fn scan_range(&self) -> (i64, i64) {
        (self.months[0], *self.months.last().expect("at least one month"))
    }

    /// The received_at ranges any output needs: the scanned months and the topics' windows.
    fn ranges(&self) -> Vec<(i64, i64)> {
        let mut r = vec![self.scan_range()];
        for t in &self.topics {
            r.push((t.before.0, t.after.1));
        }
        r
    }
}

/// The tables of one scan, with the schemas of the SQL that defines them.
pub struct Output {
    pub unit_month: RecordBatch,
    pub city_month: RecordBatch,
    /// unit_durations.sql's rows, computed in the background from the end of the scan on (the
    /// checks and the first metric queries do not need them): [`Pending::get`] waits for them.
    pub durations: Pending,
    pub category_facts: RecordBatch,
    pub city_mix: RecordBatch,
    pub data_quality: Vec<(String, i64)>,
    pub topic_facts: RecordBatch,
    /// (day, tickets) of the period, busiest first (daily_volume.sql's order).
    pub daily: Vec<(NaiveDate, i64)>,
    /// (day, tickets) of the checked window, for abnormal_days.sql.
    pub checked_days: RecordBatch,
    /// (category_l1, category_l2, tickets) of the checked window, for category_conflicts.sql.
    pub checked_categories: RecordBatch,
    /// [k]: the rows that may fail the built-in row check ROW_CHECKS[k], in the columns it
    /// reads, without those of a repeated ticket_id; None when there were more than the cap
    /// ([`SUSPECT_CAP`]): that check must then read the whole window.
    pub suspects: Vec<Option<Vec<RecordBatch>>>,
    /// Every row of a ticket_id that occurs more than once in the window (found from every
    /// batch's id range and the hashes of the batches that need them, see [`IdChunk`]): all
    /// that duplicate_ticket_id.sql needs, however many other suspects.
    pub repeated: Vec<RecordBatch>,
    pub rows_read: u64,
    /// Row groups read.
    pub row_groups: usize,
}

/// The built-in row checks (queries/checks/<name>.sql) the scan finds suspect rows for, each
/// with the columns it reads. ticket_id is always kept: the rows of a repeated ticket_id are
/// taken out of the suspects by it (the checks see them once, in [`Output::repeated`]).
pub const ROW_CHECKS: [(&str, &[&str]); 5] = [
    ("missing_required", &["ticket_id", "received_at", "request_type", "category_l1", "district"]),
    ("time_order", &["ticket_id", "received_at", "dispatched_at", "responded_at", "closed_at"]),
    ("closed_before_responded", &["ticket_id", "dispatched_at", "responded_at", "closed_at"]),
    ("unknown_values", &["ticket_id", "channel", "request_type", "urgency", "satisfaction", "excluded_reason"]),
    ("unknown_districts", &["ticket_id", "district"]),
];

/// A result still being computed on a thread of its own.
pub struct Pending(Mutex<PendingState>);

enum PendingState {
    Running(std::thread::JoinHandle<Result<RecordBatch>>),
    Done(RecordBatch),
    Failed(String),
}

impl Pending {
    fn spawn(f: impl FnOnce() -> Result<RecordBatch> + Send + 'static) -> Pending {
        Pending(Mutex::new(PendingState::Running(std::thread::spawn(f))))
    }

    /// The result, once computed (each call after the first returns it at once).
    pub fn get(&self) -> Result<RecordBatch> {
        let mut state = self.0.lock().map_err(|_| anyhow::anyhow!("a thread failed while it held the durations"))?;
        if let PendingState::Running(_) = &*state {
            let PendingState::Running(handle) = std::mem::replace(&mut *state, PendingState::Failed(String::new()))
            else {
                unreachable!("running")
            };
            *state = match handle.join() {
                Ok(Ok(batch)) => PendingState::Done(batch),
                Ok(Err(e)) => PendingState::Failed(format!("{e:#}")),
                Err(_) => PendingState::Failed("the thread computing the time percentiles panicked".to_string()),
            };
        }
        match &*state {
            PendingState::Done(batch) => Ok(batch.clone()),
            PendingState::Failed(e) => Err(anyhow::anyhow!("computing the time percentiles: {e}")),
            PendingState::Running(_) => unreachable!("joined"),
        }
    }
}

impl Output {
    /// Every row the built-in row check `check` needs to give its result on the whole window:
    /// its suspects and the rows of the repeated ticket_ids, in its columns (the schema, and the
    /// batches). None when it is no row check, or had more suspects than the cap: it must read
    /// the window.
    pub fn check_rows(&self, check: &str) -> Result<Option<(SchemaRef, Vec<RecordBatch>)>> {
        let Some(k) = ROW_CHECKS.iter().position(|(name, _)| *name == check) else { return Ok(None) };
        let Some(Some(suspects)) = self.suspects.get(k) else { return Ok(None) };
        let target = check_schema(ROW_CHECKS[k].1);
        let mut rows = suspects.clone();
        for b in &self.repeated {
            let keep: Vec<usize> =
                target.fields().iter().map(|f| b.schema().index_of(f.name())).collect::<Result<_, _>>()?;
            rows.push(b.project(&keep)?);
        }
        Ok(Some((target, rows)))
    }
}

/// Run the scan over `archive`.
pub fn scan(archive: &Archive, spec: &Spec) -> Result<Output> {
    let files = archive.files.iter().map(|f| open(&f.path)).collect::<Result<Vec<_>>>()?;
    let ranges = spec.ranges();
    let tasks: Vec<Task> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| row_groups(f, &ranges).into_iter().map(move |g| Task { file: i, row_group: g }))
        .collect();
    let total: i64 = tasks.iter().map(|t| files[t.file].meta.metadata().row_group(t.row_group).num_rows()).sum();
    if total > i64::from(C::MAX) {
        return Err(crate::error::data(format!(
            "the archive holds {total} tickets in the months this report reads, more than the scan's counters hold ({})",
            C::MAX
        ))
        .hint("run the report with --engine sql")
        .into());
    }
    let strings = Strings::new(spec);
    let topic_ids = spec.topics.iter().map(|t| t.categories.iter().map(|c| strings.id(c)).collect()).collect();
    let unknown_id = strings.id("unknown");
    let shared = Shared {
        spec,
        strings,
        units: Keys::default(),
        places: Keys::default(),
        cats: Keys::default(),
        raw_cats: Keys::default(),
        topic_ids,
        unknown_id,
        check_schemas: ROW_CHECKS.iter().map(|(_, columns)| check_schema(columns)).collect(),
    };
    let hasher = datafusion::common::HashMap::<u8, u8>::default().hasher().clone();
    let t0 = std::time::Instant::now();
    let acc = tasks
        .par_iter()
        .try_fold(
            || Acc::new(spec.topics.len(), spec.suspect_cap),
            |mut acc, t| -> Result<Acc> {
                // a new column chunk: new dictionaries
                acc.dictionaries.clear();
                let file = &files[t.file];
                let mut clock = std::time::Instant::now();
                acc.row_groups += 1;
                let group_rows = file.meta.metadata().row_group(t.row_group).num_rows() as usize;
                let mut first = 0;
                for (k, batch) in reader(file, vec![t.row_group], file.mask.clone())?.enumerate() {
                    let batch = batch.with_context(|| format!("reading {}", file.path.display()))?;
                    lap(5, &mut clock);
                    let ids = Ids::of(&batch)?;
                    first += batch.num_rows();
                    rows(&shared, &hasher, &mut acc, &batch, &ids, (t.file, t.row_group, k))
                        .with_context(|| format!("scanning {}", file.path.display()))?;
                    clock = std::time::Instant::now();
                }
                if first != group_rows {
                    anyhow::bail!(
                        "reading {}: row group {} gave {first} rows of its {group_rows}",
                        file.path.display(),
                        t.row_group
                    );
                }
                acc.flush_cats();
                Ok(acc)
            },
        )
        .try_reduce(|| Acc::new(spec.topics.len(), spec.suspect_cap), |a, b| Ok(a.merge(b)))?;
    let folded = t0.elapsed().as_secs_f64();
    let out = finish(&shared, &files, &hasher, acc)?;
    if std::env::var_os("HOTLINE_PROFILE").is_some() {
        eprintln!(
            "profile: scan {} row groups, {} rows: pass {folded:.2} s, results {:.2} s",
            tasks.len(),
            out.rows_read,
            t0.elapsed().as_secs_f64() - folded
        );
        let part = |k: usize| PARTS[k].load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9;
        eprintln!(
            "profile: scan threads' time: decoding {:.2} s, columns {:.2} s, pass 1 {:.2} s, pass 2 {:.2} s, ids {:.2} s, suspects {:.2} s",
            part(5),
            part(0),
            part(1),
            part(2),
            part(3),
            part(4)
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// string ids

/// What the scan needs to know about one text value, computed once when it is first seen.
#[derive(Debug, Clone, Copy, Default)]
struct Codes {
    /// urgency class: 0 emergency, 1 utility, 2 general, 3 complex; 4 = an unknown spelling
    urgency: u8,
    /// position + 1 in the schema's list, 0 when not in it
    satisfaction: u8,
    excluded: u8,
    channel: u8,
    request_type: u8,
    /// a configured excluded_reason (takes a ticket out of scoring)
    configured: bool,
    /// a district of the population table
    known_district: bool,
    /// bit t: one of the categories of topic t (the first 64 topics)
    topics: u64,
}

#[derive(Default)]
struct StringTable {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    codes: Vec<Codes>,
}

/// Global ids of text values (0 = null), shared by the scan's threads.
struct Strings {
    inner: Mutex<StringTable>,
    excluded: Vec<String>,
    districts: Vec<String>,
    topics: Vec<Vec<String>>,
}

impl Strings {
    fn new(spec: &Spec) -> Strings {
        Strings {
            // id 0: null
            inner: Mutex::new(StringTable {
                ids: HashMap::default(),
                names: vec![String::new()],
                // null: no urgency class (the general class's limits apply), no other code
                codes: vec![Codes { urgency: 4, ..Codes::default() }],
            }),
            excluded: spec.excluded.clone(),
            districts: spec.known_districts.clone(),
            topics: spec.topics.iter().map(|t| t.categories.clone()).collect(),
        }
    }
    fn id(&self, v: &str) -> u32 {
        let mut g = self.inner.lock().expect("lock");
        if let Some(&id) = g.ids.get(v) {
            return id;
        }
        let pos = |list: &[&str]| list.iter().position(|x| *x == v).map_or(0, |p| p as u8 + 1);
        let codes = Codes {
            urgency: match v {
                "emergency" => 0,
                "utility" => 1,
                "general" => 2,
                "complex" => 3,
                _ => 4,
            },
            satisfaction: pos(schema::SATISFACTION),
            excluded: pos(schema::EXCLUDED_REASONS),
            channel: pos(schema::CHANNELS),
            request_type: pos(schema::REQUEST_TYPES),
            configured: self.excluded.iter().any(|x| x == v),
            known_district: self.districts.iter().any(|x| x == v),
            topics: self
                .topics
                .iter()
                .take(64)
                .enumerate()
                .filter(|(_, cats)| cats.iter().any(|c| c == v))
                .fold(0, |m, (t, _)| m | 1 << t),
        };
        let id = g.names.len() as u32;
        g.names.push(v.to_string());
        g.codes.push(codes);
        g.ids.insert(v.to_string(), id);
        id
    }
    /// Bring `into` up to date with the codes of every string id so far.
    fn codes_into(&self, into: &mut Vec<Codes>) {
        let g = self.inner.lock().expect("lock");
        if into.len() < g.codes.len() {
            into.extend_from_slice(&g.codes[into.len()..]);
        }
    }
    fn names(&self) -> Vec<String> {
        self.inner.lock().expect("lock").names.clone()
    }
}

/// Global ids of composite keys (unit keys, category pairs).
#[derive(Default)]
struct Keys<K> {
    inner: Mutex<(HashMap<K, u32>, Vec<K>)>,
}

impl<K: std::hash::Hash + Eq + Copy> Keys<K> {
    fn id(&self, k: K) -> u32 {
        let mut g = self.inner.lock().expect("lock");
        if let Some(&id) = g.0.get(&k) {
            return id;
        }
        let id = g.1.len() as u32;
        g.1.push(k);
        g.0.insert(k, id);
        id
    }
    fn all(&self) -> Vec<K> {
        self.inner.lock().expect("lock").1.clone()
    }
    fn len(&self) -> usize {
        self.inner.lock().expect("lock").1.len()
    }
}

/// A unit: (type 0 district / 1 street / 2 department, district id, own id).
type UnitKey = (u8, u32, u32);
const NONE: u32 = u32::MAX;

struct Shared<'a> {
    spec: &'a Spec,
    strings: Strings,
    units: Keys<UnitKey>,
    /// (district, street) pairs as stored
    places: Keys<(u32, u32)>,
    /// (category_l1, coalesce(category_l2, category_l1))
    cats: Keys<(u32, u32)>,
    /// (category_l1, category_l2) as stored, for the checks' checked_categories
    raw_cats: Keys<(u32, u32)>,
    topic_ids: Vec<Vec<u32>>,
    unknown_id: u32,
    /// [k]: the schema of ROW_CHECKS[k]'s suspect rows ([`check_schema`])
    check_schemas: Vec<SchemaRef>,
}
