//! Shared helpers: tiny fixture archives written as canonical Parquet, and the hotline binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::parquet::arrow::ArrowWriter;
use hotline::schema;
use proptest::prelude::*;

/// One ticket, with times given as offsets from dispatch (the way deadlines are written).
#[derive(Clone, Debug)]
pub struct T {
    pub id: String,
    pub received: NaiveDateTime,
    pub request_type: &'static str,
    pub urgency: Option<&'static str>,
    pub district: String,
    pub street: Option<String>,
    pub department: Option<String>,
    /// Minutes after receipt; None = never dispatched.
    pub dispatch_after_min: Option<i64>,
    /// Seconds after dispatch.
    pub responded_after_s: Option<i64>,
    pub closed_after_s: Option<i64>,
    pub resolved: Option<bool>,
    pub satisfaction: Option<&'static str>,
    pub excluded: Option<&'static str>,
}

pub const H: i64 = 3600;
pub const DAY: i64 = 24 * H;

pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, s).unwrap()
}

/// A dispatched general ticket received 2025-03-10 09:00, dispatched 5 minutes later,
/// responded after 1 h, closed after 2 days, resolved and satisfied. Tests change what they need.
pub fn ticket(id: &str, district: &str) -> T {
    T {
        id: id.to_string(),
        received: at(2025, 3, 10, 9, 0, 0),
        request_type: "complaint",
        urgency: Some("general"),
        district: district.to_string(),
        street: None,
        department: Some("市水务局".to_string()),
        dispatch_after_min: Some(5),
        responded_after_s: Some(H),
        closed_after_s: Some(2 * DAY),
        resolved: Some(true),
        satisfaction: Some("satisfied"),
        excluded: None,
    }
}

/// A random ticket `i` received within 365 days from `start`, for property tests: three
/// districts, an optional street, any urgency, 80 % dispatched, response within 40 h and closing
/// within 20 days (or never), any follow-up answers, and 10 % excluded (duplicate or invalid).
pub fn arb_ticket(i: usize, start: NaiveDateTime) -> impl Strategy<Value = T> {
    (
        0u32..365,
        prop::sample::select(vec!["甲区", "乙区", "丙区"]),
        prop::option::of(prop::sample::select(vec!["一街道", "二街道"])),
        prop::option::of(prop::sample::select(vec!["emergency", "utility", "general", "complex"])),
        prop::bool::weighted(0.8),
        prop::option::of(0..40 * H),
        prop::option::of(0..20 * DAY),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(vec!["satisfied", "basically_satisfied", "dissatisfied"])),
        prop::option::weighted(0.1, prop::sample::select(vec!["duplicate", "invalid"])),
    )
        .prop_map(move |(day, district, street, urgency, dispatched, resp, closed, resolved, sat, excluded)| {
            let mut t = ticket(&i.to_string(), district);
            t.received = start + Duration::days(day as i64);
            t.street = street.map(str::to_string);
            t.urgency = urgency;
            t.dispatch_after_min = dispatched.then_some(3);
            t.responded_after_s = resp;
            t.closed_after_s = closed;
            t.resolved = resolved;
            t.satisfaction = sat;
            t.excluded = excluded;
            t
        })
}

impl T {
    pub fn dispatched(&self) -> Option<NaiveDateTime> {
        self.dispatch_after_min.map(|m| self.received + Duration::minutes(m))
    }
}

/// Write the tickets as one canonical Parquet file `dir/name`.
pub fn write_archive(dir: &Path, name: &str, tickets: &[T]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let us = |t: Option<NaiveDateTime>| t.map(|t| t.and_utc().timestamp_micros());
    let after = |t: &T, s: Option<i64>| match (t.dispatched(), s) {
        (Some(d), Some(s)) => us(Some(d + Duration::seconds(s))),
        _ => None,
    };
    let s = |v: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let ts = |v: Vec<Option<i64>>| -> ArrayRef { Arc::new(TimestampMicrosecondArray::from(v)) };
    let cols: Vec<ArrayRef> = vec![
        s(tickets.iter().map(|t| Some(t.id.clone())).collect()),
        ts(tickets.iter().map(|t| us(Some(t.received))).collect()),
        s(tickets.iter().map(|_| Some("phone".to_string())).collect()),
        s(tickets.iter().map(|t| Some(t.request_type.to_string())).collect()),
        s(tickets.iter().map(|_| Some("城乡建设".to_string())).collect()),
        s(tickets.iter().map(|_| Some("城市建设和市政管理".to_string())).collect()),
        s(tickets.iter().map(|_| Some("自来水供应".to_string())).collect()),
        s(tickets.iter().map(|t| t.urgency.map(str::to_string)).collect()),
        s(tickets.iter().map(|t| Some(t.district.clone())).collect()),
        s(tickets.iter().map(|t| t.street.clone()).collect()),
        s(tickets.iter().map(|t| t.department.clone()).collect()),
        ts(tickets.iter().map(|t| us(t.dispatched())).collect()),
        ts(tickets.iter().map(|t| after(t, t.responded_after_s)).collect()),
        ts(tickets.iter().map(|t| after(t, t.closed_after_s)).collect()),
        ts(tickets.iter().map(|_| None).collect()),
        Arc::new(BooleanArray::from(tickets.iter().map(|t| t.resolved).collect::<Vec<_>>())),
        s(tickets.iter().map(|t| t.satisfaction.map(str::to_string)).collect()),
        s(tickets.iter().map(|t| t.excluded.map(str::to_string)).collect()),
        s(tickets.iter().map(|t| Some(format!("P{}", t.id))).collect()),
        s(tickets.iter().map(|_| Some("13800005678".to_string())).collect()),
        s(tickets.iter().map(|_| Some("测试内容".to_string())).collect()),
    ];
    let batch = RecordBatch::try_new(schema::file_schema(), cols).unwrap();
    let path = dir.join(name);
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

pub fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline")).args(args).output().expect("run hotline")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Read a scores.csv into rows of (column → value).
pub fn read_scores(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

/// The text of a PDF (pdftotext -layout).
pub fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext must be installed (apt-get install poppler-utils; .ci/run and scripts/setup.sh do it)");
    assert!(out.status.success(), "pdftotext failed: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// (path relative to `dir`, SHA-256) of every file under `dir`, sorted.
pub fn tree_snapshot(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let h = hotline::hash::sha256_hex(&bytes);
                out.push((p.strip_prefix(root).unwrap().to_string_lossy().to_string(), h));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// How many Parquet files under `dir` there are; each must store ticket_id PLAIN, without a
/// dictionary page, in every row group (unique ids gain nothing from a dictionary).
pub fn files_with_plain_ids(dir: &Path) -> usize {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let r = SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
                let md = r.metadata();
                for g in md.row_groups() {
                    let c = g.columns().iter().find(|c| c.column_path().string() == "ticket_id").unwrap();
                    assert!(c.dictionary_page_offset().is_none(), "{}: ticket_id has a dictionary", p.display());
                    assert!(c.encodings().any(|e| e == datafusion::parquet::basic::Encoding::PLAIN), "{}", p.display());
                }
                n += 1;
            }
        }
    }
    n
}

/// The names in `dir` that start with `prefix` (staging folders a run may have left).
pub fn names_starting(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten().map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n.starts_with(prefix)).collect()
        })
        .unwrap_or_default()
}

/// A generated archive of 2025 at `dir`: `tickets` tickets from `seed`, with its manifest.
pub fn generate_2025(dir: &Path, tickets: u32, seed: u32) {
    let (t, s) = (tickets.to_string(), seed.to_string());
    let out = hotline(&["generate", "--out", dir.to_str().unwrap(), "--tickets", &t, "--years", "2025", "--seed", &s]);
    assert!(out.status.success(), "{}", stderr(&out));
}
