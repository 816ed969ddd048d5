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

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, RecordBatchOptions, StringArray,
    StringViewArray, TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, ScalarBuffer};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType};
use datafusion::common::HashMap;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::file::statistics::Statistics;
use rayon::prelude::*;

use crate::config::MetricSettings;
use crate::engine::Archive;
use crate::period::{Period, add_months, micros, month_starts};
use crate::schema;

mod ids;
mod pages;
use ids::IdPages;

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
    /// The most decompressed bytes of a row group whose columns are decoded straight from
    /// their pages ([`pages::GROUP_BUDGET`]; 0: every column through Arrow, as tests do).
    pub page_budget: i64,
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
            page_budget: pages::GROUP_BUDGET,
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
    /// Row groups read, and those whose ticket_ids came straight from their pages ([`IdPages`]).
    pub row_groups: (usize, usize),
    /// Column chunks of the time, text and boolean columns the file has, and those of them read
    /// straight from their pages ([`pages`]), the others read with Arrow.
    pub column_chunks: (usize, usize),
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

// ---------------------------------------------------------------------------------------------
// accumulators

/// Counters of ticket_facts.sql, in its column order.
const F: usize = 11;
const TICKETS: usize = 0;
const DISPATCHED: usize = 1;
const SCORED: usize = 2;
const RESPONDED_ON_TIME: usize = 3;
const RESPONDED_KNOWN: usize = 4;
const CLOSED_ON_TIME: usize = 5;
const RESOLVED_YES: usize = 6;
const RESOLVED_ANSWERED: usize = 7;
const SATISFIED: usize = 8;
const FACT_NAMES: [&str; F] = [
    "tickets",
    "dispatched",
    "scored",
    "responded_on_time",
    "responded_known",
    "closed_on_time",
    "resolved_yes",
    "resolved_answered",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
];

const QUALITY_ITEMS: [&str; 26] = [
    "rows",
    "excluded:duplicate",
    "excluded:invalid",
    "excluded:out_of_scope",
    "excluded:malicious",
    "excluded:appeal_approved",
    "null:channel",
    "null:urgency",
    "null:category_l2",
    "null:street",
    "null:department",
    "null:dispatched_at",
    "null:responded_at",
    "null:closed_at",
    "null:resolved",
    "null:satisfaction",
    "order:dispatched_before_received",
    "order:responded_before_dispatched",
    "order:closed_before_dispatched",
    "order:closed_before_responded",
    "unknown:channel",
    "unknown:request_type",
    "unknown:urgency",
    "unknown:satisfaction",
    "unknown:excluded_reason",
    "source:due_at",
];

/// The accumulators' counters: u32 keeps the tables small enough for the CPU caches; the scan
/// refuses a window of more than u32::MAX tickets (`--engine sql` has no such limit).
type C = u32;

/// One batch's scored tickets of the period: their units (district, street, department; NONE
/// for none) and µs to respond and to close ([`NO_TIME`] when not known or negative). The
/// order statistics are selected on these integers and only then turned into hours: the
/// conversion keeps the order, so they are the ones `quantile_exact` picks from the hours.
#[derive(Default)]
struct DurationChunk {
    /// place id and department unit (NONE for none) of each scored ticket: the place's street
    /// and district follow from it ([`place_targets`])
    units: [Vec<u32>; 2],
    respond: Vec<u64>,
    close: Vec<u64>,
}

impl DurationChunk {
    /// n rows of zeros, for a batch of n rows to write.
    fn zeroed(n: usize) -> DurationChunk {
        DurationChunk { units: [vec![0; n], vec![0; n]], respond: vec![0; n], close: vec![0; n] }
    }
    /// Keep the first k rows and give the rest of the memory back.
    fn cut(&mut self, k: usize) {
        let [a, b] = &mut self.units;
        for v in [a, b] {
            v.truncate(k);
            v.shrink_to_fit();
        }
        for v in [&mut self.respond, &mut self.close] {
            v.truncate(k);
            v.shrink_to_fit();
        }
    }
}

/// How many rows ahead the loops that add into large tables ask for their cells.
const AHEAD: usize = 40;

/// Ask for the cache line at `p` ahead of its use: a hint, which reads nothing (`p` may point
/// anywhere).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only moves a cache line; it cannot fault or change memory
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A duration that is not known (no time, or before the dispatch): above every real one.
const NO_TIME: u64 = u64::MAX;

#[inline(always)]
fn add<const N: usize>(a: &mut [C; N], b: &[C; N]) {
    for k in 0..N {
        a[k] += b[k];
    }
}

#[inline(always)]
fn slot<T: Default + Clone>(v: &mut Vec<T>, i: usize) -> &mut T {
    if v.len() <= i {
        v.resize(i + 1, T::default());
    }
    &mut v[i]
}

fn merge_vec<const N: usize>(a: &mut Vec<[C; N]>, b: Vec<[C; N]>) {
    if a.len() < b.len() {
        a.resize(b.len(), [0; N]);
    }
    for (x, y) in a.iter_mut().zip(&b) {
        add(x, y);
    }
}

fn merge_nested<const N: usize>(a: &mut Vec<Vec<[C; N]>>, b: Vec<Vec<[C; N]>>) {
    if a.len() < b.len() {
        a.resize(b.len(), Vec::new());
    }
    for (x, y) in a.iter_mut().zip(b) {
        merge_vec(x, y);
    }
}

/// The rows that could fail one row check, in its columns ([`check_schema`]); `batches` is
/// emptied once `rows` passes the cap.
#[derive(Default)]
struct SuspectRows {
    rows: usize,
    batches: Vec<RecordBatch>,
}

#[derive(Default)]
struct Acc {
    /// suspect rows kept at most (Spec::suspect_cap)
    cap: usize,
    rows: u64,
    /// [unit * months + month]: the departments' during the scan, then every unit's (finish adds
    /// the places into their streets and districts)
    units: Vec<[C; F]>,
    /// [place * months + month]
    places: Vec<[C; F]>,
    /// [place][category]
    cat_place: Vec<Vec<[C; 4]>>,
    /// durations of the period's scored tickets, one chunk per batch (no reallocation)
    durations: Vec<DurationChunk>,
    /// (tickets, tickets_year_earlier, resolved_yes, resolved_answered) [unit][category] (the
    /// departments' during the scan, then every unit's, as `units`)
    cat_unit: Vec<Vec<[C; 4]>>,
    /// [place * stride + category] and [unit * stride + category]: `cat_place` and `cat_unit`
    /// as 16-bit counts, each row added into its 32-bit row before it could overflow; the shape
    /// (rows, stride) of each in `cat16_shape`, room to grow in both; the last row a spare for
    /// the rows of no unit
    cat16: [Vec<[u16; 4]>; 2],
    cat16_shape: [(usize, usize); 2],
    /// [t][row]: the tickets counted into the row since it was last added
    cat16_count: [Vec<u32>; 2],
    /// the categories the 16-bit rows may hold counts of
    cat16_cats: usize,
    /// (tickets, tickets_year_earlier, direct) per channel / request type string, hour; [category][month]
    channel: Vec<[C; 3]>,
    request_type: Vec<[C; 3]>,
    hour: Vec<[C; 3]>,
    /// (tickets, not dispatched) [stored category pair * months + month] of the checked window
    raw_month: Vec<[C; 2]>,
    quality: [i64; 26],
    /// [topic][phase] → month start → (tickets, resolved_yes, resolved_answered, satisfied, basically, dissatisfied)
    topics: Vec<[HashMap<i64, [i64; 6]>; 2]>,
    /// [day of the checked window]
    checked_days: Vec<i64>,
    /// ticket_id hashes of the checked window, one chunk per batch
    hashes: Vec<IdChunk>,
    /// [k]: the suspect rows of ROW_CHECKS[k]
    suspects: [SuspectRows; ROW_CHECKS.len()],
    // per-thread caches of global ids
    /// [district][street] → place id + 1 (0: not yet known here); a place is a (district,
    /// street) pair, either null: the streets and districts add up from the places
    place_cache: Vec<Vec<u32>>,
    department_unit: Vec<u32>,
    /// [category_l1][category_l2] → (category id + 1, stored-pair id); 0: not yet known
    cat_cache: Vec<Vec<(u32, u32)>>,
    /// the global string ids of the current row group's dictionaries, by the address of the
    /// dictionary (held here, so the address stays its own)
    dictionaries: HashMap<usize, (ArrayRef, Arc<[u32]>)>,
    /// the codes of every string id (a copy of the shared table, brought up to date per batch)
    codes: Vec<Codes>,
    /// the current row group's ticket_ids, when read from the pages (the buffers reused)
    id_pages: IdPages,
    /// row groups read, and those of them whose ids came from the pages
    row_groups: usize,
    paged_groups: usize,
    /// column chunks of the columns [`Paged`] reads the file has, and those it read
    column_chunks: (usize, usize),
}

impl Acc {
    fn new(n_topics: usize, cap: usize) -> Acc {
        Acc {
            cap,
            hour: vec![[0; 3]; 24],
            topics: (0..n_topics).map(|_| [HashMap::default(), HashMap::default()]).collect(),
            ..Acc::default()
        }
    }

    /// Add every 16-bit category row that holds counts into its 32-bit row.
    fn flush_cats(&mut self) {
        let n_cats = self.cat16_cats;
        for (t, table) in [&mut self.cat_place, &mut self.cat_unit].into_iter().enumerate() {
            let stride = self.cat16_shape[t].1;
            let spare = self.cat16_count[t].len().saturating_sub(1);
            for (u, count) in self.cat16_count[t].iter_mut().enumerate() {
                if *count > 0 {
                    let row = &mut self.cat16[t][u * stride..][..n_cats];
                    if u == spare {
                        // the rows of no unit ([`rows`]): dropped
                        row.fill([0; 4]);
                    } else {
                        flush_cat_row(slot(table, u), row);
                    }
                    *count = 0;
                }
            }
        }
    }

    fn merge(mut self, b: Acc) -> Acc {
        self.rows += b.rows;
        self.row_groups += b.row_groups;
        self.paged_groups += b.paged_groups;
        self.column_chunks.0 += b.column_chunks.0;
        self.column_chunks.1 += b.column_chunks.1;
        merge_vec(&mut self.units, b.units);
        merge_vec(&mut self.places, b.places);
        merge_nested(&mut self.cat_place, b.cat_place);
        self.durations.extend(b.durations);
        merge_nested(&mut self.cat_unit, b.cat_unit);
        merge_vec(&mut self.channel, b.channel);
        merge_vec(&mut self.request_type, b.request_type);
        merge_vec(&mut self.hour, b.hour);
        merge_vec(&mut self.raw_month, b.raw_month);
        for k in 0..self.quality.len() {
            self.quality[k] += b.quality[k];
        }
        for (a, b) in self.topics.iter_mut().zip(b.topics) {
            for (pa, pb) in a.iter_mut().zip(b) {
                for (m, v) in pb {
                    let e = pa.entry(m).or_insert([0; 6]);
                    for k in 0..6 {
                        e[k] += v[k];
                    }
                }
            }
        }
        merge_i64(&mut self.checked_days, b.checked_days);
        self.hashes.extend(b.hashes);
        for (a, b) in self.suspects.iter_mut().zip(b.suspects) {
            if a.rows <= self.cap {
                a.rows += b.rows;
                a.batches.extend(b.batches);
            }
            if a.rows > self.cap {
                a.batches.clear();
            }
        }
        self
    }
}

fn merge_i64(a: &mut Vec<i64>, b: Vec<i64>) {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

// ---------------------------------------------------------------------------------------------
// reading

/// Columns the scan reads, and which are read as dictionaries.
const READ: &[&str] = &[
    "ticket_id",
    "received_at",
    "channel",
    "request_type",
    "category_l1",
    "category_l2",
    "category_l3",
    "urgency",
    "district",
    "street",
    "department",
    "dispatched_at",
    "responded_at",
    "closed_at",
    "due_at",
    "resolved",
    "satisfaction",
    "excluded_reason",
];

fn dictionary_column(name: &str) -> bool {
    !matches!(
        name,
        "ticket_id" | "received_at" | "dispatched_at" | "responded_at" | "closed_at" | "due_at" | "resolved"
    )
}

struct Task {
    file: usize,
    row_group: usize,
}

struct FileMeta {
    path: std::path::PathBuf,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    /// the leaf column of ticket_id when [`IdPages`] may read it
    id_leaf: Option<usize>,
    /// the leaves of the time, text and boolean columns [`pages`] may read
    leaves: ([Option<pages::Leaf>; 5], [Option<pages::Leaf>; 11], Option<pages::Leaf>),
}

/// One row group's columns read from their pages ([`pages`]); None: Arrow reads that one.
struct Paged {
    times: [Option<pages::Column>; 5],
    texts: [Option<pages::Column>; 11],
    flag: Option<pages::Column>,
}

impl Paged {
    fn read(file: &FileMeta, group: usize, strings: &Strings, fits: bool) -> Paged {
        let (times, texts, flag) = &file.leaves;
        let column =
            |leaf: &Option<pages::Leaf>| leaf.filter(|_| fits).and_then(|l| pages::read(file, group, l, strings));
        Paged { times: times.each_ref().map(column), texts: texts.each_ref().map(column), flag: column(flag) }
    }

    fn has(&self, name: &str) -> bool {
        let at = |names: &[&str], cols: &[Option<pages::Column>]| {
            names.iter().position(|c| *c == name).is_some_and(|k| cols[k].is_some())
        };
        at(&pages::TIMES, &self.times) || at(&pages::TEXTS, &self.texts) || (name == pages::FLAG && self.flag.is_some())
    }
}

fn open(path: &std::path::Path) -> Result<FileMeta> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // the embedded Arrow schema (ARROW:schema) is not decoded: arrow-rs panics on a damaged one,
    // and the Parquet schema says all the archive needs (engine::inspect checks it)
    let plain = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new().with_skip_arrow_metadata(true))
        .with_context(|| format!("reading the footer of {}", path.display()))?;
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let text = matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
            if text && dictionary_column(f.name()) {
                Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                )
            } else if text && f.name() == "ticket_id" {
                // views: no copy of the ids
                Field::new(f.name(), DataType::Utf8View, f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let hint = Arc::new(Schema::new(fields));
    let meta = ArrowReaderMetadata::try_new(
        plain.metadata().clone(),
        ArrowReaderOptions::new().with_skip_arrow_metadata(true).with_schema(hint),
    )
    .with_context(|| format!("reading {}", path.display()))?;
    let roots = |read: &dyn Fn(&str) -> bool| {
        let roots = meta.schema().fields().iter().enumerate().filter(|(_, f)| read(f.name())).map(|(i, _)| i);
        ProjectionMask::roots(meta.metadata().file_metadata().schema_descr(), roots)
    };
    let mask = roots(&|c| READ.contains(&c));
    let id_leaf = ids::id_leaf(&meta);
    let leaves = (
        pages::TIMES.map(|c| pages::leaf(&meta, c, pages::Kind::Time)),
        pages::TEXTS.map(|c| pages::leaf(&meta, c, pages::Kind::Text)),
        pages::leaf(&meta, pages::FLAG, pages::Kind::Flag),
    );
    Ok(FileMeta { path: path.to_path_buf(), meta, mask, id_leaf, leaves })
}

/// A reader of `groups` of `file`'s `mask` columns, in batches of [`BATCH_ROWS`]: the scan and
/// both second reads use it, so a batch's index within its row group ([`BatchAt`]) names the
/// same rows in each.
fn reader(file: &FileMeta, groups: Vec<usize>, mask: ProjectionMask) -> Result<ParquetRecordBatchReader> {
    let f = std::fs::File::open(&file.path).with_context(|| format!("opening {}", file.path.display()))?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(f, file.meta.clone())
        .with_row_groups(groups)
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()?)
}

/// Row groups whose received_at statistics overlap one of `ranges` (all when unknown).
fn row_groups(file: &FileMeta, ranges: &[(i64, i64)]) -> Vec<usize> {
    let md = file.meta.metadata();
    let schema = file.meta.schema();
    let Ok(idx) = schema.index_of("received_at") else { return (0..md.num_row_groups()).collect() };
    // the statistics' unit → µs, exactly: (multiplier, divisor); the bounds are widened to
    // whole µs (floor of the minimum, ceiling of the maximum)
    let (mul, div): (i64, i64) = match schema.field(idx).data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => (1_000_000, 1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (1_000, 1),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (1, 1),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => (1, 1_000),
        _ => return (0..md.num_row_groups()).collect(),
    };
    // the leaf column of received_at (top-level columns are flat: root i = leaf i up to here)
    let leaf = md.file_metadata().schema_descr().columns().iter().position(|c| c.name() == "received_at");
    (0..md.num_row_groups())
        .filter(|&g| {
            let Some(leaf) = leaf else { return true };
            match md.row_group(g).column(leaf).statistics() {
                Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                    (Some(&lo), Some(&hi)) => {
                        let lo = lo.saturating_mul(mul).div_euclid(div);
                        let hi = hi.saturating_mul(mul).div_euclid(div) + i64::from(hi.rem_euclid(div) != 0);
                        ranges.iter().any(|&(a, b)| hi >= a && lo < b)
                    }
                    _ => true,
                },
                _ => true,
            }
        })
        .collect()
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
                // the ticket_ids from their pages when they can be, else with the other columns
                let mut id_pages = std::mem::take(&mut acc.id_pages);
                // (the page readers hold a row group's pages at once: a huge one streams through Arrow)
                let fits = pages::fits(file, t.row_group, spec.page_budget);
                let paged = fits && id_pages.read(file, t.row_group);
                lap(3, &mut clock);
                acc.row_groups += 1;
                acc.paged_groups += usize::from(paged);
                // the other columns from their pages where they can be, the rest with Arrow
                let mut columns = Paged::read(file, t.row_group, &shared.strings, fits);
                lap(5, &mut clock);
                let present = |c: &str| file.meta.schema().index_of(c).is_ok();
                let names = pages::TIMES.iter().chain(&pages::TEXTS).chain([&pages::FLAG]);
                for c in names.filter(|c| present(c)) {
                    acc.column_chunks.0 += 1;
                    acc.column_chunks.1 += usize::from(columns.has(c));
                }
                let group_rows = file.meta.metadata().row_group(t.row_group).num_rows() as usize;
                let schema = file.meta.schema();
                let arrow: Vec<usize> = (0..schema.fields().len())
                    .filter(|&k| {
                        let c = schema.field(k).name().as_str();
                        READ.contains(&c) && !columns.has(c) && !(paged && c == "ticket_id")
                    })
                    .collect();
                let mut first = 0;
                let mut batch_rows = |acc: &mut Acc, batch: &RecordBatch, k: usize| -> Result<()> {
                    let ids = if paged { Ids::Pages(&id_pages, first) } else { Ids::of(batch)? };
                    first += batch.num_rows();
                    rows(&shared, &hasher, acc, batch, &mut columns, &ids, (t.file, t.row_group, k))
                        .with_context(|| format!("scanning {}", file.path.display()))
                };
                if arrow.is_empty() {
                    // every column from its pages: batches of no columns, of the rows Arrow's would have
                    for (k, at) in (0..group_rows).step_by(BATCH_ROWS).enumerate() {
                        let n = BATCH_ROWS.min(group_rows - at);
                        let options = RecordBatchOptions::new().with_row_count(Some(n));
                        let batch = RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options)?;
                        batch_rows(&mut acc, &batch, k)?;
                    }
                } else {
                    let mask = ProjectionMask::roots(file.meta.metadata().file_metadata().schema_descr(), arrow);
                    for (k, batch) in reader(file, vec![t.row_group], mask)?.enumerate() {
                        let batch = batch.with_context(|| format!("reading {}", file.path.display()))?;
                        lap(5, &mut clock);
                        batch_rows(&mut acc, &batch, k)?;
                        clock = std::time::Instant::now();
                    }
                }
                if first != group_rows {
                    anyhow::bail!(
                        "reading {}: row group {} gave {first} rows of its {group_rows}",
                        file.path.display(),
                        t.row_group
                    );
                }
                if paged && first != id_pages.rows() {
                    anyhow::bail!(
                        "reading {}: row group {} gave {first} rows and {} ticket_ids",
                        file.path.display(),
                        t.row_group,
                        id_pages.rows()
                    );
                }
                acc.id_pages = id_pages;
                acc.flush_cats();
                Ok(acc)
            },
        )
        .try_reduce(|| Acc::new(spec.topics.len(), spec.suspect_cap), |a, b| Ok(a.merge(b)))?;
    let folded = t0.elapsed().as_secs_f64();
    let out = finish(&shared, &files, &hasher, acc)?;
    if std::env::var_os("HOTLINE_PROFILE").is_some() {
        eprintln!(
            "profile: scan {} row groups ({} with ticket_ids from their pages; {} of {} other column chunks from their pages), {} rows: pass {folded:.2} s, results {:.2} s",
            tasks.len(),
            out.row_groups.1,
            out.column_chunks.1,
            out.column_chunks.0,
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
// one batch

/// A text column of one batch: its dictionary keys, which rows are valid, and the global
/// string id of each dictionary value. Read in place: no per-row copy is made.
struct Text {
    keys: ScalarBuffer<i32>,
    valid: Option<BooleanBuffer>,
    map: Arc<[u32]>,
}

impl Text {
    fn new(shared: &Shared, acc: &mut Acc, batch: &RecordBatch, name: &str) -> Result<Text> {
        let n = batch.num_rows();
        let Some(col) = batch.column_by_name(name) else {
            return Ok(Text { keys: ScalarBuffer::from(vec![0; n]), valid: None, map: Arc::from([0u32]) });
        };
        let col = match col.data_type() {
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => col.clone(),
            _ => cast(col, &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)))?,
        };
        let dict = col.as_dictionary::<Int32Type>();
        // the reader hands out one dictionary per column chunk to all its batches: map its
        // values once (the cache holds the dictionary, so its address is not reused meanwhile)
        let values = dict.values();
        let key = Arc::as_ptr(values) as *const u8 as usize;
        let map = match acc.dictionaries.get(&key) {
            Some((_, map)) => map.clone(),
            None => {
                let v = values.as_string::<i32>();
                let map: Arc<[u32]> =
                    (0..v.len()).map(|i| if v.is_null(i) { 0 } else { shared.strings.id(v.value(i)) }).collect();
                acc.dictionaries.insert(key, (values.clone(), map.clone()));
                map
            }
        };
        let keys = dict.keys();
        let valid = keys.nulls().filter(|nulls| nulls.null_count() > 0).map(|nulls| nulls.inner().clone());
        Ok(Text { keys: keys.values().clone(), valid, map })
    }
}

/// A text column's slices for the per-row loop.
#[derive(Clone, Copy)]
struct TextRef<'a> {
    keys: &'a [i32],
    valid: Option<&'a BooleanBuffer>,
    map: &'a [u32],
}

impl<'a> TextRef<'a> {
    fn of(t: &'a Text) -> TextRef<'a> {
        TextRef { keys: &t.keys, valid: t.valid.as_ref(), map: &t.map }
    }
    /// The global string ids (0 = null) of rows base.. into `out`, returned as a slice of m.
    fn block<'b>(&self, base: usize, m: usize, out: &'b mut [u32]) -> &'b [u32] {
        let out = &mut out[..m];
        let keys = &self.keys[base..base + m];
        // a null row's key may be anything (an all-null column has no dictionary values)
        let global = |k: i32| self.map.get(k as usize).copied().unwrap_or(0);
        match self.valid {
            None => {
                for (o, &k) in out.iter_mut().zip(keys) {
                    *o = global(k);
                }
            }
            Some(v) => {
                for (a, b, word) in words(v, base, m) {
                    for (t, (o, &k)) in out[a..b].iter_mut().zip(&keys[a..b]).enumerate() {
                        *o = global(k) * (word >> t & 1) as u32;
                    }
                }
            }
        }
        out
    }
}

/// A timestamp column of one batch in µs, read in place ([`NULL_TIME`] for null).
struct Time {
    values: ScalarBuffer<i64>,
    valid: Option<BooleanBuffer>,
}

impl Time {
    fn new(batch: &RecordBatch, name: &str) -> Result<Time> {
        Ok(match times(batch, name)? {
            None => Time { values: ScalarBuffer::from(vec![NULL_TIME; batch.num_rows()]), valid: None },
            Some(a) => Time {
                valid: a.nulls().filter(|nulls| nulls.null_count() > 0).map(|nulls| nulls.inner().clone()),
                values: a.values().clone(),
            },
        })
    }
}

#[derive(Clone, Copy)]
struct TimeRef<'a> {
    values: &'a [i64],
    valid: Option<&'a BooleanBuffer>,
}

impl<'a> TimeRef<'a> {
    fn of(t: &'a Time) -> TimeRef<'a> {
        TimeRef { values: &t.values, valid: t.valid.as_ref() }
    }
    /// Rows base..base + m in µs, [`NULL_TIME`] for null: the values in place when none is
    /// null, else written into `out`.
    fn block<'b>(&self, base: usize, m: usize, out: &'b mut [i64]) -> &'b [i64]
    where
        'a: 'b,
    {
        let values = &self.values[base..base + m];
        let Some(valid) = self.valid else { return values };
        let out = &mut out[..m];
        for (a, b, word) in words(valid, base, m) {
            for (t, (o, &v)) in out[a..b].iter_mut().zip(&values[a..b]).enumerate() {
                *o = if word >> t & 1 == 1 { v } else { NULL_TIME };
            }
        }
        out
    }
}

/// A boolean column of one batch, read in place: 0 null (or no such column), 1 false, 2 true.
struct Flag {
    values: BooleanBuffer,
    valid: BooleanBuffer,
}

impl Flag {
    fn new(batch: &RecordBatch, name: &str) -> Result<Flag> {
        let n = batch.num_rows();
        let Some(col) = batch.column_by_name(name) else {
            return Ok(Flag { values: BooleanBuffer::new_unset(n), valid: BooleanBuffer::new_unset(n) });
        };
        let col = cast(col, &DataType::Boolean)?;
        let b = col.as_boolean();
        Ok(Flag {
            valid: b.nulls().map_or_else(|| BooleanBuffer::new_set(n), |nulls| nulls.inner().clone()),
            values: b.values().clone(),
        })
    }
    /// Rows base..base + m into `out`, returned as a slice of m.
    fn block<'b>(&self, base: usize, m: usize, out: &'b mut [u8]) -> &'b [u8] {
        let out = &mut out[..m];
        for ((a, b, valid), (_, _, value)) in words(&self.valid, base, m).zip(words(&self.values, base, m)) {
            for (t, o) in out[a..b].iter_mut().enumerate() {
                *o = (valid >> t & 1) as u8 * (1 + (value >> t & 1) as u8);
            }
        }
        out
    }
}

/// The bits of rows base..base + m of `bits`, 64 at a time: (from, to, word), rows from − base
/// to to − base, row from's bit the lowest (the last word partial).
fn words(bits: &BooleanBuffer, base: usize, m: usize) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
    let chunks = bits.inner().bit_chunks(bits.offset() + base, m);
    let last = chunks.remainder_bits();
    chunks.iter().chain(std::iter::once(last)).enumerate().map(move |(w, word)| {
        let a = (w * 64).min(m);
        (a, (a + 64).min(m), word)
    })
}

/// A timestamp column in µs (None when absent).
fn times(batch: &RecordBatch, name: &str) -> Result<Option<TimestampMicrosecondArray>> {
    let Some(col) = batch.column_by_name(name) else { return Ok(None) };
    let col = cast(col, &schema::TIMESTAMP)?;
    Ok(Some(col.as_primitive::<TimestampMicrosecondType>().clone()))
}

/// Marks a null time in [`TimeRef::at`] and [`plain_times`].
const NULL_TIME: i64 = i64::MIN;

/// A timestamp column in µs as plain values, [`NULL_TIME`] for null (all null when absent).
fn plain_times(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    Ok(match times(batch, name)? {
        None => vec![NULL_TIME; batch.num_rows()],
        Some(a) if a.null_count() == 0 => a.values().to_vec(),
        Some(a) => a.iter().map(|v| v.unwrap_or(NULL_TIME)).collect(),
    })
}

/// The ticket_id column as string views (None when the file has none).
fn id_column(batch: &RecordBatch) -> Result<Option<StringViewArray>> {
    let Some(col) = batch.column_by_name("ticket_id") else { return Ok(None) };
    Ok(Some(match col.data_type() {
        DataType::Utf8View => col.as_string_view().clone(),
        _ => cast(col, &DataType::Utf8View)?.as_string_view().clone(),
    }))
}

/// The ticket_ids of one batch: none (no such column), the batch's column, or those of its
/// row group read from the pages ([`IdPages`]), from the batch's first row there.
enum Ids<'a> {
    Absent,
    Column(StringViewArray),
    Pages(&'a IdPages, usize),
}

impl Ids<'_> {
    fn of(batch: &RecordBatch) -> Result<Ids<'static>> {
        Ok(id_column(batch)?.map_or(Ids::Absent, Ids::Column))
    }

    /// Whether each of rows base..base + m is null, into `out`, returned as a slice of m.
    fn nulls<'b>(&self, base: usize, m: usize, out: &'b mut [bool]) -> &'b [bool] {
        let out = &mut out[..m];
        match self {
            Ids::Absent => out.fill(true),
            Ids::Column(c) => match c.nulls().filter(|n| n.null_count() > 0) {
                None => out.fill(false),
                Some(n) => {
                    for (a, b, word) in words(n.inner(), base, m) {
                        for (t, o) in out[a..b].iter_mut().enumerate() {
                            *o = word >> t & 1 == 0;
                        }
                    }
                }
            },
            Ids::Pages(p, first) => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = p.is_null(first + base + j);
                }
            }
        }
        out
    }

    /// Calls `f` with the id of each of `rows` (increasing) that has one, in order.
    fn each<'s>(&'s self, rows: impl Iterator<Item = usize>, mut f: impl FnMut(&'s [u8])) {
        match self {
            Ids::Absent => {}
            Ids::Column(c) => rows.filter(|&i| c.is_valid(i)).for_each(|i| f(c.value(i).as_bytes())),
            Ids::Pages(p, first) => p.each(rows.map(|i| first + i), f),
        }
    }

    /// Row i's id as text (the pages hold UTF-8 only: [`IdPages::read`] checks it).
    fn text(&self, i: usize) -> Option<&str> {
        match self {
            Ids::Absent => None,
            Ids::Column(c) => c.is_valid(i).then(|| c.value(i)),
            Ids::Pages(p, first) => p.get(first + i).and_then(|v| std::str::from_utf8(v).ok()),
        }
    }

    /// The ids of `rows` (of the batch) as a column.
    fn column(&self, rows: impl Iterator<Item = usize>) -> ArrayRef {
        Arc::new(rows.map(|i| self.text(i)).collect::<StringViewArray>())
    }
}

/// Each row's ticket_id hashed (None for a null id, or no such column), as [`hashes_of`] hashes
/// them: the suspects and the second read match their rows against the repeated hashes.
fn id_hashes(batch: &RecordBatch, hasher: &impl std::hash::BuildHasher) -> Result<Vec<Option<u64>>> {
    let ids = Ids::of(batch)?;
    Ok((0..batch.num_rows()).map(|i| ids.text(i).map(|s| hasher.hash_one(s))).collect())
}

/// Where a batch was read: (file, row group, batch within the row group).
type BatchAt = (usize, usize, usize);

/// The ticket_ids of one batch's checked window: their range, and their hashes unless they come
/// strictly increasing. Such a batch holds no id twice, and when no other batch's range overlaps
/// its range, none of its ids repeats anywhere: its ids are never hashed. When another range
/// does overlap it, the batch is read again for its hashes (see [`to_search`]).
struct IdChunk {
    at: BatchAt,
    /// None: not hashed (the ids come strictly increasing)
    hashes: Option<Vec<u64>>,
    /// (smallest, largest) id; None when there is none
    range: Option<(String, String)>,
}

impl IdChunk {
    fn new<I: Iterator<Item = usize>>(
        at: BatchAt,
        ids: &Ids,
        rows: impl Fn() -> I,
        hasher: &impl std::hash::BuildHasher,
    ) -> IdChunk {
        let mut chunk = IdChunk { at, hashes: None, range: None };
        let (mut lo, mut hi): (Option<&[u8]>, Option<&[u8]>) = (None, None);
        let mut increasing = true;
        ids.each(rows(), |v| match hi {
            Some(h) if !less(h, v) => {
                increasing = false;
                if lo.is_some_and(|l| less(v, l)) {
                    lo = Some(v);
                }
            }
            _ => {
                if lo.is_none() {
                    lo = Some(v);
                }
                hi = Some(v);
            }
        });
        // (the bytes of UTF-8 text: their order is the text's)
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        chunk.range = lo.zip(hi).map(|(a, b)| (text(a), text(b)));
        if !increasing {
            chunk.hashes = Some(hashes_of(ids, rows(), hasher));
        }
        chunk
    }
}

/// Whether `a` sorts before `b` (as `a < b`), 8 bytes at a time: inline, where the slices'
/// comparison calls memcmp, which costs more than comparing ids of a dozen bytes.
#[inline]
fn less(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| u64::from_be_bytes(s[at..at + 8].try_into().expect("8"));
    if a.len() == b.len() && a.len() >= 8 {
        // ids of one length: 8 bytes at a time, the last 8 overlapping those before (equal)
        let n = a.len();
        let mut at = 0;
        while at + 8 < n {
            let (u, v) = (word(a, at), word(b, at));
            if u != v {
                return u < v;
            }
            at += 8;
        }
        return word(a, n - 8) < word(b, n - 8);
    }
    let (mut x, mut y) = (a, b);
    while x.len() >= 8 && y.len() >= 8 {
        let (u, v) = (word(x, 0), word(y, 0));
        if u != v {
            return u < v;
        }
        (x, y) = (&x[8..], &y[8..]);
    }
    for (u, v) in x.iter().zip(y) {
        if u != v {
            return u < v;
        }
    }
    x.len() < y.len()
}

/// The hashes of the non-null ids of `rows`.
fn hashes_of(ids: &Ids, rows: impl Iterator<Item = usize>, hasher: &impl std::hash::BuildHasher) -> Vec<u64> {
    let mut out = Vec::new();
    ids.each(rows, |v| {
        if let Ok(v) = std::str::from_utf8(v) {
            out.push(hasher.hash_one(v));
        }
    });
    out
}

/// Marks a row outside the scanned months in the per-row month index.
const SKIP: u16 = u16::MAX;

/// ticket_facts.sql's counters of one ticket, by its pattern (see [`fact_pattern`]).
static FACTS: std::sync::LazyLock<[[C; F]; 74]> = std::sync::LazyLock::new(|| {
    let mut t = [[0; F]; 74];
    t[0][TICKETS] = 1;
    t[1][TICKETS] = 1;
    t[1][DISPATCHED] = 1;
    for resp in 0..3 {
        for closed in 0..2 {
            for res in 0..3 {
                for sat in 0..4 {
                    let f = &mut t[fact_pattern(true, true, resp, closed == 1, res, sat) as usize];
                    f[TICKETS] = 1;
                    f[DISPATCHED] = 1;
                    f[SCORED] = 1;
                    f[RESPONDED_KNOWN] = C::from(resp > 0);
                    f[RESPONDED_ON_TIME] = C::from(resp == 2);
                    f[CLOSED_ON_TIME] = C::from(closed == 1);
                    f[RESOLVED_ANSWERED] = C::from(res > 0);
                    f[RESOLVED_YES] = C::from(res == 2);
                    if sat > 0 {
                        f[SATISFIED + sat as usize - 1] = 1;
                    }
                }
            }
        }
    }
    t
});

/// One ticket's contribution to ticket_facts.sql as a number below 74: 0 not dispatched,
/// 1 dispatched but not scored, else the scored ticket's response (0 unknown, 1 late, 2 on
/// time), closing on time, resolved (0 unknown, 1 no, 2 yes) and satisfaction (0 none, 1–3).
#[inline(always)]
fn fact_pattern(dispatched: bool, scored: bool, resp: u8, closed: bool, res: u8, sat: u8) -> u8 {
    match (dispatched, scored) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2 + ((resp * 2 + u8::from(closed)) * 3 + res) * 4 + sat,
    }
}

/// Category counters (tickets, tickets_year_earlier, resolved_yes, resolved_answered) by
/// pattern: 0 outside both years, 1 a year earlier, 2 the period (resolved unknown or not
/// scored), 3 the period resolved no, 4 the period resolved yes.
const CATS16: [[u16; 4]; 5] = [[0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 1], [1, 0, 1, 1]];
/// Tickets counted into a 16-bit category row before it is added into its 32-bit row: no cell
/// passes u16::MAX.
const CAT16_ROWS: u32 = u16::MAX as u32;

/// Add one 16-bit category row into its 32-bit row, and zero it.
fn flush_cat_row(row: &mut Vec<[C; 4]>, cells: &mut [[u16; 4]]) {
    if row.len() < cells.len() {
        row.resize(cells.len(), [0; 4]);
    }
    for (a, c) in row.iter_mut().zip(cells.iter_mut()) {
        for k in 0..4 {
            a[k] += C::from(c[k]);
        }
        *c = [0; 4];
    }
}

/// Nanoseconds spent in the parts of [`rows`] (HOTLINE_PROFILE): columns, pass 1, pass 2, ids
/// (with reading them from the pages), suspects; and in the Parquet reader (decoding).
static PARTS: [std::sync::atomic::AtomicU64; 6] = [const { std::sync::atomic::AtomicU64::new(0) }; 6];

fn lap(part: usize, t: &mut std::time::Instant) {
    let now = std::time::Instant::now();
    PARTS[part].fetch_add((now - *t).as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
    *t = now;
}

fn rows(
    shared: &Shared,
    hasher: &impl std::hash::BuildHasher,
    acc: &mut Acc,
    batch: &RecordBatch,
    paged: &mut Paged,
    ids: &Ids,
    at: BatchAt,
) -> Result<()> {
    let mut clock = std::time::Instant::now();
    let spec = shared.spec;
    let n = batch.num_rows();
    acc.rows += n as u64;
    // each column from its pages, or from the batch
    let owned_times = from_batch(&pages::TIMES, &paged.times, |c| Time::new(batch, c))?;
    let mut times = sources(&owned_times, &mut paged.times, TimeRef::of);
    let owned_text = from_batch(&pages::TEXTS, &paged.texts, |c| Text::new(shared, acc, batch, c))?;
    let mut texts = sources(&owned_text, &mut paged.texts, TextRef::of);
    // 0 null, 1 false, 2 true
    let owned_flag = from_batch(&[pages::FLAG], std::slice::from_ref(&paged.flag), |c| Flag::new(batch, c))?;
    let [mut resolved]: [Column<&Flag>; 1] =
        sources(&owned_flag, std::slice::from_mut(&mut paged.flag), |f| f).try_into().ok().expect("one column");
    // the values of the rows some row check may fail
    let mut suspects: Vec<Suspect> = Vec::new();
    // what each text value means (read after the ids above, so every id of the batch is in it)
    shared.strings.codes_into(&mut acc.codes);
    let codes = std::mem::take(&mut acc.codes);
    let check_districts = !spec.known_districts.is_empty();

    let (scan_start, _) = spec.scan_range();
    let (p_start, p_end) = spec.period;
    let (ye_start, ye_end) = spec.year_earlier;
    let n_months = spec.months.len() - 1;
    let day_month = &spec.day_month;
    // every row writes its durations at `k`, which moves on only for a scored ticket of the
    // period (no branch); the chunk is cut to k after the pass (its tail given back)
    let mut dur = DurationChunk::zeroed(n);
    let mut k = 0;

    // pass 1: what each row is (month, fact pattern, units, category …), the data-quality counts,
    // the durations and the checks' suspects; pass 2 below adds the rows into the tables.
    // Written to branch little: most of these conditions are coin flips on real data.
    let mut month = vec![SKIP; n];
    let mut fact = vec![0u8; n];
    // category pattern (CATS, 0 outside the period and a year earlier) | 8 when not dispatched
    let mut catp = vec![0u8; n];
    // place and department unit of each row
    let mut unit = [vec![NONE; n], vec![NONE; n]];
    let mut cat = vec![0u32; n];
    // for the small tables, added in pass 2: channel and request type (as counted: null is
    // "unknown"), stored category pair, hour of the day, day of the checked window
    let (mut chv, mut rtv, mut rawv) = (vec![0u32; n], vec![0u32; n], vec![0u32; n]);
    let (mut hourv, mut dayv) = (vec![0u8; n], vec![0u32; n]);
    // the thread's id caches cover every string id of the batch (0 = null → NONE)
    let n_strings = codes.len();
    if acc.department_unit.len() < n_strings {
        acc.department_unit.resize(n_strings, 0);
    }
    if acc.place_cache.len() < n_strings {
        acc.place_cache.resize(n_strings, Vec::new());
    }
    if acc.cat_cache.len() < n_strings {
        acc.cat_cache.resize(n_strings, Vec::new());
    }
    let mut q = [0i64; 26];
    let mut any_suspect = 0u8;
    lap(0, &mut clock);

    // the columns are read a block at a time, each in a loop of its own, into plain arrays the
    // per-row loop reads (one stream per column here, not sixteen at once in the row loop)
    let mut text_block = vec![0u32; 11 * BLOCK];
    let mut time_block = vec![0i64; 5 * BLOCK];
    let mut flag_block = vec![0u8; BLOCK];
    let mut id_block = vec![false; BLOCK];
    for base in (0..n).step_by(BLOCK) {
        let m = BLOCK.min(n - base);
        let mut time_slices: [&[i64]; 5] = [&[]; 5];
        for ((t, out), slice) in times.iter_mut().zip(time_block.chunks_mut(BLOCK)).zip(&mut time_slices) {
            *slice = t.block(base, m, out)?;
        }
        let [received, dispatched, responded, closed, due_times] = time_slices;
        let mut text_slices: [&[u32]; 11] = [&[]; 11];
        for ((t, out), slice) in texts.iter_mut().zip(text_block.chunks_mut(BLOCK)).zip(&mut text_slices) {
            *slice = t.block(base, m, out)?;
        }
        let [district, street, department, l1, l2, l3, channel, request_type, urgency, satisfaction, excluded] =
            text_slices;
        let resolved_block = resolved.block(base, m, &mut flag_block)?;
        let id_null = ids.nulls(base, m, &mut id_block);
        for j in 0..m {
            let i = base + j;
            let r = received[j];
            if r == NULL_TIME {
                continue;
            }
            let (d, resp, cl, due) = (dispatched[j], responded[j], closed[j], due_times[j]);
            let (dg, sg, pg) = (district[j], street[j], department[j]);
            let (c1, c2, c3) = (l1[j], l2[j], l3[j]);
            let (chg, rtg, ug, satg, xg) = (channel[j], request_type[j], urgency[j], satisfaction[j], excluded[j]);
            let (has_d, has_resp, has_cl) = (d != NULL_TIME, resp != NULL_TIME, cl != NULL_TIME);
            let res = resolved_block[j];
            let x = xg as usize;
            let (cx, cs) = (codes[x], codes[satg as usize]);
            let scored = has_d & !cx.configured;
            let sat = cs.satisfaction;

            // topics: any time, by their own windows
            let topics = codes[c1 as usize].topics | codes[c2 as usize].topics | codes[c3 as usize].topics;
            if topics != 0 || spec.topics.len() > 64 {
                topic_row(shared, acc, r, [c1, c2, c3], topics, scored, res, sat);
            }
            let day = (r - scan_start).div_euclid(MICROS_PER_DAY);
            if day < 0 || day >= day_month.len() as i64 {
                continue;
            }
            let day = day as usize;
            let m = day_month[day];
            month[i] = m;
            let in_period = (r >= p_start) & (r < p_end);
            let in_ye = (r >= ye_start) & (r < ye_end);
            let unknown_channel = (chg != 0) & (codes[chg as usize].channel == 0);
            let unknown_type = (rtg != 0) & (codes[rtg as usize].request_type == 0);
            let unknown_sat = (satg != 0) & (sat == 0);
            let unknown_excl = (x != 0) & (cx.excluded == 0);
            let uclass = codes[ug as usize].urgency;
            let unknown_urgency = (ug != 0) & (uclass > 3);
            let class = if uclass > 3 { 2 } else { uclass as usize };
            // out-of-order times (data_quality.sql and the checks); NULL_TIME is below every time
            let dispatched_early = has_d & (d < r);
            let responded_early = has_resp & (resp < r);
            let closed_early = has_cl & (cl < r);
            let responded_before_dispatched = has_resp & (resp < d);
            let closed_before_dispatched = has_cl & (cl < d);
            let closed_before_responded = has_cl & (cl < resp);

            // ticket_facts
            let rp = u8::from(has_resp) * (1 + u8::from(resp <= d.saturating_add(spec.response[class])));
            let limit = if due != NULL_TIME { due } else { d.saturating_add(spec.close[class]) };
            let on_time = has_cl & (cl <= limit);
            let sat3 = if sat <= 3 { sat } else { 0 };
            fact[i] = fact_pattern(has_d, scored, rp, on_time, res, sat3);

            // units: the caches hold id + 1, 0 for not yet known (a place) or null (a department)
            let row = &mut acc.place_cache[dg as usize];
            if row.len() < n_strings {
                row.resize(n_strings, 0);
            }
            let mut place = row[sg as usize];
            if place == 0 {
                let id = shared.places.id((dg, sg));
                place = id + 1;
                row[sg as usize] = place;
                // the place's district and street units take their ids as first seen, as the
                // departments' do (place_targets looks them up after the scan)
                if dg != 0 {
                    shared.units.id((0, dg, 0));
                }
                if sg != 0 {
                    shared.units.id((1, dg, sg));
                }
            }
            let place = place - 1;
            let p = pg as usize;
            let mut pu = acc.department_unit[p];
            if pu == 0 && p != 0 {
                pu = shared.units.id((2, 0, pg)) + 1;
                acc.department_unit[p] = pu;
            }
            let pu = pu.wrapping_sub(1);
            unit[0][i] = place;
            unit[1][i] = pu;

            // durations of the period's scored tickets
            let span = |t: i64| if t >= d { (t - d) as u64 } else { NO_TIME };
            dur.units[0][k] = place;
            dur.units[1][k] = pu;
            dur.respond[k] = span(resp);
            dur.close[k] = span(cl);
            k += usize::from(in_period & scored);

            let row = &mut acc.cat_cache[c1 as usize];
            if row.len() < n_strings {
                row.resize(n_strings, (0, 0));
            }
            let c = &mut row[c2 as usize];
            if c.0 == 0 {
                let l2c = if c2 != 0 { c2 } else { c1 };
                *c = (shared.cats.id((c1, l2c)) + 1, shared.raw_cats.id((c1, c2)));
            }
            let (cid, rid) = (c.0 - 1, c.1);
            rawv[i] = rid;
            dayv[i] = day as u32;
            // not dispatched (a direct answer): the raw pairs' months count it
            catp[i] = u8::from(!has_d) << 3;

            // categories and the city's mix: the period and a year earlier
            if in_period | in_ye {
                cat[i] = cid;
                let answered = u8::from(scored & (res > 0)) * (res);
                // 1 a year earlier; 2, 3, 4 the period with resolved unknown, no, yes
                catp[i] |= 1 + u8::from(in_period) * (1 + answered);
                chv[i] = if chg == 0 { shared.unknown_id } else { chg };
                rtv[i] = if rtg == 0 { shared.unknown_id } else { rtg };
                hourv[i] = r.div_euclid(MICROS_PER_HOUR).rem_euclid(24) as u8;
            }

            let unknown_values = unknown_channel | unknown_type | unknown_urgency | unknown_sat | unknown_excl;
            if in_period {
                q[0] += 1;
                q[cx.excluded as usize % 6] += i64::from(cx.excluded > 0);
                let qscored = has_d & (xg == 0);
                q[6] += i64::from(chg == 0);
                q[7] += i64::from(ug == 0);
                q[8] += i64::from(c2 == 0);
                q[9] += i64::from(sg == 0);
                q[10] += i64::from(pg == 0);
                q[11] += i64::from(!has_d);
                q[12] += i64::from(has_d & !has_resp);
                q[13] += i64::from(has_d & !has_cl);
                q[14] += i64::from(qscored & (res == 0));
                q[15] += i64::from(qscored & (satg == 0));
                q[25] += i64::from(qscored & (due != NULL_TIME));
                // times out of order and unknown values: a few tickets in a hundred, counted
                // apart from the others
                let odd = dispatched_early
                    | responded_before_dispatched
                    | closed_before_dispatched
                    | closed_before_responded
                    | unknown_values;
                if odd {
                    q[16] += i64::from(dispatched_early);
                    q[17] += i64::from(responded_before_dispatched);
                    q[18] += i64::from(closed_before_dispatched);
                    q[19] += i64::from(closed_before_responded);
                    q[20] += i64::from(unknown_channel);
                    q[21] += i64::from(unknown_type);
                    q[22] += i64::from(unknown_urgency);
                    q[23] += i64::from(unknown_sat);
                    q[24] += i64::from(unknown_excl);
                }
            }

            // the data checks' window is the scanned months; bit k: ROW_CHECKS[k] could fail
            let missing = id_null[j] | (rtg == 0) | (c1 == 0) | (dg == 0);
            let time_order = dispatched_early | responded_early | closed_early | closed_before_dispatched;
            let unknown_district = check_districts & (dg != 0) && !codes[dg as usize].known_district;
            let bits = u8::from(missing)
                | u8::from(time_order) << 1
                | u8::from(closed_before_responded) << 2
                | u8::from(unknown_values) << 3
                | u8::from(unknown_district) << 4;
            any_suspect |= bits;
            if bits != 0 {
                suspects.push(Suspect {
                    row: i as u32,
                    bits,
                    times: [r, d, resp, cl],
                    texts: [rtg, c1, dg, chg, ug, satg, xg],
                });
            }
        }
    }
    acc.codes = codes;
    for (a, b) in acc.quality.iter_mut().zip(q) {
        *a += b;
    }
    lap(1, &mut clock);
    // pass 2: the large tables, one tight loop each
    let (n_units, n_places) = (shared.units.len(), shared.places.len());
    if acc.units.len() < n_units * n_months {
        acc.units.resize(n_units * n_months, [0; F]);
    }
    if acc.places.len() < n_places * n_months {
        acc.places.resize(n_places * n_months, [0; F]);
    }
    // a row without a unit (the department of about half the tickets) or a month adds into a
    // spare cell past the table's end, dropped after the loop: a choice without a branch, where a
    // branch would be mispredicted on every other ticket
    let facts: &[[C; F]; 74] = &FACTS;
    // both tables in one loop: two independent streams of adds for the memory to overlap
    let (places, units) = (&mut acc.places, &mut acc.units);
    let spare = [places.len(), units.len()];
    places.push([0; F]);
    units.push([0; F]);
    let [place_of, unit_of] = &unit;
    let cell = |i: usize, u: u32, spare: usize| {
        let m = month[i];
        std::hint::select_unpredictable((u == NONE) | (m == SKIP), spare, u as usize * n_months + m as usize)
    };
    for i in 0..n {
        let ahead = (i + AHEAD).min(n - 1);
        prefetch(places.as_ptr().wrapping_add(cell(ahead, place_of[ahead], spare[0])));
        prefetch(units.as_ptr().wrapping_add(cell(ahead, unit_of[ahead], spare[1])));
        let f = &facts[fact[i] as usize];
        add(&mut places[cell(i, place_of[i], spare[0])], f);
        add(&mut units[cell(i, unit_of[i], spare[1])], f);
    }
    places.pop();
    units.pop();
    // the place × category and department × category counts go into 16-bit tables first (half
    // the cache lines of the 32-bit ones); a row is added into its 32-bit row when it has
    // counted CAT16_ROWS tickets, and at the row group's end. The tables' last row is a spare
    // that a row without a unit (the department of about half the tickets) or outside the
    // period and the year earlier adds into, without a branch; it is never added to the 32-bit
    // tables.
    let n_cats = shared.cats.len();
    for (t, rows) in [n_places, n_units].into_iter().enumerate() {
        let (cap, stride) = acc.cat16_shape[t];
        if rows >= cap || n_cats > stride {
            acc.flush_cats();
            // a quarter more of each, so that new units and categories seldom move them
            let shape = (rows + rows / 4 + 8, n_cats + n_cats / 4 + 8);
            acc.cat16[t] = vec![[0; 4]; shape.0 * shape.1];
            acc.cat16_count[t] = vec![0; shape.0];
            acc.cat16_shape[t] = shape;
        }
    }
    acc.cat16_cats = n_cats;
    // both tables in one loop, as above
    let [cells0, cells1] = &mut acc.cat16;
    let [count0, count1] = &mut acc.cat16_count;
    let [stride0, stride1] = [acc.cat16_shape[0].1, acc.cat16_shape[1].1];
    let mut tables = [(&mut acc.cat_place, cells0, count0, stride0), (&mut acc.cat_unit, cells1, count1, stride1)];
    // the row of row i in a table whose spare row is `spare`
    let row_of = |units: &[u32], spare: usize, i: usize| {
        std::hint::select_unpredictable((units[i] == NONE) | (catp[i] & 7 == 0), spare, units[i] as usize)
    };
    for i in 0..n {
        let p = catp[i] & 7;
        let ahead = (i + AHEAD).min(n - 1);
        for ((_, cells, count, stride), units) in tables.iter().zip(&unit) {
            let u = row_of(units, count.len() - 1, ahead);
            prefetch(cells.as_ptr().wrapping_add(u * *stride + cat[ahead] as usize));
        }
        for ((table, cells, count, stride), units) in tables.iter_mut().zip(&unit) {
            let spare = count.len() - 1;
            let u = row_of(units, spare, i);
            if count[u] == CAT16_ROWS {
                let row = &mut cells[u * *stride..][..n_cats];
                if u == spare {
                    row.fill([0; 4]);
                } else {
                    flush_cat_row(slot(table, u), row);
                }
                count[u] = 0;
            }
            count[u] += 1;
            for (a, b) in cells[u * *stride + cat[i] as usize].iter_mut().zip(&CATS16[p as usize]) {
                *a += b;
            }
        }
    }
    // the small tables
    for table in [&mut acc.channel, &mut acc.request_type] {
        if table.len() < n_strings {
            table.resize(n_strings, [0; 3]);
        }
    }
    let n_raw = shared.raw_cats.len();
    if acc.raw_month.len() < n_raw * n_months {
        acc.raw_month.resize(n_raw * n_months, [0; 2]);
    }
    if acc.checked_days.len() < day_month.len() {
        acc.checked_days.resize(day_month.len(), 0);
    }
    // (tickets, tickets_year_earlier, direct) by category pattern | 8 for direct
    let mix: [[C; 3]; 16] = std::array::from_fn(|p| match p & 7 {
        0 => [0, 0, 0],
        1 => [0, 1, 0],
        _ => [1, 0, C::from(p >> 3 == 1)],
    });
    for i in 0..n {
        if month[i] == SKIP {
            continue;
        }
        acc.checked_days[dayv[i] as usize] += 1;
        let p = catp[i] as usize;
        let cell = &mut acc.raw_month[rawv[i] as usize * n_months + month[i] as usize];
        cell[0] += 1;
        cell[1] += C::from(p >> 3 == 1);
        if p & 7 == 0 {
            continue;
        }
        let m = &mix[p];
        add(&mut acc.channel[chv[i] as usize], m);
        add(&mut acc.request_type[rtv[i] as usize], m);
        add(&mut acc.hour[hourv[i] as usize], m);
    }
    lap(2, &mut clock);
    if k > 0 {
        dur.cut(k);
        acc.durations.push(dur);
    }
    acc.hashes.push(IdChunk::new(at, ids, || (0..n).filter(|&i| month[i] != SKIP), hasher));
    lap(3, &mut clock);
    for k in 0..ROW_CHECKS.len() {
        let kept = &mut acc.suspects[k];
        if any_suspect >> k & 1 == 0 || kept.rows > acc.cap {
            continue;
        }
        let rows: Vec<&Suspect> = suspects.iter().filter(|s| s.bits >> k & 1 == 1).collect();
        kept.rows += rows.len();
        if kept.rows > acc.cap {
            kept.batches.clear();
            continue;
        }
        kept.batches.push(suspect_batch(shared, ids, &rows, &shared.check_schemas[k])?);
    }
    lap(4, &mut clock);
    Ok(())
}

/// Each of the columns `names` read from the batch by `read`, unless it is read from its pages.
fn from_batch<T>(
    names: &[&str],
    paged: &[Option<pages::Column>],
    mut read: impl FnMut(&str) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    names.iter().zip(paged).map(|(c, p)| if p.is_some() { Ok(None) } else { read(c).map(Some) }).collect()
}

/// Each column's source: its pages, else what [`from_batch`] read of it (seen through `of`).
fn sources<'a, T, A>(
    owned: &'a [Option<T>],
    paged: &'a mut [Option<pages::Column>],
    of: impl Fn(&'a T) -> A,
) -> Vec<Column<'a, A>> {
    owned
        .iter()
        .zip(paged.iter_mut())
        .map(|(o, p)| match (o, p) {
            (_, Some(p)) => Column::Pages(p),
            (o, None) => Column::Arrow(of(o.as_ref().expect("read from the batch"))),
        })
        .collect()
}

/// A column of the batch, read from Arrow's arrays or straight from its pages.
enum Column<'a, A> {
    Arrow(A),
    Pages(&'a mut pages::Column),
}

/// A column read a block at a time into values of type T: a time column's µs (Arrow's values
/// in place when none is null), a text column's string ids, a boolean's 0/1/2.
trait Blocks<T> {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [T]) -> &'b [T];
    fn from_pages(pages: &mut pages::Column, out: &mut [T]) -> Result<()>;
}

impl Blocks<i64> for TimeRef<'_> {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [i64]) -> &'b [i64] {
        self.block(base, m, out)
    }
    fn from_pages(pages: &mut pages::Column, out: &mut [i64]) -> Result<()> {
        pages.times(out)
    }
}

impl Blocks<u32> for TextRef<'_> {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [u32]) -> &'b [u32] {
        self.block(base, m, out)
    }
    fn from_pages(pages: &mut pages::Column, out: &mut [u32]) -> Result<()> {
        pages.texts(out)
    }
}

impl Blocks<u8> for &Flag {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [u8]) -> &'b [u8] {
        self.block(base, m, out)
    }
    fn from_pages(pages: &mut pages::Column, out: &mut [u8]) -> Result<()> {
        pages.flags(out)
    }
}

impl<A> Column<'_, A> {
    fn block<'b, T>(&'b mut self, base: usize, m: usize, out: &'b mut [T]) -> Result<&'b [T]>
    where
        A: Blocks<T>,
    {
        match self {
            Column::Arrow(a) => Ok(a.read_block(base, m, out)),
            Column::Pages(p) => {
                A::from_pages(p, &mut out[..m])?;
                Ok(&out[..m])
            }
        }
    }
}

/// A row some row check may fail (bit k of `bits`: ROW_CHECKS[k]), with the values the checks
/// read: its times ([`SUSPECT_TIMES`]) and string ids ([`SUSPECT_TEXTS`]).
struct Suspect {
    row: u32,
    bits: u8,
    times: [i64; 4],
    texts: [u32; 7],
}

const SUSPECT_TIMES: [&str; 4] = ["received_at", "dispatched_at", "responded_at", "closed_at"];
const SUSPECT_TEXTS: [&str; 7] =
    ["request_type", "category_l1", "district", "channel", "urgency", "satisfaction", "excluded_reason"];

/// The suspect `rows` of a batch as a table of `schema` (a row check's columns).
fn suspect_batch(shared: &Shared, ids: &Ids, rows: &[&Suspect], schema: &SchemaRef) -> Result<RecordBatch> {
    let strings = shared.strings.inner.lock().expect("lock");
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name().as_str();
            let col: ArrayRef = if name == "ticket_id" {
                ids.column(rows.iter().map(|s| s.row as usize))
            } else if let Some(t) = SUSPECT_TIMES.iter().position(|c| *c == name) {
                Arc::new(TimestampMicrosecondArray::from_iter(
                    rows.iter().map(|s| (s.times[t] != NULL_TIME).then_some(s.times[t])),
                ))
            } else if let Some(t) = SUSPECT_TEXTS.iter().position(|c| *c == name) {
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|s| (s.texts[t] != 0).then(|| strings.names[s.texts[t] as usize].as_str())),
                ))
            } else {
                anyhow::bail!("the scan keeps no values of column {name} for the row checks")
            };
            Ok(cast(&col, f.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

/// Count one ticket into the topics whose categories it carries (`mask`: the first 64 topics;
/// the others by their lists) and whose windows hold it.
#[allow(clippy::too_many_arguments)]
fn topic_row(shared: &Shared, acc: &mut Acc, r: i64, cats: [u32; 3], mask: u64, scored: bool, res: u8, sat: u8) {
    for (t, tspec) in shared.spec.topics.iter().enumerate() {
        let hit = if t < 64 { mask >> t & 1 == 1 } else { cats.iter().any(|c| shared.topic_ids[t].contains(c)) };
        if !hit {
            continue;
        }
        let phase = if r >= tspec.before.0 && r < tspec.before.1 {
            0
        } else if r >= tspec.after.0 && r < tspec.after.1 {
            1
        } else {
            continue;
        };
        let month = micros(date_of(r).with_day(1).expect("day 1"));
        let e = acc.topics[t][phase].entry(month).or_insert([0; 6]);
        e[0] += 1;
        if scored {
            if res > 0 {
                e[1] += i64::from(res == 2);
                e[2] += 1;
            }
            if (1..=3).contains(&sat) {
                e[2 + sat as usize] += 1;
            }
        }
    }
}

/// A batch as read, in `target` (the canonical table schema or some of its columns; missing
/// columns null).
fn to_table(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let cols = target
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Ok(cast(c, f.data_type())?),
            None => Ok(datafusion::arrow::array::new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(target.clone(), cols)?)
}

/// The canonical table schema's `columns`, in its order.
fn check_schema(columns: &[&str]) -> SchemaRef {
    let table = schema::table_schema();
    let keep: Vec<usize> =
        (0..table.fields().len()).filter(|&k| columns.contains(&table.field(k).name().as_str())).collect();
    Arc::new(table.project(&keep).expect("columns of the table"))
}

// ---------------------------------------------------------------------------------------------
// results

fn ts_field(name: &str) -> Field {
    Field::new(name, schema::TIMESTAMP, true)
}

fn text(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn strs(values: Vec<Option<&str>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn int(values: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(values))
}

/// Rows of ticket_facts.sql's counters with their month, for unit_month and city_month.
#[derive(Default)]
struct FactRows {
    month: Vec<i64>,
    counts: [Vec<i64>; F],
}

impl FactRows {
    /// Add a month's counters unless the month has no ticket; says whether it did.
    fn push(&mut self, month: i64, f: &[C; F]) -> bool {
        if f[TICKETS] == 0 {
            return false;
        }
        self.month.push(month);
        for (col, &v) in self.counts.iter_mut().zip(f) {
            col.push(i64::from(v));
        }
        true
    }

    /// The batch: the `key` columns, then month and the counters.
    fn batch(self, mut fields: Vec<Field>, mut cols: Vec<ArrayRef>) -> Result<RecordBatch> {
        fields.push(ts_field("month"));
        cols.push(Arc::new(TimestampMicrosecondArray::from(self.month)));
        for (k, c) in self.counts.into_iter().enumerate() {
            fields.push(Field::new(FACT_NAMES[k], DataType::Int64, true));
            cols.push(int(c));
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}

/// The names behind the scan's ids.
#[derive(Clone)]
struct Names {
    strings: Vec<String>,
    units: Vec<UnitKey>,
    cats: Vec<(u32, u32)>,
}

impl Names {
    fn text(&self, id: u32) -> Option<String> {
        self.str(id).map(str::to_string)
    }
    /// (unit, parent) of a unit id
    fn unit(&self, uid: usize) -> (Option<String>, Option<String>) {
        let (u, p) = self.unit_str(uid);
        (u.map(str::to_string), p.map(str::to_string))
    }
    fn unit_type(&self, uid: usize) -> Option<String> {
        Some(self.unit_type_str(uid).to_string())
    }
    /// [`Names::text`], [`Names::unit`] and [`Names::unit_type`] without a copy (for the tables
    /// of many rows)
    fn str(&self, id: u32) -> Option<&str> {
        (id != 0).then(|| self.strings[id as usize].as_str())
    }
    fn unit_str(&self, uid: usize) -> (Option<&str>, Option<&str>) {
        let u = self.units[uid];
        match u.0 {
            0 => (self.str(u.1), None),
            1 => (self.str(u.2), self.str(u.1)),
            _ => (self.str(u.2), None),
        }
    }
    fn unit_type_str(&self, uid: usize) -> &'static str {
        ["district", "street", "department"][self.units[uid].0 as usize]
    }
}

fn finish(
    shared: &Shared,
    files: &[FileMeta],
    hasher: &(impl std::hash::BuildHasher + Sync),
    mut acc: Acc,
) -> Result<Output> {
    // the last row group's id pages are not needed any more
    acc.id_pages = IdPages::default();
    let spec = shared.spec;
    let n_months = spec.months.len() - 1;
    let targets = place_targets(shared);
    // the percentiles on a thread of their own, from the durations moved out of the scan, first
    // (they take longest of the results; their units exist by now)
    let durations = {
        let chunks = std::mem::take(&mut acc.durations);
        let names = Names { strings: shared.strings.names(), units: shared.units.all(), cats: Vec::new() };
        let targets = targets.clone();
        Pending::spawn(move || {
            let t = std::time::Instant::now();
            let d = durations(&chunks, &names, &targets);
            if std::env::var_os("HOTLINE_PROFILE").is_some() {
                eprintln!("profile: scan results: durations {:.2} s (in the background)", t.elapsed().as_secs_f64());
            }
            d
        })
    };
    let totals = totals(shared, &acc, n_months);
    add_places(shared, &mut acc, n_months, &targets);
    let names = Names { strings: shared.strings.names(), units: shared.units.all(), cats: shared.cats.all() };

    // unit_month and city_month (the SQL's row order is none; the consumers aggregate)
    let mut unit_month = FactRows::default();
    let (mut ut, mut un, mut up) = (Vec::new(), Vec::new(), Vec::new());
    for (uid, rows) in acc.units.chunks(n_months).enumerate() {
        for (m, f) in rows.iter().enumerate() {
            if unit_month.push(spec.months[m], f) {
                let (u, p) = names.unit(uid);
                ut.push(names.unit_type(uid));
                un.push(u);
                up.push(p);
            }
        }
    }
    let unit_month = unit_month.batch(
        vec![
            Field::new("unit_type", DataType::Utf8, true),
            Field::new("unit", DataType::Utf8, true),
            Field::new("parent", DataType::Utf8, true),
        ],
        vec![text(ut), text(un), text(up)],
    )?;
    let mut city_month = FactRows::default();
    for (m, f) in totals.city.iter().enumerate() {
        city_month.push(spec.months[m], f);
    }
    let city_month = city_month.batch(Vec::new(), Vec::new())?;

    let t = std::time::Instant::now();
    // the hash chunks move into the sort, which frees each once copied
    let hashes = std::mem::take(&mut acc.hashes);
    let repeated = searched_hashes(hashes, |at| rehash(files, spec, hasher, at)).map(repeated_hashes)?;
    if std::env::var_os("HOTLINE_PROFILE").is_some() {
        eprintln!("profile: scan results: repeated ids {:.2} s", t.elapsed().as_secs_f64());
    }
    let category_facts = category_facts(&acc, &totals, &names)?;
    let city_mix = city_mix(&acc, &totals, &names, spec)?;
    let data_quality = QUALITY_ITEMS.iter().zip(acc.quality).map(|(k, v)| (k.to_string(), v)).collect();
    let topic_facts = topic_facts(&acc, spec)?;

    let mut daily: Vec<(NaiveDate, i64)> = totals
        .daily
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (date_of(spec.period.0 + k as i64 * MICROS_PER_DAY), *n))
        .collect();
    daily.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (scan_start, _) = spec.scan_range();
    let days: Vec<(i32, i64)> = acc
        .checked_days
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| {
            let d = date_of(scan_start + k as i64 * MICROS_PER_DAY);
            (d.num_days_from_ce() - 719_163, *n) // Date32: days since 1970-01-01
        })
        .collect();
    let raw = shared.raw_cats.all();
    let pairs: Vec<(usize, i64)> =
        totals.checked_categories.iter().enumerate().filter(|(_, n)| **n > 0).map(|(k, n)| (k, *n)).collect();
    let checked_categories = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("category_l1", DataType::Utf8, true),
            Field::new("category_l2", DataType::Utf8, true),
            Field::new("tickets", DataType::Int64, false),
        ])),
        vec![
            text(pairs.iter().map(|(k, _)| names.text(raw[*k].0)).collect()),
            text(pairs.iter().map(|(k, _)| names.text(raw[*k].1)).collect()),
            int(pairs.iter().map(|(_, n)| *n).collect()),
        ],
    )?;
    let checked_days = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, true),
            Field::new("tickets", DataType::Int64, false),
        ])),
        vec![
            Arc::new(datafusion::arrow::array::Date32Array::from(days.iter().map(|d| d.0).collect::<Vec<_>>())),
            int(days.iter().map(|d| d.1).collect()),
        ],
    )?;

    // repeated ticket_ids: equal hashes, then the rows themselves (a second read, only then)
    let set: datafusion::common::HashSet<u64> = repeated.into_iter().collect();
    let repeated = if set.is_empty() { Vec::new() } else { rows_with_ids(files, spec, hasher, &set)? };
    let mut suspects = Vec::new();
    for kept in acc.suspects {
        if kept.rows > acc.cap {
            suspects.push(None);
            continue;
        }
        let mut rows = kept.batches;
        if !set.is_empty() {
            // the rows of a repeated ticket_id are in `repeated`: drop them here, so the checks
            // see each row once
            let mut without = Vec::with_capacity(rows.len());
            for b in rows {
                let keep: BooleanArray =
                    id_hashes(&b, hasher)?.into_iter().map(|h| Some(h.is_none_or(|h| !set.contains(&h)))).collect();
                without.push(filter_record_batch(&b, &keep)?);
            }
            rows = without;
        }
        suspects.push(Some(rows));
    }

    Ok(Output {
        unit_month,
        city_month,
        durations,
        category_facts,
        city_mix,
        data_quality,
        topic_facts,
        daily,
        checked_days,
        checked_categories,
        suspects,
        repeated,
        rows_read: acc.rows,
        row_groups: (acc.row_groups, acc.paged_groups),
        column_chunks: acc.column_chunks,
    })
}

/// The tables that add up from others, made once the scan is done.
struct Totals {
    /// [month]: from the places' (every ticket has a place, null or not)
    city: Vec<[C; F]>,
    /// (tickets, tickets_year_earlier, resolved_yes, resolved_answered) [category] of the city,
    /// from the places' categories
    cat_city: Vec<[C; 4]>,
    /// the same [category_l1 string], from `cat_city`
    cat_l1: Vec<[C; 4]>,
    /// tickets [day of the period], from the checked window's days (the period is whole days
    /// of it)
    daily: Vec<i64>,
    /// (tickets, direct) [category][month] of the period, from the stored pairs' months
    cat_month: Vec<Vec<[C; 2]>>,
    /// tickets of the checked window per stored (category_l1, category_l2) pair, from the same
    checked_categories: Vec<i64>,
}

fn totals(shared: &Shared, acc: &Acc, n_months: usize) -> Totals {
    let mut city = vec![[0; F]; n_months];
    for rows in acc.places.chunks(n_months) {
        for (a, b) in city.iter_mut().zip(rows) {
            add(a, b);
        }
    }
    let cats = shared.cats.all();
    let mut cat_city = vec![[0; 4]; cats.len()];
    for row in &acc.cat_place {
        for (a, b) in cat_city.iter_mut().zip(row) {
            add(a, b);
        }
    }
    let mut cat_l1 = Vec::new();
    for (c, &(l1, _)) in cat_city.iter().zip(&cats) {
        add(slot(&mut cat_l1, l1 as usize), c);
    }
    let spec = shared.spec;
    let (scan_start, _) = spec.scan_range();
    let (p_start, p_end) = spec.period;
    let first = ((p_start - scan_start) / MICROS_PER_DAY) as usize;
    let days = ((p_end - p_start) / MICROS_PER_DAY) as usize;
    let daily = (first..first + days).map(|d| acc.checked_days.get(d).copied().unwrap_or(0)).collect();
    let raw = shared.raw_cats.all();
    let mut checked_categories = vec![0; raw.len()];
    let mut cat_month = Vec::new();
    for (r, months) in acc.raw_month.chunks(n_months).enumerate() {
        let (l1, l2) = raw[r];
        // the category as counted: (category_l1, coalesce(category_l2, category_l1)), known
        // since the scan made both ids together
        let c = shared.cats.id((l1, if l2 != 0 { l2 } else { l1 })) as usize;
        for (m, cell) in months.iter().enumerate() {
            checked_categories[r] += i64::from(cell[0]);
            if spec.months[m] >= p_start && cell[0] > 0 {
                let row: &mut Vec<[C; 2]> = slot(&mut cat_month, c);
                if row.len() < n_months {
                    row.resize(n_months, [0; 2]);
                }
                add(&mut row[m], cell);
            }
        }
    }
    Totals { city, cat_city, cat_l1, daily, cat_month, checked_categories }
}

/// Add each place's counts into its street (when it has one) and its district (a null district
/// too, for the category counts, as category_facts.sql groups by district).
fn add_places(shared: &Shared, acc: &mut Acc, n_months: usize, targets: &[(u32, u32)]) {
    // the category counts of the places without a district go to the null district's unit
    let null_district = targets.iter().any(|t| t.0 == NONE).then(|| shared.units.id((0, 0, 0)));
    let n_units = shared.units.len();
    if acc.units.len() < n_units * n_months {
        acc.units.resize(n_units * n_months, [0; F]);
    }
    if acc.cat_unit.len() < n_units {
        acc.cat_unit.resize(n_units, Vec::new());
    }
    for (p, &(du, su)) in targets.iter().enumerate() {
        // the months: a null district is no district unit
        for m in 0..n_months {
            let Some(f) = acc.places.get(p * n_months + m).copied() else { break };
            for u in [du, su] {
                if u != NONE {
                    add(&mut acc.units[u as usize * n_months + m], &f);
                }
            }
        }
        let Some(cats) = acc.cat_place.get(p) else { continue };
        for u in [if du != NONE { du } else { null_district.unwrap_or(NONE) }, su] {
            if u != NONE {
                let row = &mut acc.cat_unit[u as usize];
                if row.len() < cats.len() {
                    row.resize(cats.len(), [0; 4]);
                }
                for (a, b) in row.iter_mut().zip(cats) {
                    add(a, b);
                }
            }
        }
    }
}

/// Which batches' ids the search for repeated ids must see: a batch whose ids come strictly
/// increasing and whose id range overlaps no other batch's holds no repeated id; every other
/// batch is searched (all of them when the ids come in no order).
fn to_search(chunks: &[IdChunk]) -> Vec<bool> {
    // clusters of overlapping ranges, by the smallest id
    let mut order: Vec<usize> = (0..chunks.len()).filter(|&k| chunks[k].range.is_some()).collect();
    order.sort_by(|&a, &b| chunks[a].range.as_ref().map(|r| &r.0).cmp(&chunks[b].range.as_ref().map(|r| &r.0)));
    let mut search = vec![false; chunks.len()];
    let mut k = 0;
    while k < order.len() {
        let mut end = k + 1;
        let mut hi = &chunks[order[k]].range.as_ref().expect("range").1;
        while end < order.len() {
            let r = chunks[order[end]].range.as_ref().expect("range");
            if r.0 > *hi {
                break;
            }
            if r.1 > *hi {
                hi = &r.1;
            }
            end += 1;
        }
        for &c in &order[k..end] {
            search[c] = end - k > 1 || chunks[c].hashes.is_some();
        }
        k = end;
    }
    search
}

/// The ticket_id hashes of the batches [`to_search`] picks, those not hashed in the scan
/// fetched by `rehash` (by where they were read).
fn searched_hashes(
    chunks: Vec<IdChunk>,
    rehash: impl FnOnce(&[BatchAt]) -> Result<HashMap<BatchAt, Vec<u64>>>,
) -> Result<Vec<Vec<u64>>> {
    let search = to_search(&chunks);
    let missing: Vec<BatchAt> =
        chunks.iter().zip(&search).filter(|(c, s)| **s && c.hashes.is_none()).map(|(c, _)| c.at).collect();
    let mut fetched = if missing.is_empty() { HashMap::default() } else { rehash(&missing)? };
    Ok(chunks
        .into_iter()
        .zip(search)
        .filter(|(_, s)| *s)
        .map(|(c, _)| c.hashes.unwrap_or_else(|| fetched.remove(&c.at).unwrap_or_default()))
        .collect())
}

/// The hashes that occur more than once.
fn repeated_hashes(hashes: Vec<Vec<u64>>) -> Vec<u64> {
    // bucket the hashes by their top byte (a counting sort), then sort the buckets in parallel
    let mut start = vec![0usize; 257];
    for chunk in &hashes {
        for &h in chunk {
            start[(h >> 56) as usize + 1] += 1;
        }
    }
    for k in 1..257 {
        start[k] += start[k - 1];
    }
    let mut all = vec![0u64; start[256]];
    let mut next = start.clone();
    for chunk in hashes {
        for &h in &chunk {
            let b = (h >> 56) as usize;
            all[next[b]] = h;
            next[b] += 1;
        }
    }
    let mut buckets = Vec::with_capacity(256);
    let mut rest = all.as_mut_slice();
    for k in 0..256 {
        let (head, tail) = rest.split_at_mut(start[k + 1] - start[k]);
        buckets.push(head);
        rest = tail;
    }
    buckets
        .into_par_iter()
        .flat_map_iter(|b| {
            b.sort_unstable();
            let mut out = Vec::new();
            for w in b.windows(2) {
                if w[0] == w[1] && out.last() != Some(&w[0]) {
                    out.push(w[0]);
                }
            }
            out
        })
        .collect()
}

/// The hashes of the checked window's ticket_ids of the batches `at`, read again (only the
/// batches of increasing ids whose range another batch's overlaps).
fn rehash(
    files: &[FileMeta],
    spec: &Spec,
    hasher: &impl std::hash::BuildHasher,
    at: &[BatchAt],
) -> Result<HashMap<BatchAt, Vec<u64>>> {
    let (a, b) = spec.scan_range();
    let mut groups: Vec<(usize, usize)> = at.iter().map(|&(f, g, _)| (f, g)).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut out = HashMap::default();
    for (f, g) in groups {
        let file = &files[f];
        let schema = file.meta.schema();
        let roots: Vec<usize> = ["ticket_id", "received_at"].iter().filter_map(|c| schema.index_of(c).ok()).collect();
        let mask = ProjectionMask::roots(file.meta.metadata().file_metadata().schema_descr(), roots);
        for (k, batch) in reader(file, vec![g], mask)?.enumerate() {
            if !at.contains(&(f, g, k)) {
                continue;
            }
            let batch = batch?;
            let received = plain_times(&batch, "received_at")?;
            let ids = Ids::of(&batch)?;
            if matches!(ids, Ids::Absent) {
                continue;
            }
            let rows =
                (0..batch.num_rows()).filter(|&i| received[i] != NULL_TIME && received[i] >= a && received[i] < b);
            out.insert((f, g, k), hashes_of(&ids, rows, hasher));
        }
    }
    Ok(out)
}

/// The checked window's rows whose ticket_id hashes into `set`: a second read, only when a
/// ticket_id repeats.
fn rows_with_ids(
    files: &[FileMeta],
    spec: &Spec,
    hasher: &impl std::hash::BuildHasher,
    set: &datafusion::common::HashSet<u64>,
) -> Result<Vec<RecordBatch>> {
    let (a, b) = spec.scan_range();
    let mut out = Vec::new();
    for file in files {
        for batch in reader(file, row_groups(file, &[(a, b)]), file.mask.clone())? {
            let batch = batch?;
            let received = plain_times(&batch, "received_at")?;
            let keep: BooleanArray = id_hashes(&batch, hasher)?
                .into_iter()
                .zip(received)
                .map(|(h, r)| Some(r != NULL_TIME && r >= a && r < b && h.is_some_and(|h| set.contains(&h))))
                .collect();
            let rows = filter_record_batch(&batch, &keep)?;
            if rows.num_rows() > 0 {
                out.push(to_table(&rows, &schema::table_schema())?);
            }
        }
    }
    Ok(out)
}

/// Hours of a duration in µs, as unit_durations.sql computes them.
fn hours(us: u64) -> f64 {
    us as f64 / MICROS_PER_HOUR as f64
}

/// Where the type-7 quantile p of `known` values lies: (p·(known − 1), the order statistics
/// below and above it).
fn rank(p: f64, known: usize) -> (f64, usize, usize) {
    let r = p * (known - 1) as f64;
    (r, r.floor() as usize, r.ceil() as usize)
}

/// The quantile in hours from its two order statistics, as `quantile_exact` interpolates.
fn interpolate((r, lo, hi): (f64, usize, usize), a: u64, b: u64) -> f64 {
    let (a, b) = (hours(a), hours(b));
    if hi == lo { a } else { a + (r - lo as f64) * (b - a) }
}

/// The bucket of a duration in the percentiles' histograms, in the order of the durations: one
/// per µs below 32, then 16 per power of two, each at most 1/16 of its values wide.
fn bucket(v: u64) -> usize {
    if v < 32 {
        v as usize
    } else {
        let e = 63 - v.leading_zeros() as usize;
        32 + (e - 5) * 16 + ((v >> (e - 4)) & 15) as usize
    }
}

/// Where the order statistics of one group's known durations lie: the buckets of the ranks
/// p·(known − 1) rounded down and up for the median and the P90, and how many known durations
/// lie in the buckets below each.
#[derive(Clone, Copy, Default)]
struct Ranks {
    known: usize,
    bucket: [usize; 4],
    below: [usize; 4],
}

impl Ranks {
    /// From the group's histogram.
    fn of(hist: &[u32]) -> Ranks {
        let known = hist.iter().map(|&h| h as usize).sum();
        let mut r = Ranks { known, ..Ranks::default() };
        if known == 0 {
            return r;
        }
        let ranks = Ranks::ranks(known);
        let (mut sum, mut j) = (0, 0);
        for (b, &h) in hist.iter().enumerate() {
            let h = h as usize;
            // the ranks ascend: each one's bucket is the first whose running count passes it
            while j < 4 && ranks[j] < sum + h {
                (r.bucket[j], r.below[j]) = (b, sum);
                j += 1;
            }
            if j == 4 {
                break;
            }
            sum += h;
        }
        r
    }

    fn ranks(known: usize) -> [usize; 4] {
        let (p50, p90) = (rank(0.5, known), rank(0.9, known));
        [p50.1, p50.2, p90.1, p90.2]
    }

    fn wants(&self, b: usize) -> bool {
        self.known > 0 && self.bucket.contains(&b)
    }

    /// (median, P90) in hours, as `quantile_exact` computes them, from `cand`: the group's
    /// known durations in the buckets [`Ranks::wants`] (reordered here).
    fn quantiles(&self, cand: &mut [u64]) -> [Option<f64>; 2] {
        if self.known == 0 {
            return [None, None];
        }
        // each rank's place among the candidates in order: the candidates of the buckets
        // below its bucket, then its rank within the bucket
        let mut under = [0usize; 4];
        for &v in cand.iter() {
            let b = bucket(v);
            for (u, &k) in under.iter_mut().zip(&self.bucket) {
                *u += usize::from(b < k);
            }
        }
        let ranks = Ranks::ranks(self.known);
        let at: [usize; 4] = std::array::from_fn(|j| under[j] + ranks[j] - self.below[j]);
        // P90 first: its order statistic and the next (ranks round up by one at most, so the
        // next is the smallest above it); everything before it is no larger
        let (_, &mut a90, rest) = cand.select_nth_unstable(at[2]);
        let b90 = if at[3] == at[2] { a90 } else { rest.iter().copied().min().expect("a candidate above") };
        // the median among cand[..at[2]] (and a90 itself when the ranks meet)
        let (a50, b50) = if at[0] == at[2] {
            (a90, if at[1] == at[0] { a90 } else { b90 })
        } else {
            let (_, &mut a, rest) = cand[..at[2]].select_nth_unstable(at[0]);
            (a, if at[1] == at[0] { a } else { rest.iter().copied().min().unwrap_or(a90).min(a90) })
        };
        let (p50, p90) = (rank(0.5, self.known), rank(0.9, self.known));
        [Some(interpolate(p50, a50, b50)), Some(interpolate(p90, a90, b90))]
    }
}

/// Each place's (district unit, street unit), NONE for none, as the scan counts them (the
/// units exist: the scan made them when it first saw the place).
fn place_targets(shared: &Shared) -> Vec<(u32, u32)> {
    shared
        .places
        .all()
        .iter()
        .map(|&(d, s)| {
            let du = if d != 0 { shared.units.id((0, d, 0)) } else { NONE };
            let su = if s != 0 { shared.units.id((1, d, s)) } else { NONE };
            (du, su)
        })
        .collect()
}

/// (median, P90) of the hours to respond, then of the hours to close, per unit.
type UnitQuantiles = Vec<(usize, [Option<f64>; 4])>;

/// How many buckets [`bucket`] has.
const BUCKETS: usize = 976;

/// A duration's place in a histogram row: its bucket, or one past the last for unknown.
#[inline(always)]
fn hist_slot(v: u64) -> usize {
    std::hint::select_unpredictable(v == NO_TIME, BUCKETS, bucket(v))
}

/// Quantiles of one grouping: per report group, None without tickets, else the (median, P90)
/// of the hours to respond, then to close.
type GroupQuantiles = Vec<Option<[Option<f64>; 4]>>;

/// A histogram row: the buckets and the unknown slot.
const STRIDE: usize = BUCKETS + 1;
/// 64-bit words of a row of wanted buckets.
const WORDS: usize = STRIDE.div_ceil(64);

/// Which base group each id of a unit column counts in, as the first of its two histogram rows
/// (to respond, to close): [id + 1] → (base group + 1) × 2, and 0 for the tickets of no base
/// group (NONE, whose id + 1 wraps to 0, or an id that is no base group's).
struct BaseRows(Vec<u32>);

impl BaseRows {
    /// Every id below n its own base group (the places).
    fn identity(n: usize) -> BaseRows {
        BaseRows((0..=n as u32).map(|b| b * 2).collect())
    }
    /// The ids `ids` the base groups 0, 1, … in that order, any other id below n none's (the
    /// department units among all units: the histograms have rows for those only).
    fn of(n: usize, ids: &[usize]) -> BaseRows {
        let mut rows = vec![0; n + 1];
        for (b, &u) in ids.iter().enumerate() {
            rows[u + 1] = (b as u32 + 1) * 2;
        }
        BaseRows(rows)
    }
    /// How many base groups there are.
    fn bases(&self) -> usize {
        self.0.iter().max().map_or(0, |&r| r as usize / 2)
    }
    #[inline(always)]
    fn row(&self, u: u32) -> usize {
        self.0[u.wrapping_add(1) as usize] as usize
    }
}

/// The first histogram row of base group `b`.
#[inline(always)]
fn base_row(b: u32) -> usize {
    (b as usize + 1) * 2
}

/// The period's scored tickets' durations counted by bucket, for both groupings (by place, by
/// department unit): [grouping][row × 2 + duration][bucket, then unknown], the rows of each
/// base group after row 0, the tickets of none's ([`BaseRows`]). (Counting each batch in the
/// scan, while its durations are in the cache, cost more: the histograms then compete for the
/// cache with the scan's tables.)
struct DurationHist([Vec<u32>; 2]);

impl DurationHist {
    /// Empty histograms of the base groups of `rows`.
    fn new(rows: [&BaseRows; 2]) -> DurationHist {
        DurationHist(rows.map(|r| vec![0; (r.bases() + 1) * 2 * STRIDE]))
    }

    /// Count a chunk, whose unit columns' ids `rows` (those of [`DurationHist::new`]) knows.
    fn add(&mut self, c: &DurationChunk, rows: [&BaseRows; 2]) {
        let [ha, hb] = &mut self.0;
        let [ua, ub] = &c.units;
        for (((&u, &w), &r), &cl) in ua.iter().zip(ub).zip(&c.respond).zip(&c.close) {
            let (kr, kc) = (hist_slot(r), hist_slot(cl));
            for (h, rows, u) in [(&mut *ha, rows[0], u), (&mut *hb, rows[1], w)] {
                let row = rows.row(u) * STRIDE;
                h[row + kr] += 1;
                h[row + STRIDE + kc] += 1;
            }
        }
    }
}

/// One grouping of the durations by a unit column, as [`grouped_quantiles`] works through it.
/// Its rows are [`DurationHist`]'s.
struct Grouping<'a> {
    /// the report groups' base groups
    members: &'a [Vec<u32>],
    /// the base group of each id of the unit column
    rows: &'a BaseRows,
    /// [row × 2 + duration][bucket, unknown]
    hist: Vec<u32>,
    ranks: Vec<[Ranks; 2]>,
    tickets: Vec<usize>,
    /// the report groups of each row's base group
    groups: Vec<Vec<u32>>,
    /// [row × 2 + duration]: the buckets any of the base group's report groups wants, as bits
    wanted: Vec<u64>,
    /// each group's known durations in the buckets it wants
    cand: Vec<[Vec<u64>; 2]>,
    /// one chunk's durations in wanted buckets: (row × 2 + duration, µs)
    found: Vec<(u32, u64)>,
}

impl Grouping<'_> {
    /// `hist` the grouping's histogram, of `rows`' base groups.
    fn new<'a>((rows, members): (&'a BaseRows, &'a [Vec<u32>]), hist: Vec<u32>) -> Grouping<'a> {
        Grouping {
            members,
            rows,
            hist,
            ranks: Vec::new(),
            tickets: Vec::new(),
            groups: Vec::new(),
            wanted: Vec::new(),
            cand: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Each report group's ranks (its histogram the sum of its members'), its tickets, and the
    /// buckets each base group's durations are wanted in (never the unknown slot, nor row 0's).
    fn rank(&mut self) {
        let hist = &self.hist;
        let rows = hist.len() / (2 * STRIDE);
        let mut sum = vec![0u32; BUCKETS];
        for g in self.members {
            let mut r = [Ranks::default(); 2];
            for (m, r) in r.iter_mut().enumerate() {
                sum.fill(0);
                for &b in g {
                    let h = &hist[(base_row(b) + m) * STRIDE..][..BUCKETS];
                    for (s, &h) in sum.iter_mut().zip(h) {
                        *s += h;
                    }
                }
                *r = Ranks::of(&sum);
            }
            self.ranks.push(r);
            // each ticket is counted once in its base's respond row, known or not
            let of = |&b: &u32| hist[base_row(b) * STRIDE..][..STRIDE].iter().map(|&h| h as usize).sum::<usize>();
            self.tickets.push(g.iter().map(of).sum::<usize>());
        }
        self.groups = vec![Vec::new(); rows];
        for (g, bases) in self.members.iter().enumerate() {
            for &b in bases {
                self.groups[base_row(b) / 2].push(g as u32);
            }
        }
        self.wanted = vec![0; rows * 2 * WORDS];
        for (row, gs) in self.groups.iter().enumerate() {
            for &g in gs {
                for m in 0..2 {
                    let r = &self.ranks[g as usize][m];
                    if r.known > 0 {
                        for &k in &r.bucket {
                            self.wanted[(row * 2 + m) * WORDS + k / 64] |= 1 << (k % 64);
                        }
                    }
                }
            }
        }
        self.cand = vec![[Vec::new(), Vec::new()]; self.members.len()];
    }

    /// Whether a duration in slot `k` of histogram row `row` is wanted.
    #[inline(always)]
    fn wants(&self, row: usize, k: usize) -> usize {
        (self.wanted[row * WORDS + k / 64] >> (k % 64) & 1) as usize
    }

    /// Hand the first `f` durations found to the groups that want them.
    fn hand_out(&mut self, f: usize) {
        for &(row, v) in &self.found[..f] {
            let (b, m, k) = (row as usize / 2, row as usize % 2, bucket(v));
            for &g in &self.groups[b] {
                if self.ranks[g as usize][m].wants(k) {
                    self.cand[g as usize][m].push(v);
                }
            }
        }
    }

    fn quantiles(mut self) -> GroupQuantiles {
        self.cand
            .iter_mut()
            .zip(&self.ranks)
            .zip(&self.tickets)
            .map(|(([cr, cc], [rr, rc]), &n)| {
                (n > 0).then(|| {
                    let [r50, r90] = rr.quantiles(cr);
                    let [c50, c90] = rc.quantiles(cc);
                    [r50, r90, c50, c90]
                })
            })
            .collect()
    }
}

/// The exact (median, P90) of both durations of each report group of two groupings, one by
/// each unit column (places, department units). A report group is the scored tickets of a set
/// of base groups (`members[g]`; the base group of a ticket is the one its unit column's id
/// names in the grouping's [`BaseRows`], or none).
/// `hist` counts each base group's durations by bucket; its sums per report group find the
/// bucket of each order statistic. One read of the durations then keeps only those in these
/// buckets, among which the order statistics are selected. None for a report group without
/// tickets.
fn grouped_quantiles(
    durations: &[DurationChunk],
    hist: DurationHist,
    sets: [(&BaseRows, &[Vec<u32>]); 2],
) -> [GroupQuantiles; 2] {
    let [ha, hb] = hist.0;
    let (mut a, mut b) = (Grouping::new(sets[0], ha), Grouping::new(sets[1], hb));
    a.rank();
    b.rank();
    // the durations in wanted buckets: each is written to `found`, which moves on only when it
    // is wanted (no branch: a few in a hundred are), then handed to the groups that want them
    for c in durations {
        let n = c.respond.len();
        for g in [&mut a, &mut b] {
            g.found.resize(2 * n, (0, 0));
        }
        let (mut fa, mut fb) = (0, 0);
        let [ua, ub] = &c.units;
        for (((&u, &w), &r), &cl) in ua.iter().zip(ub).zip(&c.respond).zip(&c.close) {
            let (kr, kc) = (hist_slot(r), hist_slot(cl));
            for (g, u, f) in [(&mut a, u, &mut fa), (&mut b, w, &mut fb)] {
                let row = g.rows.row(u);
                g.found[*f] = (row as u32, r);
                *f += g.wants(row, kr);
                g.found[*f] = (row as u32 + 1, cl);
                *f += g.wants(row + 1, kc);
            }
        }
        a.hand_out(fa);
        b.hand_out(fb);
    }
    [a.quantiles(), b.quantiles()]
}

/// The districts', streets' and the city's report groups, the places being the base groups: a
/// street is one place, a district its places, the city every place. (report kind, unit) of
/// each, and its places.
fn place_groups(targets: &[(u32, u32)]) -> (Vec<(usize, u32)>, Vec<Vec<u32>>) {
    let mut units: Vec<(usize, u32)> = Vec::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut district_of: HashMap<u32, usize> = HashMap::default();
    for (p, &(du, su)) in targets.iter().enumerate() {
        if su != NONE {
            units.push((1, su));
            members.push(vec![p as u32]);
        }
        if du != NONE {
            let g = *district_of.entry(du).or_insert_with(|| {
                units.push((0, du));
                members.push(Vec::new());
                members.len() - 1
            });
            members[g].push(p as u32);
        }
    }
    units.push((2, 0));
    members.push((0..targets.len() as u32).collect());
    (units, members)
}

fn durations(chunks: &[DurationChunk], names: &Names, targets: &[(u32, u32)]) -> Result<RecordBatch> {
    // each place a base group of the districts, streets and the city; each department unit
    // its own (the department column holds no other units)
    let (places, place_members) = place_groups(targets);
    let place_rows = BaseRows::identity(targets.len());
    let departments: Vec<usize> = (0..names.units.len()).filter(|&u| names.units[u].0 == 2).collect();
    let department_rows = BaseRows::of(names.units.len(), &departments);
    let department_members: Vec<Vec<u32>> = (0..departments.len() as u32).map(|b| vec![b]).collect();
    // one read of the durations counts them for both groupings
    let mut hist = DurationHist::new([&place_rows, &department_rows]);
    for c in chunks {
        hist.add(c, [&place_rows, &department_rows]);
    }
    let [by_place, by_department] =
        grouped_quantiles(chunks, hist, [(&place_rows, &place_members), (&department_rows, &department_members)]);
    // districts, streets, departments, the city; each in unit order
    let mut results: [UnitQuantiles; 4] = Default::default();
    for ((kind, unit), q) in places.into_iter().zip(by_place) {
        if let Some(q) = q {
            results[[0, 1, 3][kind]].push((unit as usize, q));
        }
    }
    results[2] = departments.into_iter().zip(by_department).filter_map(|(u, q)| q.map(|q| (u, q))).collect();
    for r in &mut results {
        r.sort_by_key(|u| u.0);
    }
    let (mut ut, mut un, mut up) = (Vec::new(), Vec::new(), Vec::new());
    let mut q: [Vec<Option<f64>>; 4] = Default::default();
    for (t, rows) in results.iter().enumerate() {
        for (u, values) in rows {
            if t == 3 {
                ut.push(Some("city".to_string()));
                un.push(Some("city".to_string()));
                up.push(None);
            } else {
                let (name, parent) = names.unit(*u);
                ut.push(names.unit_type(*u));
                un.push(name);
                up.push(parent);
            }
            for (k, v) in values.iter().enumerate() {
                q[k].push(*v);
            }
        }
    }
    let [a, b, c, d] = q;
    let f = |v: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("unit", DataType::Utf8, true),
            Field::new("parent", DataType::Utf8, true),
            Field::new("respond_hours_median", DataType::Float64, true),
            Field::new("respond_hours_p90", DataType::Float64, true),
            Field::new("close_hours_median", DataType::Float64, true),
            Field::new("close_hours_p90", DataType::Float64, true),
            Field::new("unit_type", DataType::Utf8, true),
        ])),
        vec![text(un), text(up), f(a), f(b), f(c), f(d), text(ut)],
    )?)
}

fn category_facts(acc: &Acc, totals: &Totals, names: &Names) -> Result<RecordBatch> {
    let name = |id: u32| names.str(id);
    let cats = &names.cats;
    // (the text columns as borrowed strings: the table has a row per unit and category)
    let (mut ut, mut level) = (Vec::new(), Vec::new());
    let [mut un, mut up, mut c1, mut c2]: [Vec<Option<&str>>; 4] = Default::default();
    let mut counts: [Vec<i64>; 4] = Default::default();
    let mut row = |t: &'static str, u, p, lv: i64, a, b, c: &[C; 4]| {
        ut.push(Some(t));
        un.push(u);
        up.push(p);
        level.push(lv);
        c1.push(a);
        c2.push(b);
        for k in 0..4 {
            counts[k].push(i64::from(c[k]));
        }
    };
    for (id, c) in totals.cat_l1.iter().enumerate() {
        if c[0] + c[1] > 0 {
            row("city", None, None, 1, name(id as u32), None, c);
        }
    }
    for (cid, c) in totals.cat_city.iter().enumerate() {
        if c[0] + c[1] > 0 {
            let (a, b) = cats[cid];
            row("city", None, None, 2, name(a), name(b), c);
        }
    }
    for (uid, per_cat) in acc.cat_unit.iter().enumerate() {
        for (cid, c) in per_cat.iter().enumerate() {
            if c[0] + c[1] > 0 {
                let (u, p) = names.unit_str(uid);
                let (a, b) = cats[cid];
                row(names.unit_type_str(uid), u, p, 2, name(a), name(b), c);
            }
        }
    }
    let [t, ye, yes, ans] = counts;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("unit_type", DataType::Utf8, true),
            Field::new("unit", DataType::Utf8, true),
            Field::new("parent", DataType::Utf8, true),
            Field::new("level", DataType::Int64, true),
            Field::new("category_l1", DataType::Utf8, true),
            Field::new("category_l2", DataType::Utf8, true),
            Field::new("tickets", DataType::Int64, true),
            Field::new("tickets_year_earlier", DataType::Int64, true),
            Field::new("resolved_yes", DataType::Int64, true),
            Field::new("resolved_answered", DataType::Int64, true),
        ])),
        vec![strs(ut), strs(un), strs(up), int(level), strs(c1), strs(c2), int(t), int(ye), int(yes), int(ans)],
    )?)
}

fn city_mix(acc: &Acc, totals: &Totals, names: &Names, spec: &Spec) -> Result<RecordBatch> {
    let name = |id: u32| names.text(id);
    let cats = &names.cats;
    struct Row {
        dimension: &'static str,
        value: Option<String>,
        hour: Option<i64>,
        month: Option<i64>,
        l1: Option<String>,
        l2: Option<String>,
        c: [C; 3],
    }
    let mut rows = Vec::new();
    for (dimension, table) in [("channel", &acc.channel), ("request_type", &acc.request_type)] {
        for (id, c) in table.iter().enumerate() {
            if c[0] + c[1] > 0 {
                rows.push(Row {
                    dimension,
                    value: name(id as u32),
                    hour: None,
                    month: None,
                    l1: None,
                    l2: None,
                    c: *c,
                });
            }
        }
    }
    for (h, c) in acc.hour.iter().enumerate() {
        if c[0] + c[1] > 0 {
            let hour = Some(h as i64);
            rows.push(Row {
                dimension: "hour",
                value: Some(h.to_string()),
                hour,
                month: None,
                l1: None,
                l2: None,
                c: *c,
            });
        }
    }
    for (cid, months) in totals.cat_month.iter().enumerate() {
        for (m, c) in months.iter().enumerate() {
            if c[0] > 0 {
                let (a, b) = cats[cid];
                rows.push(Row {
                    dimension: "category_month",
                    value: None,
                    hour: None,
                    month: Some(spec.months[m]),
                    l1: name(a),
                    l2: name(b),
                    c: [c[0], 0, c[1]],
                });
            }
        }
    }
    // city_mix.sql's ORDER BY dimension, hour, month, tickets DESC, value, category_l1, category_l2
    // (nulls last, as DataFusion sorts ascending)
    fn last<T: Ord + Clone>(v: &Option<T>) -> (bool, Option<T>) {
        (v.is_none(), v.clone())
    }
    rows.sort_by(|a, b| {
        (
            a.dimension,
            last(&a.hour),
            last(&a.month),
            std::cmp::Reverse(a.c[0]),
            last(&a.value),
            last(&a.l1),
            last(&a.l2),
        )
            .cmp(&(
                b.dimension,
                last(&b.hour),
                last(&b.month),
                std::cmp::Reverse(b.c[0]),
                last(&b.value),
                last(&b.l1),
                last(&b.l2),
            ))
    });
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("dimension", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
            Field::new("hour", DataType::Int64, true),
            ts_field("month"),
            Field::new("category_l1", DataType::Utf8, true),
            Field::new("category_l2", DataType::Utf8, true),
            Field::new("tickets", DataType::Int64, true),
            Field::new("tickets_year_earlier", DataType::Int64, true),
            Field::new("direct", DataType::Int64, true),
        ])),
        vec![
            text(rows.iter().map(|r| Some(r.dimension.to_string())).collect()),
            text(rows.iter().map(|r| r.value.clone()).collect()),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.hour).collect::<Vec<_>>())),
            Arc::new(TimestampMicrosecondArray::from(rows.iter().map(|r| r.month).collect::<Vec<_>>())),
            text(rows.iter().map(|r| r.l1.clone()).collect()),
            text(rows.iter().map(|r| r.l2.clone()).collect()),
            int(rows.iter().map(|r| i64::from(r.c[0])).collect()),
            int(rows.iter().map(|r| i64::from(r.c[1])).collect()),
            int(rows.iter().map(|r| i64::from(r.c[2])).collect()),
        ],
    )?)
}

fn topic_facts(acc: &Acc, spec: &Spec) -> Result<RecordBatch> {
    let (mut topic, mut phase, mut month) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts: [Vec<i64>; 6] = Default::default();
    for (t, phases) in acc.topics.iter().enumerate() {
        for (p, months) in phases.iter().enumerate() {
            let mut ms: Vec<_> = months.iter().collect();
            ms.sort();
            for (m, c) in ms {
                topic.push(Some(spec.topics[t].name.clone()));
                phase.push(Some(if p == 0 { "before" } else { "after" }.to_string()));
                month.push(*m);
                for k in 0..6 {
                    counts[k].push(c[k]);
                }
            }
        }
    }
    let [tk, yes, ans, s, b, d] = counts;
    Ok(RecordBatch::try_new(
        topic_facts_schema(),
        vec![
            text(topic),
            text(phase),
            Arc::new(TimestampMicrosecondArray::from(month)),
            int(tk),
            int(yes),
            int(ans),
            int(s),
            int(b),
            int(d),
        ],
    )?)
}

fn topic_facts_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("topic", DataType::Utf8, true),
        Field::new("phase", DataType::Utf8, true),
        ts_field("month"),
        Field::new("tickets", DataType::Int64, true),
        Field::new("resolved_yes", DataType::Int64, true),
        Field::new("resolved_answered", DataType::Int64, true),
        Field::new("satisfied", DataType::Int64, true),
        Field::new("basically_satisfied", DataType::Int64, true),
        Field::new("dissatisfied", DataType::Int64, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hasher() -> impl std::hash::BuildHasher + Clone {
        datafusion::common::HashMap::<u8, u8>::default().hasher().clone()
    }

    /// Batch k's id chunk as the scan makes it, from an Arrow column and from pages (the two
    /// must agree).
    fn chunk(k: usize, ids: &[Option<&str>], h: &impl std::hash::BuildHasher) -> IdChunk {
        let col = Ids::Column(StringViewArray::from(ids.to_vec()));
        let a = IdChunk::new((0, 0, k), &col, || 0..ids.len(), h);
        // the batch as rows 2.. of a row group's pages
        let pages = IdPages::of(&[&[Some("x"), None], ids].concat());
        let b = IdChunk::new((0, 0, k), &Ids::Pages(&pages, 2), || 0..ids.len(), h);
        assert_eq!((&a.hashes, &a.range), (&b.hashes, &b.range));
        a
    }

    /// The repeated ids of these batches, and how many batches had to be hashed again.
    fn found(batches: &[&[Option<&str>]]) -> (Vec<String>, usize) {
        let h = hasher();
        let all: Vec<&str> = batches.iter().flat_map(|b| b.iter().flatten().copied()).collect();
        let chunks = batches.iter().enumerate().map(|(k, b)| chunk(k, b, &h)).collect();
        let mut again = 0;
        let hashes = searched_hashes(chunks, |at| {
            again = at.len();
            Ok(at
                .iter()
                .map(|&(_, _, k)| {
                    (
                        (0, 0, k),
                        hashes_of(&Ids::Column(StringViewArray::from(batches[k].to_vec())), 0..batches[k].len(), &h),
                    )
                })
                .collect())
        })
        .expect("hashes");
        let repeated = repeated_hashes(hashes);
        let mut out: Vec<String> =
            all.iter().filter(|v| repeated.contains(&h.hash_one(**v))).map(|v| v.to_string()).collect();
        out.sort();
        out.dedup();
        (out, again)
    }

    #[test]
    fn increasing_batches_in_disjoint_ranges_are_not_searched() {
        let h = hasher();
        let a = chunk(0, &[Some("T01"), None, Some("T02"), Some("T05")], &h);
        assert!(a.hashes.is_none(), "increasing ids are not hashed");
        assert_eq!(a.range, Some(("T01".to_string(), "T05".to_string())));
        let b = chunk(1, &[Some("T07"), None, Some("T06")], &h);
        assert_eq!(b.hashes.as_ref().map(Vec::len), Some(2), "null ids are not hashed");
        assert_eq!(b.range, Some(("T06".to_string(), "T07".to_string())));
        assert_eq!(to_search(&[a, b]), [false, true]);
        // no id repeats: nothing found, nothing read again, whichever way the batches come
        assert_eq!(found(&[&[Some("T01"), Some("T02")], &[Some("T03"), Some("T09")]]), (vec![], 0));
        assert_eq!(found(&[&[Some("T03"), Some("T09")], &[Some("T01"), Some("T02")]]), (vec![], 0));
    }

    #[test]
    fn a_repeated_id_is_found_wherever_it_hides() {
        let one = |v: &str| vec![v.to_string()];
        // twice in one batch, not adjacent
        assert_eq!(found(&[&[Some("T1"), Some("T3"), Some("T2"), Some("T1")]]), (one("T1"), 0));
        // twice in a row: not strictly increasing
        assert_eq!(found(&[&[Some("T1"), Some("T1")]]), (one("T1"), 0));
        // two increasing batches whose ranges overlap in the repeated id (the first one's
        // largest is the second one's smallest): both are read again
        assert_eq!(found(&[&[Some("T1"), Some("T4")], &[Some("T4"), Some("T9")]]), (one("T4"), 2));
        // an increasing batch and an unordered one inside its range
        assert_eq!(found(&[&[Some("T1"), Some("T5"), Some("T9")], &[Some("T6"), Some("T5")]]), (one("T5"), 1));
        // a chain of overlaps: the first and third batches share T2, the middle one spans both
        assert_eq!(
            found(&[&[Some("T2"), Some("T3")], &[Some("T1"), Some("T8")], &[Some("T0"), Some("T2")]]),
            (one("T2"), 3)
        );
        // a batch of nulls only has no range and no hashes
        assert_eq!(found(&[&[None, None], &[Some("T1"), Some("T1")]]), (one("T1"), 0));
    }

    /// A ticket's base group: one of 0..6 (a group's or not), 6 (none's), or NONE.
    fn unit() -> impl proptest::strategy::Strategy<Value = u32> {
        proptest::prop_oneof![0u32..7, proptest::strategy::Just(NONE)]
    }

    /// Durations in µs as the scan keeps them: unknown, ties, seconds to decades, the largest.
    fn duration() -> impl proptest::strategy::Strategy<Value = u64> {
        proptest::prop_oneof![
            proptest::strategy::Just(NO_TIME),
            0u64..4,
            proptest::sample::select(vec![1_000_000u64, 3_600_000_000, 7_200_000_000]),
            0u64..3_600_000_000,
            0u64..(1u64 << 50),
            (NO_TIME - 3)..NO_TIME,
        ]
    }

    proptest::proptest! {
        /// The percentiles by histogram and candidates give quantile_exact's result for every
        /// group of both groupings, bit for bit: any mix of unknown durations, ties and
        /// magnitudes, groups that share base groups, tickets of no group, groups without
        /// tickets, base groups that differ between the two unit columns, and a column whose
        /// ids map to base groups in another order.
        #[test]
        fn grouped_quantiles_are_quantile_exact(
            rows in proptest::collection::vec((unit(), unit(), duration(), duration()), 0..800),
            cut in 0usize..800,
            members in proptest::array::uniform2(
                proptest::collection::vec(proptest::collection::btree_set(0u32..6, 0..4), 1..5),
            ),
        ) {
            let members = members.map(|m| m.into_iter().map(|g| g.into_iter().collect()).collect::<Vec<Vec<u32>>>());
            // two chunks
            let cut = cut.min(rows.len());
            let chunk = |rows: &[(u32, u32, u64, u64)]| DurationChunk {
                units: [rows.iter().map(|r| r.0).collect(), rows.iter().map(|r| r.1).collect()],
                respond: rows.iter().map(|r| r.2).collect(),
                close: rows.iter().map(|r| r.3).collect(),
            };
            let chunks = [chunk(&rows[..cut]), chunk(&rows[cut..])];
            // the first column's ids are their own base groups (6 is no group's); the second's
            // base groups are the ids 5, 0, 3, 1, 4, 6 in that order (2 is none's); NONE none's
            let second = [5usize, 0, 3, 1, 4, 6];
            let base_rows = [BaseRows::identity(7), BaseRows::of(7, &second)];
            let mut hist = DurationHist::new([&base_rows[0], &base_rows[1]]);
            for c in &chunks {
                hist.add(c, [&base_rows[0], &base_rows[1]]);
            }
            let got = grouped_quantiles(&chunks, hist, [(&base_rows[0], &members[0]), (&base_rows[1], &members[1])]);
            let base = |t: usize, id: u32| -> Option<u32> {
                if t == 0 {
                    (id < 7).then_some(id)
                } else {
                    second.iter().position(|&u| u as u32 == id).map(|b| b as u32)
                }
            };
            for t in 0..2 {
                for (g, bases) in members[t].iter().enumerate() {
                    let of: Vec<&(u32, u32, u64, u64)> = rows
                        .iter()
                        .filter(|r| base(t, if t == 0 { r.0 } else { r.1 }).is_some_and(|b| bases.contains(&b)))
                        .collect();
                    let hours_of = |f: fn(&(u32, u32, u64, u64)) -> u64| -> Vec<f64> {
                        of.iter().map(|r| f(r)).filter(|&v| v != NO_TIME).map(hours).collect()
                    };
                    let (mut r, mut c) = (hours_of(|r| r.2), hours_of(|r| r.3));
                    let expected = (!of.is_empty()).then(|| {
                        [
                            crate::udf::quantile(&mut r.clone(), 0.5),
                            crate::udf::quantile(&mut r, 0.9),
                            crate::udf::quantile(&mut c.clone(), 0.5),
                            crate::udf::quantile(&mut c, 0.9),
                        ]
                    });
                    let bits = |q: Option<[Option<f64>; 4]>| q.map(|q| q.map(|v| v.map(f64::to_bits)));
                    proptest::prop_assert_eq!(bits(got[t][g]), bits(expected), "grouping {} group {}", t, g);
                }
            }
        }

        /// Buckets keep the order of the durations, and every duration has one of the 976.
        #[test]
        fn buckets_keep_the_order(a in duration(), b in duration()) {
            let (a, b) = (a.min(b), a.max(b));
            proptest::prop_assert!(bucket(a) <= bucket(b));
            proptest::prop_assert!(bucket(b) < 976);
        }

        /// The inline comparison of ids is the slices' order: any lengths, long common
        /// prefixes (one side a prefix of the other too), bytes above 0x7f.
        #[test]
        fn less_is_the_order_of_bytes(
            prefix in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            // and b cut or padded to a's length (ids of one length take another path)
            let same: Vec<u8> = b.iter().copied().chain(std::iter::repeat(0)).take(a.len()).collect();
            let (a, b, same) = ([&prefix[..], &a].concat(), [&prefix[..], &b].concat(), [&prefix[..], &same].concat());
            proptest::prop_assert_eq!(less(&a, &same), a < same);
            proptest::prop_assert_eq!(less(&same, &a), same < a);
            proptest::prop_assert_eq!(less(&a, &b), a < b);
            proptest::prop_assert_eq!(less(&b, &a), b < a);
            proptest::prop_assert!(!less(&a, &a));
        }

        /// The block readers give each row what reading the row alone gives: nulls anywhere, a
        /// column sliced at any bit offset, any number of blocks and a partial last one.
        #[test]
        fn blocks_read_as_rows(
            rows in proptest::collection::vec(
                (
                    proptest::option::weighted(0.8, -5i64..5),
                    proptest::option::weighted(0.8, 0i32..6),
                    proptest::option::weighted(0.8, proptest::bool::ANY),
                ),
                0..5000,
            ),
            offset in 0usize..130,
        ) {
            let offset = offset.min(rows.len());
            let n = rows.len() - offset;
            let times = TimestampMicrosecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()).slice(offset, n);
            let keys = datafusion::arrow::array::Int32Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()).slice(offset, n);
            let flags = BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()).slice(offset, n);
            let time = Time { values: times.values().clone(), valid: times.nulls().map(|v| v.inner().clone()) };
            // key 5 is past the map: read as null, as a null row's key may be anything
            let text = Text {
                keys: keys.values().clone(),
                valid: keys.nulls().map(|v| v.inner().clone()),
                map: (0..5u32).map(|k| 10 * k + 1).collect(),
            };
            let flag = Flag {
                values: flags.values().clone(),
                valid: flags.nulls().map_or_else(|| BooleanBuffer::new_set(n), |v| v.inner().clone()),
            };
            let (mut tb, mut xb, mut fb) = (vec![0i64; BLOCK], vec![0u32; BLOCK], vec![0u8; BLOCK]);
            for base in (0..n).step_by(BLOCK) {
                let m = BLOCK.min(n - base);
                let t = TimeRef::of(&time).block(base, m, &mut tb).to_vec();
                let x = TextRef::of(&text).block(base, m, &mut xb).to_vec();
                let f = flag.block(base, m, &mut fb).to_vec();
                for j in 0..m {
                    let i = base + j;
                    let want_t = if times.is_valid(i) { times.value(i) } else { NULL_TIME };
                    let want_x = if keys.is_valid(i) && keys.value(i) < 5 { 10 * keys.value(i) as u32 + 1 } else { 0 };
                    let want_f = if flags.is_valid(i) { 1 + u8::from(flags.value(i)) } else { 0 };
                    proptest::prop_assert_eq!((t[j], x[j], f[j]), (want_t, want_x, want_f), "row {}", i);
                }
            }
        }
    }
}
