//! `hotline import`: exports in, a canonical Parquet archive (year=/month=) out, nothing lost.
//!
//! Every source row ends up in exactly one place: accepted (new, or replacing an older version
//! of the same ticket), quarantined (with the file, line, column and reason), or counted as a
//! duplicate (the same ticket_id again: an identical copy, or an older version). So
//! `read = accepted + quarantined + duplicates` always holds. The archive is rebuilt in a
//! staging folder (untouched partitions hard-linked, touched ones rewritten) and swapped in
//! whole, so an interrupted import leaves it as it was.

pub mod mapping;
pub mod read;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch, sort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error;
use crate::schema::{self, COLUMNS, ColType};
pub use mapping::Mapping;

/// A canonical value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    S(Option<String>),
    T(Option<NaiveDateTime>),
    B(Option<bool>),
}

/// One canonical row, in COLUMNS order.
pub type Row = Vec<Cell>;

fn col_index(name: &str) -> usize {
    COLUMNS.iter().position(|c| c.name == name).expect("canonical column")
}

/// Timestamps that exports use for "no value".
fn sentinel(t: &NaiveDateTime) -> bool {
    let d = t.date();
    d == NaiveDate::from_ymd_opt(1900, 1, 1).expect("date") || d == NaiveDate::from_ymd_opt(2100, 1, 1).expect("date")
}

fn parse_timestamp(text: &str, formats: &[String]) -> Option<NaiveDateTime> {
    let t = text.trim();
    for f in formats {
        // with an offset: keep the wall-clock time of the source
        if f.contains("%z") || f.contains("%:z") {
            if let Ok(dt) = DateTime::parse_from_str(t, f) {
                return Some(dt.naive_local());
            }
        } else if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Some(dt);
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.naive_local());
    }
    // a date alone: midnight
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

fn parse_bool(text: &str) -> Option<Option<bool>> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Some(Some(true)),
        "false" | "f" | "0" | "no" | "n" => Some(Some(false)),
        _ => None,
    }
}

/// Why a row went to quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub column: String,
    pub reason: String,
}

fn problem(column: &str, reason: String) -> Problem {
    Problem { column: column.to_string(), reason }
}

/// The values the schema allows in an enumerated column.
fn allowed(column: &str) -> Option<&'static [&'static str]> {
    match column {
        "channel" => Some(schema::CHANNELS),
        "request_type" => Some(schema::REQUEST_TYPES),
        "urgency" => Some(schema::URGENCIES),
        "satisfaction" => Some(schema::SATISFACTION),
        "excluded_reason" => Some(schema::EXCLUDED_REASONS),
        _ => None,
    }
}

/// Map and validate one source record.
pub fn convert(m: &Mapping, rec: &read::Record) -> std::result::Result<Row, Problem> {
    if let Some(p) = &rec.problem {
        return Err(problem("row", p.clone()));
    }
    let mut row: Row = Vec::with_capacity(COLUMNS.len());
    for c in COLUMNS {
        let raw: Option<String> = match m.constants.get(c.name) {
            Some(v) => Some(v.clone()),
            None => m
                .columns
                .get(c.name)
                .and_then(|h| rec.fields.get(h))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        };
        let raw = raw.or_else(|| m.defaults.get(c.name).cloned());
        let raw = match (&raw, m.values.get(c.name)) {
            (Some(v), Some(map)) => Some(map.get(v).cloned().unwrap_or_else(|| v.clone())),
            _ => raw,
        };
        let cell = match (c.ty, raw) {
            (ColType::Str, v) => {
                if let (Some(v), Some(ok)) = (&v, allowed(c.name))
                    && !ok.contains(&v.as_str())
                {
                    return Err(problem(c.name, format!("unknown value `{v}` (allowed: {})", ok.join(", "))));
                }
                Cell::S(v)
            }
            (ColType::Timestamp, None) => Cell::T(None),
            (ColType::Timestamp, Some(v)) => match parse_timestamp(&v, &m.source.timestamp_formats) {
                Some(t) if sentinel(&t) => Cell::T(None),
                Some(t) if !plausible(m, &t) => {
                    let (from, to) = window(m);
                    return Err(problem(
                        c.name,
                        format!("`{v}` is outside the plausible times {from} to {to} (a typo or a placeholder date)"),
                    ));
                }
                Some(t) => Cell::T(Some(t)),
                None => {
                    return Err(problem(
                        c.name,
                        format!(
                            "cannot read `{v}` as a time (formats tried: {})",
                            m.source.timestamp_formats.join(" | ")
                        ),
                    ));
                }
            },
            (ColType::Bool, None) => Cell::B(None),
            (ColType::Bool, Some(v)) => match parse_bool(&v) {
                Some(b) => Cell::B(b),
                None => return Err(problem(c.name, format!("`{v}` is not yes/no (map it under [values.{}])", c.name))),
            },
        };
        row.push(cell);
    }
    for (to, from) in &m.derive {
        let (t, f) = (col_index(to), col_index(from));
        let empty = matches!(&row[t], Cell::S(None) | Cell::T(None) | Cell::B(None));
        if empty && std::mem::discriminant(&row[t]) == std::mem::discriminant(&row[f]) {
            row[t] = row[f].clone();
        }
    }
    for c in COLUMNS.iter().filter(|c| !c.nullable) {
        let i = col_index(c.name);
        if matches!(&row[i], Cell::S(None) | Cell::T(None) | Cell::B(None)) {
            let src = m.columns.get(c.name).map(|h| format!(" (source column `{h}`)")).unwrap_or_default();
            return Err(problem(c.name, format!("required value missing{src}")));
        }
    }
    // time order: nothing happens before the ticket was received, nothing closes before dispatch
    let t = |name: &str| match &row[col_index(name)] {
        Cell::T(v) => *v,
        _ => None,
    };
    let received = t("received_at");
    for later in ["dispatched_at", "responded_at", "closed_at"] {
        if let (Some(r), Some(x)) = (received, t(later))
            && x < r
        {
            return Err(problem(later, format!("{later} {x} is before received_at {r}")));
        }
    }
    if let (Some(d), Some(c)) = (t("dispatched_at"), t("closed_at"))
        && c < d
    {
        return Err(problem("closed_at", format!("closed_at {c} is before dispatched_at {d}")));
    }
    Ok(row)
}

/// Times an archive may hold: from 2000-01-01 to a year after today (12345 hotlines started in
/// the 2000s; a later time is a typo or a placeholder, such as 0001-01-01 or 9999-12-31).
/// Taken once per process: every timestamp cell of an import is checked against it.
pub fn plausible_window() -> (chrono::NaiveDate, chrono::NaiveDate) {
    static WINDOW: std::sync::OnceLock<(chrono::NaiveDate, chrono::NaiveDate)> = std::sync::OnceLock::new();
    *WINDOW.get_or_init(|| {
        let today = chrono::Local::now().date_naive();
        let to = today.checked_add_months(chrono::Months::new(12)).unwrap_or(today);
        (chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date"), to)
    })
}

/// The mapping's plausible times, or the default window where it sets none.
fn window(m: &Mapping) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let (from, to) = plausible_window();
    (m.source.plausible_from.unwrap_or(from), m.source.plausible_to.unwrap_or(to))
}

fn plausible(m: &Mapping, t: &NaiveDateTime) -> bool {
    let (from, to) = window(m);
    t.date() >= from && t.date() < to
}

fn ticket_id(row: &Row) -> &str {
    match &row[0] {
        Cell::S(Some(s)) => s,
        _ => "",
    }
}

fn received(row: &Row) -> NaiveDateTime {
    match &row[1] {
        Cell::T(Some(t)) => *t,
        _ => NaiveDateTime::default(),
    }
}

/// Rows → a RecordBatch in the archive's file schema.
pub fn batch(rows: &[&Row]) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| -> ArrayRef {
            match c.ty {
                ColType::Str => Arc::new(StringArray::from(
                    rows.iter()
                        .map(|r| match &r[i] {
                            Cell::S(v) => v.clone(),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
                ColType::Timestamp => Arc::new(TimestampMicrosecondArray::from(
                    rows.iter()
                        .map(|r| match &r[i] {
                            Cell::T(v) => v.map(|t| t.and_utc().timestamp_micros()),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
                ColType::Bool => Arc::new(BooleanArray::from(
                    rows.iter()
                        .map(|r| match &r[i] {
                            Cell::B(v) => *v,
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
            }
        })
        .collect();
    Ok(RecordBatch::try_new(schema::file_schema(), columns)?)
}

/// A RecordBatch of the archive → rows (to compare a ticket with its new version).
fn rows_of(b: &RecordBatch) -> Result<Vec<Row>> {
    let mut cols: Vec<Vec<Cell>> = Vec::new();
    for c in COLUMNS {
        let a = b.column_by_name(c.name).with_context(|| format!("archive file without column {}", c.name))?;
        let v: Vec<Cell> = match c.ty {
            ColType::Str => {
                let a = cast(a, &DataType::Utf8)?;
                let a = a.as_string::<i32>();
                (0..a.len()).map(|i| Cell::S(if a.is_null(i) { None } else { Some(a.value(i).to_string()) })).collect()
            }
            ColType::Timestamp => {
                let a = cast(a, &schema::TIMESTAMP)?;
                let a = a.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
                (0..a.len())
                    .map(|i| {
                        Cell::T(if a.is_null(i) {
                            None
                        } else {
                            DateTime::from_timestamp_micros(a.value(i)).map(|d| d.naive_utc())
                        })
                    })
                    .collect()
            }
            ColType::Bool => {
                let a = a.as_boolean();
                (0..a.len()).map(|i| Cell::B(if a.is_null(i) { None } else { Some(a.value(i)) })).collect()
            }
        };
        cols.push(v);
    }
    let n = b.num_rows();
    let mut rows: Vec<Row> = (0..n).map(|_| Vec::with_capacity(COLUMNS.len())).collect();
    for col in cols {
        for (r, cell) in col.into_iter().enumerate() {
            rows[r].push(cell);
        }
    }
    Ok(rows)
}

/// Which version wins when a ticket_id comes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Keep {
    /// The newer export (the later file or line, and the import over the archive) replaces the row
    Last,
    /// The first version stays; later ones are counted as duplicates
    First,
}

/// A quarantined row.
pub struct Quarantined {
    pub file: String,
    pub line: u64,
    pub problem: Problem,
    pub fields: HashMap<String, String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub read: u64,
    pub accepted: u64,
    pub new: u64,
    pub replaced: u64,
    pub quarantined: u64,
    pub duplicates: u64,
    pub partitions_written: u64,
    pub reasons: BTreeMap<String, u64>,
}

impl Summary {
    pub fn line(&self) -> String {
        format!(
            "read {} = accepted {} (new {}, replacing {}) + quarantined {} + duplicates {}; {} partition files written",
            self.read,
            self.accepted,
            self.new,
            self.replaced,
            self.quarantined,
            self.duplicates,
            self.partitions_written
        )
    }
}

pub struct Options<'a> {
    pub files: &'a [PathBuf],
    pub mapping: &'a Mapping,
    pub archive: &'a Path,
    pub quarantine: PathBuf,
    pub keep: Keep,
    pub dry_run: bool,
}

/// A partition folder `year=YYYY/month=MM` of the archive.
fn partition(t: &NaiveDateTime) -> String {
    format!("year={}/month={:02}", t.year(), t.month())
}

pub fn import(o: &Options, say: &dyn Fn(&str)) -> Result<Summary> {
    let mut s = Summary::default();
    let mut quarantine: Vec<Quarantined> = Vec::new();
    // ticket_id → row, in arrival order
    let mut incoming: HashMap<String, Row> = HashMap::new();
    for file in o.files {
        let table = read::read(file, o.mapping.source.encoding.as_deref())?;
        // every mapped header must exist in the file
        for (canon, header) in &o.mapping.columns {
            if !table.headers.iter().any(|h| h == header) {
                let close = table
                    .headers
                    .iter()
                    .min_by_key(|h| crate::schema::edit_distance(h, header))
                    .map(|h| format!("; the closest header is `{h}`"))
                    .unwrap_or_default();
                let required = COLUMNS.iter().any(|c| c.name == canon && !c.nullable);
                if required {
                    return Err(error::data(format!(
                        "{}: no column `{header}` (mapped to {canon} by {}){close}",
                        file.display(),
                        o.mapping.name
                    ))
                    .hint("choose the mapping that matches the export (--mapping), or write one (docs/importing.md)")
                    .into());
                }
            }
        }
        say(&format!("{}: {} rows ({})", file.display(), table.records.len(), table.kind));
        for rec in &table.records {
            s.read += 1;
            match convert(o.mapping, rec) {
                Ok(row) => {
                    let id = ticket_id(&row).to_string();
                    match incoming.get(&id) {
                        Some(_) if o.keep == Keep::First => s.duplicates += 1,
                        Some(_) => {
                            s.duplicates += 1;
                            incoming.insert(id, row);
                        }
                        None => {
                            incoming.insert(id, row);
                        }
                    }
                }
                Err(p) => {
                    s.quarantined += 1;
                    *s.reasons.entry(format!("{}: {}", p.column, reason_kind(&p.reason))).or_default() += 1;
                    quarantine.push(Quarantined {
                        file: file.display().to_string(),
                        line: rec.line,
                        problem: p,
                        fields: rec.fields.clone(),
                    });
                }
            }
        }
    }

    // against the archive: identical → duplicate; different → replace (Keep::Last) or duplicate
    let existing = existing_versions(o.archive, &incoming)?;
    let mut replaced_old: BTreeSet<String> = BTreeSet::new(); // partitions losing a row
    let mut replaced_ids: BTreeSet<String> = BTreeSet::new();
    let mut accepted: Vec<Row> = Vec::new();
    let mut ids: Vec<&String> = incoming.keys().collect();
    ids.sort();
    for id in ids {
        let row = &incoming[id];
        match existing.get(id) {
            Some(old) if old == row || o.keep == Keep::First => s.duplicates += 1,
            Some(old) => {
                s.replaced += 1;
                replaced_old.insert(partition(&received(old)));
                replaced_ids.insert(id.clone());
                accepted.push(row.clone());
            }
            None => {
                s.new += 1;
                accepted.push(row.clone());
            }
        }
    }
    s.accepted = s.new + s.replaced;
    assert_eq!(s.read, s.accepted + s.quarantined + s.duplicates, "every row is counted once");

    if !quarantine.is_empty() && !o.dry_run {
        write_quarantine(&o.quarantine, &quarantine)?;
    }
    if o.dry_run || accepted.is_empty() {
        return Ok(s);
    }
    let mut by_partition: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in &accepted {
        by_partition.entry(partition(&received(r))).or_default().push(r);
    }
    let touched: BTreeSet<String> = by_partition.keys().cloned().chain(replaced_old).collect();
    s.partitions_written = touched.len() as u64;
    rebuild(o.archive, &touched, &by_partition, &replaced_ids)?;
    Ok(s)
}

/// The kind of a reason, without the row's own values, for the summary's counts.
fn reason_kind(reason: &str) -> String {
    let cut = reason.find('`').map(|i| &reason[..i]).unwrap_or(reason);
    let cut = cut.split(" (formats").next().unwrap_or(cut);
    let cut = cut.split(';').next().unwrap_or(cut);
    // "closed_at 2025-01-02 … is before" → "is before received_at"
    if let Some(i) = reason.find(" is before ") {
        let what = reason[i + 11..].split(' ').next().unwrap_or("");
        return format!("before {what}");
    }
    cut.trim().to_string()
}

/// The archive's current rows for the incoming ticket ids.
fn existing_versions(archive: &Path, incoming: &HashMap<String, Row>) -> Result<HashMap<String, Row>> {
    let mut out = HashMap::new();
    if incoming.is_empty() || !archive.exists() {
        return Ok(out);
    }
    let files = match crate::engine::list_parquet(archive) {
        Ok(f) => f,
        Err(_) => return Ok(out), // an empty folder: nothing to compare with
    };
    for f in files {
        for b in read_file(&f)? {
            let ids = cast(b.column(0), &DataType::Utf8)?;
            let ids = ids.as_string::<i32>();
            let hit: Vec<bool> =
                (0..ids.len()).map(|i| !ids.is_null(i) && incoming.contains_key(ids.value(i))).collect();
            if !hit.iter().any(|h| *h) {
                continue;
            }
            let b = filter_record_batch(&b, &BooleanArray::from(hit))?;
            for row in rows_of(&b)? {
                out.insert(ticket_id(&row).to_string(), row);
            }
        }
    }
    Ok(out)
}

fn read_file(path: &Path) -> Result<Vec<RecordBatch>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let options = datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(f, options)?.build()?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let props = schema::archive_writer_properties();
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(())
}

/// Rebuild the archive in a staging folder beside it (untouched files hard-linked, touched
/// partitions rewritten with the old rows minus replaced ones plus the new rows, sorted by
/// received_at) and swap it in.
fn rebuild(
    archive: &Path,
    touched: &BTreeSet<String>,
    new_rows: &BTreeMap<String, Vec<&Row>>,
    replaced: &BTreeSet<String>,
) -> Result<()> {
    let parent = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or("archive");
    let staging = tempfile::Builder::new().prefix(&format!(".{name}.import-")).tempdir_in(parent)?;
    let _staged = crate::cleanup::stage(staging.path());
    let existing: Vec<PathBuf> =
        if archive.exists() { crate::engine::list_parquet(archive).unwrap_or_default() } else { vec![] };
    let mut old_in: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in &existing {
        let rel = f.strip_prefix(archive).unwrap_or(f);
        let part = rel.parent().map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        if !part.starts_with("year=") || !part.contains("/month=") {
            return Err(error::data(format!(
                "{}: the archive has files outside year=YYYY/month=MM folders ({})",
                archive.display(),
                rel.display()
            ))
            .hint(
                "import appends to archives in hotline's layout; import into a new folder and point --archive at both",
            )
            .into());
        }
        if touched.contains(&part) {
            old_in.entry(part).or_default().push(f.clone());
        } else {
            let dest = staging.path().join(rel);
            std::fs::create_dir_all(dest.parent().expect("file in a folder"))?;
            if std::fs::hard_link(f, &dest).is_err() {
                std::fs::copy(f, &dest).with_context(|| format!("copying {}", f.display()))?;
            }
        }
    }
    for part in touched {
        let mut batches = Vec::new();
        for f in old_in.get(part).into_iter().flatten() {
            for b in read_file(f)? {
                let b = crate::schema::conform(&b)?;
                let ids = b.column(0).as_string::<i32>();
                let keep: Vec<bool> =
                    (0..ids.len()).map(|i| ids.is_null(i) || !replaced.contains(ids.value(i))).collect();
                batches.push(filter_record_batch(&b, &BooleanArray::from(keep))?);
            }
        }
        if let Some(rows) = new_rows.get(part) {
            batches.push(batch(rows)?);
        }
        let all = concat_batches(&schema::file_schema(), &batches)?;
        if all.num_rows() == 0 {
            continue;
        }
        let order = sort_to_indices(all.column(1), None, None)?;
        let sorted = take_record_batch(&all, &order)?;
        let dir = staging.path().join(part);
        std::fs::create_dir_all(&dir)?;
        write_parquet(&dir.join("part-0.parquet"), &sorted)?;
    }
    // the archive's manifest (every file, the untouched ones too), swapped in with the files
    if crate::engine::list_parquet(staging.path()).is_ok() {
        crate::manifest::record(staging.path())?;
    }
    crate::generate::replace_dir(staging.keep(), archive)
}

fn write_quarantine(path: &Path, rows: &[Quarantined]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("csv.tmp");
    let _staged = crate::cleanup::stage(&tmp);
    {
        let mut w = csv::Writer::from_path(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        w.write_record(["source_file", "line", "column", "reason", "record"])?;
        for q in rows {
            let record: BTreeMap<&String, &String> = q.fields.iter().collect();
            w.write_record([
                q.file.as_str(),
                &q.line.to_string(),
                &q.problem.column,
                &q.problem.reason,
                &serde_json::to_string(&record)?,
            ])?;
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("moving {} into place", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> read::Record {
        read::Record {
            line: 2,
            fields: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            problem: None,
        }
    }

    #[test]
    fn beijing_rows_map_and_bad_ones_say_why() {
        let m = Mapping::load("beijing-zh").unwrap();
        let good = rec(&[
            ("工单编号", "A1"),
            ("受理时间", "2025/03/01 09:30:00"),
            ("受理渠道", "电话"),
            ("诉求类型", "投诉"),
            ("一级分类", "城乡建设"),
            ("所属区", "东城区"),
            ("派单时间", "2025-03-01 09:40:00"),
            ("办结时间", "1900-01-01 00:00:00"),
            ("是否解决", "是"),
            ("回访结果", "基本满意"),
        ]);
        let row = convert(&m, &good).unwrap();
        assert_eq!(row[col_index("channel")], Cell::S(Some("phone".into())));
        assert_eq!(row[col_index("request_type")], Cell::S(Some("complaint".into())));
        assert_eq!(row[col_index("satisfaction")], Cell::S(Some("basically_satisfied".into())));
        assert_eq!(row[col_index("resolved")], Cell::B(Some(true)));
        // a sentinel date is missing, not a date in 1900
        assert_eq!(row[col_index("closed_at")], Cell::T(None));

        let mut bad = good.fields.clone();
        bad.insert("回访结果".into(), "很满意".into());
        let p = convert(&m, &read::Record { line: 7, fields: bad, problem: None }).unwrap_err();
        assert_eq!(p.column, "satisfaction");
        assert!(p.reason.contains("unknown value `很满意`"), "{}", p.reason);

        let mut early = good.fields.clone();
        early.insert("派单时间".into(), "2025-02-28 09:00:00".into());
        let p = convert(&m, &read::Record { line: 8, fields: early, problem: None }).unwrap_err();
        assert_eq!(p.column, "dispatched_at");
        assert!(p.reason.contains("before received_at"), "{}", p.reason);

        let mut no_time = good.fields.clone();
        no_time.insert("受理时间".into(), "三月一日".into());
        assert_eq!(
            convert(&m, &read::Record { line: 9, fields: no_time, problem: None }).unwrap_err().column,
            "received_at"
        );

        // a time outside 2000 … a year after today is quarantined, not put in partition year=1
        for (column, value) in [("受理时间", "0001-01-01 08:00:00"), ("派单时间", "9999-12-31 00:00:00")] {
            let mut far = good.fields.clone();
            far.insert(column.into(), value.into());
            let p = convert(&m, &read::Record { line: 10, fields: far, problem: None }).unwrap_err();
            assert!(p.reason.contains("outside the plausible times 2000-01-01"), "{}", p.reason);
        }
        // the mapping can narrow (or widen) the window: a 2025 export that must not hold 2024
        let mut narrow = m.clone();
        narrow.source.plausible_from = chrono::NaiveDate::from_ymd_opt(2025, 3, 2);
        let p = convert(&narrow, &good).unwrap_err();
        assert_eq!(p.column, "received_at");
        assert!(p.reason.contains("outside the plausible times 2025-03-02 to"), "{}", p.reason);
        narrow.source.plausible_from = chrono::NaiveDate::from_ymd_opt(2025, 3, 1);
        assert!(convert(&narrow, &good).is_ok());
        // as a mapping file writes it
        let text = include_str!("../../data/mappings/beijing-zh.toml").replacen(
            "[source]",
            "[source]\nplausible_from = \"2025-03-02\"\nplausible_to = \"2026-01-01\"",
            1,
        );
        let from_file = Mapping::parse("mine", &text).unwrap();
        assert_eq!(from_file.source.plausible_from, chrono::NaiveDate::from_ymd_opt(2025, 3, 2));
        assert_eq!(from_file.source.plausible_to, chrono::NaiveDate::from_ymd_opt(2026, 1, 1));
    }
}
