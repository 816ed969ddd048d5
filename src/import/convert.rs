//! Mapping and validating one source record into a canonical row, and canonical rows into an
//! Arrow batch of the archive's file schema.

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{ArrayRef, RecordBatch};

use super::{Mapping, read};
use crate::schema::{self, COLUMNS, ColType};

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

/// The mapping's timestamp formats, parsed once: (has an offset, items).
pub struct Formats<'a>(Vec<(bool, Vec<chrono::format::Item<'a>>)>);

impl<'a> Formats<'a> {
    pub fn new(formats: &'a [String]) -> Formats<'a> {
        Formats(
            formats
                .iter()
                .filter_map(|f| {
                    let items = chrono::format::StrftimeItems::new(f).parse().ok()?;
                    Some((f.contains("%z") || f.contains("%:z"), items))
                })
                .collect(),
        )
    }
}

fn parse_timestamp(text: &str, formats: &Formats) -> Option<NaiveDateTime> {
    use chrono::format::{Parsed, parse};
    let t = text.trim();
    for (offset, items) in &formats.0 {
        let mut p = Parsed::new();
        if parse(&mut p, t, items.iter()).is_err() {
            continue;
        }
        // with an offset: keep the wall-clock time of the source
        let dt = if *offset {
            p.to_datetime().ok().map(|d| d.naive_local())
        } else {
            p.to_naive_datetime_with_offset(0).ok()
        };
        if dt.is_some() {
            return dt;
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

/// A mapping resolved against one file's headers: where each canonical column comes from.
pub struct Resolved<'a> {
    pub m: &'a Mapping,
    /// per canonical column (COLUMNS order): the index of its source column in the record
    idx: Vec<Option<usize>>,
    /// per canonical column: the source column and the pattern of an `[extract]`
    extract: Vec<Option<(usize, &'a regex::Regex)>>,
    formats: Formats<'a>,
}

impl<'a> Resolved<'a> {
    pub fn new(m: &'a Mapping, headers: &[String]) -> Resolved<'a> {
        let find = |h: &String| headers.iter().position(|x| x == h);
        Resolved {
            m,
            idx: COLUMNS.iter().map(|c| m.columns.get(c.name).and_then(find)).collect(),
            extract: COLUMNS
                .iter()
                .map(|c| m.extract.get(c.name).and_then(|x| Some((find(&x.from)?, x.regex.as_ref()?))))
                .collect(),
            formats: Formats::new(&m.source.timestamp_formats),
        }
    }
}

/// A value before it is typed: text, or a time the source typed itself.
enum Raw {
    Text(String),
    Time(NaiveDateTime),
}

/// Map and validate one source record.
pub fn convert(r: &Resolved, rec: &read::Record) -> std::result::Result<Row, Problem> {
    use read::Value;
    let m = r.m;
    if let Some(p) = &rec.problem {
        return Err(problem("row", p.clone()));
    }
    let text_of = |i: usize| -> Option<&str> {
        match rec.get(i) {
            Some(Value::Text(s)) => Some(s.trim()).filter(|v| !v.is_empty()),
            _ => None,
        }
    };
    let mut row: Row = Vec::with_capacity(COLUMNS.len());
    for (ci, c) in COLUMNS.iter().enumerate() {
        let raw: Option<Raw> = match m.constants.get(c.name) {
            Some(v) => Some(Raw::Text(v.clone())),
            None => match r.idx[ci].and_then(|i| rec.get(i)) {
                Some(Value::Time(t)) => Some(Raw::Time(t)),
                _ => r.idx[ci].and_then(text_of).map(|v| Raw::Text(v.to_string())),
            }
            .or_else(|| {
                // [extract]: the first capture group of the pattern in another source column
                let (from, re) = r.extract[ci]?;
                let caps = re.captures(text_of(from)?)?;
                let v = caps.get(1)?.as_str().trim();
                (!v.is_empty()).then(|| Raw::Text(v.to_string()))
            }),
        };
        let raw = raw.or_else(|| m.defaults.get(c.name).cloned().map(Raw::Text));
        let raw = match (raw, m.values.get(c.name)) {
            (Some(Raw::Text(v)), Some(map)) => Some(Raw::Text(map.get(&v).cloned().unwrap_or(v))),
            (raw, _) => raw,
        };
        let time = |t: NaiveDateTime, v: &str| -> std::result::Result<Cell, Problem> {
            if sentinel(&t) {
                Ok(Cell::T(None))
            } else if !plausible(m, &t) {
                let (from, to) = window(m);
                Err(problem(
                    c.name,
                    format!("`{v}` is outside the plausible times {from} to {to} (a typo or a placeholder date)"),
                ))
            } else {
                Ok(Cell::T(Some(t)))
            }
        };
        let cell = match (c.ty, raw) {
            (_, Some(Raw::Time(t))) if c.ty == ColType::Timestamp => time(t, &t.to_string())?,
            (_, Some(Raw::Time(t))) => {
                // a time in a text or yes/no column: as text, checked as text
                let v = t.format("%Y-%m-%d %H:%M:%S").to_string();
                if c.ty == ColType::Bool {
                    return Err(problem(c.name, format!("`{v}` is not yes/no (map it under [values.{}])", c.name)));
                }
                Cell::S(Some(v))
            }
            (ColType::Str, None) => Cell::S(None),
            (ColType::Str, Some(Raw::Text(v))) => {
                if let Some(ok) = allowed(c.name)
                    && !ok.contains(&v.as_str())
                {
                    return Err(problem(c.name, format!("unknown value `{v}` (allowed: {})", ok.join(", "))));
                }
                Cell::S(Some(v))
            }
            (ColType::Timestamp, None) => Cell::T(None),
            (ColType::Timestamp, Some(Raw::Text(v))) => match parse_timestamp(&v, &r.formats) {
                Some(t) => time(t, &v)?,
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
            (ColType::Bool, Some(Raw::Text(v))) => match parse_bool(&v) {
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

pub(super) fn ticket_id(row: &Row) -> &str {
    match &row[0] {
        Cell::S(Some(s)) => s,
        _ => "",
    }
}

/// Rows → a RecordBatch in the archive's file schema.
pub fn batch(rows: &[&Row]) -> Result<RecordBatch> {
    use datafusion::arrow::array::{BooleanBuilder, StringBuilder, TimestampMicrosecondBuilder};
    let columns: Vec<ArrayRef> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| -> ArrayRef {
            match c.ty {
                ColType::Str => {
                    let bytes: usize =
                        rows.iter().map(|r| if let Cell::S(Some(v)) = &r[i] { v.len() } else { 0 }).sum();
                    let mut b = StringBuilder::with_capacity(rows.len(), bytes);
                    for r in rows {
                        b.append_option(if let Cell::S(v) = &r[i] { v.as_deref() } else { None });
                    }
                    Arc::new(b.finish())
                }
                ColType::Timestamp => {
                    let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
                    for r in rows {
                        b.append_option(if let Cell::T(v) = &r[i] {
                            v.map(|t| t.and_utc().timestamp_micros())
                        } else {
                            None
                        });
                    }
                    Arc::new(b.finish())
                }
                ColType::Bool => {
                    let mut b = BooleanBuilder::with_capacity(rows.len());
                    for r in rows {
                        b.append_option(if let Cell::B(v) = &r[i] { *v } else { None });
                    }
                    Arc::new(b.finish())
                }
            }
        })
        .collect();
    Ok(RecordBatch::try_new(schema::file_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Fields = BTreeMap<String, String>;

    fn rec(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// One record with these (header, value) fields, mapped by `m`.
    fn conv(m: &Mapping, fields: &Fields) -> std::result::Result<Row, Problem> {
        let headers: Vec<String> = fields.keys().cloned().collect();
        let record = read::Record {
            line: 2,
            fields: read::Values::Each(fields.values().map(|v| read::Field::Text(v.clone())).collect()),
            problem: None,
        };
        convert(&Resolved::new(m, &headers), &record)
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
        let row = conv(&m, &good).unwrap();
        assert_eq!(row[col_index("channel")], Cell::S(Some("phone".into())));
        assert_eq!(row[col_index("request_type")], Cell::S(Some("complaint".into())));
        assert_eq!(row[col_index("satisfaction")], Cell::S(Some("basically_satisfied".into())));
        assert_eq!(row[col_index("resolved")], Cell::B(Some(true)));
        // a sentinel date is missing, not a date in 1900
        assert_eq!(row[col_index("closed_at")], Cell::T(None));

        let mut bad = good.clone();
        bad.insert("回访结果".into(), "很满意".into());
        let p = conv(&m, &bad).unwrap_err();
        assert_eq!(p.column, "satisfaction");
        assert!(p.reason.contains("unknown value `很满意`"), "{}", p.reason);

        let mut early = good.clone();
        early.insert("派单时间".into(), "2025-02-28 09:00:00".into());
        let p = conv(&m, &early).unwrap_err();
        assert_eq!(p.column, "dispatched_at");
        assert!(p.reason.contains("before received_at"), "{}", p.reason);

        let mut no_time = good.clone();
        no_time.insert("受理时间".into(), "三月一日".into());
        assert_eq!(conv(&m, &no_time).unwrap_err().column, "received_at");

        // a time outside 2000 … a year after today is quarantined, not put in partition year=1
        for (column, value) in [("受理时间", "0001-01-01 08:00:00"), ("派单时间", "9999-12-31 00:00:00")] {
            let mut far = good.clone();
            far.insert(column.into(), value.into());
            let p = conv(&m, &far).unwrap_err();
            assert!(p.reason.contains("outside the plausible times 2000-01-01"), "{}", p.reason);
        }
        // the mapping can narrow (or widen) the window: a 2025 export that must not hold 2024
        let mut narrow = m.clone();
        narrow.source.plausible_from = chrono::NaiveDate::from_ymd_opt(2025, 3, 2);
        let p = conv(&narrow, &good).unwrap_err();
        assert_eq!(p.column, "received_at");
        assert!(p.reason.contains("outside the plausible times 2025-03-02 to"), "{}", p.reason);
        narrow.source.plausible_from = chrono::NaiveDate::from_ymd_opt(2025, 3, 1);
        assert!(conv(&narrow, &good).is_ok());
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
