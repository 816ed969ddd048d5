//! Reading exports as streams: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), JSON lines and Parquet
//! are read block by block, XLSX sheet by sheet (its format needs the whole sheet); each gives
//! chunks of records (the line or row a record came from and its fields, in header order).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::NaiveDateTime;

use crate::error;
use text::CsvSource;

mod text;

/// How many records a chunk holds.
const CHUNK: usize = 16_384;
/// How many bytes of a text file are read at a time.
const BLOCK: usize = 1 << 20;
/// How many bytes decide the encoding when the mapping does not name one.
const SAMPLE: usize = 4 << 20;

/// One value of a source row.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text(String),
    /// A cell the source itself types as a date or time (an XLSX date cell, a Parquet
    /// timestamp): taken as that time, never re-read as text with the mapping's formats.
    Time(NaiveDateTime),
}

impl Field {
    /// The value as text (a time as `YYYY-MM-DD HH:MM:SS`).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Field::Text(s) => std::borrow::Cow::Borrowed(s),
            Field::Time(t) => std::borrow::Cow::Owned(t.format("%Y-%m-%d %H:%M:%S").to_string()),
        }
    }
}

/// One source row: its line number in the file (1 = the header line of a CSV), its fields in
/// the order of the chunk's headers (fewer when the row is short), and why it cannot be read as
/// it stands (an unbalanced quote, invalid bytes, a field too many or too few): it goes to the
/// quarantine with this reason.
pub struct Record {
    pub line: u64,
    pub fields: Values,
    pub problem: Option<String>,
}

/// A record's fields: a CSV record as the parser gave it (one buffer), or values one by one.
pub enum Values {
    Csv(csv::StringRecord),
    Each(Vec<Field>),
}

/// One field of a record, borrowed.
pub enum Value<'a> {
    Text(&'a str),
    Time(NaiveDateTime),
}

impl Record {
    pub fn get(&self, i: usize) -> Option<Value<'_>> {
        match &self.fields {
            Values::Csv(r) => r.get(i).map(Value::Text),
            Values::Each(v) => v.get(i).map(|f| match f {
                Field::Text(s) => Value::Text(s),
                Field::Time(t) => Value::Time(*t),
            }),
        }
    }

    /// Every field as text (a time as `YYYY-MM-DD HH:MM:SS`).
    pub fn texts(&self) -> Vec<std::borrow::Cow<'_, str>> {
        match &self.fields {
            Values::Csv(r) => r.iter().map(std::borrow::Cow::Borrowed).collect(),
            Values::Each(v) => v.iter().map(Field::text).collect(),
        }
    }
}

/// Records read together, with the headers their fields follow and how far into the file
/// (in bytes) the reading has come.
pub struct Chunk {
    pub headers: Arc<Vec<String>>,
    pub records: Vec<Record>,
    pub bytes_done: u64,
}

/// An export opened for reading.
pub trait Source: Send {
    /// What the file is read as, for the summary (e.g. "CSV, GB18030").
    fn kind(&self) -> String;
    /// The headers, when the format states them before the rows (all but JSON lines).
    fn headers(&self) -> Option<Arc<Vec<String>>>;
    /// The next records; `None` at the end. Problems of the whole file (too many lines in the
    /// wrong encoding, a line that is not JSON) are errors.
    fn next_chunk(&mut self) -> Result<Option<Chunk>>;
}

pub fn open(path: &Path, encoding: Option<&str>) -> Result<Box<dyn Source>> {
    open_with_block(path, encoding, BLOCK)
}

/// `open`, reading text `block` bytes at a time (the tests split characters and quoted fields
/// across blocks with a small one).
pub fn open_with_block(path: &Path, encoding: Option<&str>, block: usize) -> Result<Box<dyn Source>> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" | "tsv" => {
            Ok(Box::new(CsvSource::open(path, encoding, if ext == "tsv" { b'\t' } else { b',' }, block)?))
        }
        "xlsx" | "xlsm" | "xls" => Ok(Box::new(XlsxSource::open(path)?)),
        "jsonl" | "ndjson" | "json" => Ok(Box::new(JsonSource::open(path)?)),
        "parquet" => Ok(Box::new(ParquetSource::open(path)?)),
        _ => Err(error::usage(format!("{}: unknown file type `.{ext}`", path.display()))
            .hint("import reads .csv, .tsv, .xlsx, .jsonl (.ndjson) and .parquet")
            .into()),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON lines

struct JsonSource {
    path: std::path::PathBuf,
    reader: BufReader<File>,
    headers: Vec<String>,
    index: HashMap<String, usize>,
    line: u64,
    bytes: u64,
    bad: u64,
    first_bad: Option<(u64, u64)>,
    finished: bool,
    buf: Vec<u8>,
}

impl JsonSource {
    fn open(path: &Path) -> Result<JsonSource> {
        let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(JsonSource {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(BLOCK, file),
            headers: Vec::new(),
            index: HashMap::new(),
            line: 0,
            bytes: 0,
            bad: 0,
            first_bad: None,
            finished: false,
            buf: Vec::new(),
        })
    }
}

impl Source for JsonSource {
    fn kind(&self) -> String {
        "JSON lines".into()
    }

    fn headers(&self) -> Option<Arc<Vec<String>>> {
        None
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.finished {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < CHUNK {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("reading {}", self.path.display()))?;
            if n == 0 {
                self.finished = true;
                let lines = self.line + 1;
                if self.bad * 100 > lines.max(100) {
                    let (l, off) = self.first_bad.unwrap_or_default();
                    return Err(error::data(format!(
                        "{}: {} of {lines} lines are not valid UTF-8 text; the first is line {l} (byte {off})",
                        self.path.display(),
                        self.bad
                    ))
                    .into());
                }
                break;
            }
            self.line += 1;
            let offset = self.bytes;
            self.bytes += n as u64;
            let raw = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            let problem = match std::str::from_utf8(raw) {
                Ok(_) => None,
                Err(_) => {
                    self.bad += 1;
                    self.first_bad.get_or_insert((self.line, offset));
                    Some(format!("bytes that are not valid UTF-8; line {}, from byte {offset} of the file", self.line))
                }
            };
            let text = String::from_utf8_lossy(raw);
            if text.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                error::data(format!("{}, line {}: not a JSON object: {e}", self.path.display(), self.line))
            })?;
            let obj = v.as_object().ok_or_else(|| {
                error::data(format!("{}, line {}: not a JSON object", self.path.display(), self.line))
            })?;
            let mut fields: Vec<Field> = vec![Field::Text(String::new()); self.headers.len()];
            for (k, v) in obj {
                let i = match self.index.get(k) {
                    Some(i) => *i,
                    None => {
                        self.headers.push(k.clone());
                        self.index.insert(k.clone(), self.headers.len() - 1);
                        fields.push(Field::Text(String::new()));
                        self.headers.len() - 1
                    }
                };
                fields[i] = Field::Text(match v {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
            out.push(Record { line: self.line, fields: Values::Each(fields), problem });
        }
        Ok(Some(Chunk { headers: Arc::new(self.headers.clone()), records: out, bytes_done: self.bytes }))
    }
}

// ---------------------------------------------------------------------------------------------
// XLSX

struct XlsxSource {
    rows: std::vec::IntoIter<Record>,
    headers: Arc<Vec<String>>,
    kind: String,
    total: u64,
    size: u64,
    given: u64,
}

impl XlsxSource {
    fn open(path: &Path) -> Result<XlsxSource> {
        use calamine::{Data, Reader, open_workbook_auto};
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut wb = open_workbook_auto(path).map_err(|e| error::data(format!("{}: {e}", path.display())))?;
        let sheet =
            wb.sheet_names().first().cloned().ok_or_else(|| error::data(format!("{}: no sheet", path.display())))?;
        let range = wb.worksheet_range(&sheet).map_err(|e| error::data(format!("{}: {e}", path.display())))?;
        let cell = |d: &Data| -> Field {
            Field::Text(match d {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(dt) => {
                    // a date cell is a time already: not re-read with the mapping's formats
                    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
                    let t = chrono::NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into())
                        .and_then(|day| day.and_hms_milli_opt(h.into(), mi.into(), s.into(), ms.into()));
                    match t {
                        Some(t) => return Field::Time(t),
                        None => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
                    }
                }
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::Error(e) => format!("#{e:?}"),
            })
        };
        let mut rows = range.rows();
        let headers: Vec<String> =
            rows.next().map(|r| r.iter().map(|c| cell(c).text().trim().to_string()).collect()).unwrap_or_default();
        let records: Vec<Record> = rows
            .enumerate()
            .map(|(i, r)| Record {
                line: i as u64 + 2,
                fields: Values::Each(r.iter().map(cell).collect()),
                problem: None,
            })
            .collect();
        Ok(XlsxSource {
            total: records.len() as u64,
            rows: records.into_iter(),
            headers: Arc::new(headers),
            kind: format!("XLSX, sheet {sheet}"),
            size,
            given: 0,
        })
    }
}

impl Source for XlsxSource {
    fn kind(&self) -> String {
        self.kind.clone()
    }

    fn headers(&self) -> Option<Arc<Vec<String>>> {
        Some(self.headers.clone())
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let records: Vec<Record> = self.rows.by_ref().take(CHUNK).collect();
        if records.is_empty() {
            return Ok(None);
        }
        self.given += records.len() as u64;
        let bytes_done = self.size * self.given / self.total.max(1);
        Ok(Some(Chunk { headers: self.headers.clone(), records, bytes_done }))
    }
}

// ---------------------------------------------------------------------------------------------
// Parquet

struct ParquetSource {
    reader: datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    headers: Arc<Vec<String>>,
    line: u64,
    rows: u64,
    size: u64,
}

impl ParquetSource {
    fn open(path: &Path) -> Result<ParquetSource> {
        use datafusion::parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .map_err(|e| error::data(format!("{}: not a readable Parquet file: {e}", path.display())))?;
        let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let headers = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        let reader = builder.with_batch_size(CHUNK).build()?;
        Ok(ParquetSource { reader, headers: Arc::new(headers), line: 0, rows, size })
    }
}

impl Source for ParquetSource {
    fn kind(&self) -> String {
        "Parquet".into()
    }

    fn headers(&self) -> Option<Arc<Vec<String>>> {
        Some(self.headers.clone())
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::compute::cast;
        use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
        let Some(batch) = self.reader.next() else { return Ok(None) };
        let batch = batch?;
        enum Col {
            Text(datafusion::arrow::array::ArrayRef),
            Time(datafusion::arrow::array::ArrayRef),
        }
        let cols: Vec<Col> = batch
            .columns()
            .iter()
            .map(|c| {
                Ok(match c.data_type() {
                    // a typed time is taken as that time (the wall-clock time of a zoned one)
                    DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                        let plain = match c.data_type() {
                            DataType::Timestamp(u, Some(_)) => cast(c, &DataType::Timestamp(*u, None))?,
                            _ => c.clone(),
                        };
                        Col::Time(cast(&plain, &DataType::Timestamp(TimeUnit::Microsecond, None))?)
                    }
                    _ => Col::Text(cast(c, &DataType::Utf8)?),
                })
            })
            .collect::<Result<_>>()?;
        let mut records = Vec::with_capacity(batch.num_rows());
        for r in 0..batch.num_rows() {
            self.line += 1;
            let fields = cols
                .iter()
                .map(|c| match c {
                    Col::Text(a) => {
                        let a = a.as_string::<i32>();
                        Field::Text(if a.is_null(r) { String::new() } else { a.value(r).to_string() })
                    }
                    Col::Time(a) => {
                        let a = a.as_primitive::<TimestampMicrosecondType>();
                        match (!a.is_null(r)).then(|| chrono::DateTime::from_timestamp_micros(a.value(r))).flatten() {
                            Some(t) => Field::Time(t.naive_utc()),
                            None => Field::Text(String::new()),
                        }
                    }
                })
                .collect();
            records.push(Record { line: self.line, fields: Values::Each(fields), problem: None });
        }
        let bytes_done = self.size * self.line / self.rows.max(1);
        Ok(Some(Chunk { headers: self.headers.clone(), records, bytes_done }))
    }
}
