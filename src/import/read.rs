//! Reading exports: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX, JSON lines and Parquet,
//! each into records of (header → text) with the line (or row) they came from.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::error;

/// One source row: its line number in the file (1 = the header line of a CSV) and its fields.
pub struct Record {
    pub line: u64,
    pub fields: HashMap<String, String>,
}

pub struct Table {
    pub headers: Vec<String>,
    pub records: Vec<Record>,
    /// What the file was read as, for the summary (e.g. "CSV, GB18030").
    pub kind: String,
}

pub fn read(path: &Path, encoding: Option<&str>) -> Result<Table> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" | "tsv" => read_csv(path, encoding, if ext == "tsv" { b'\t' } else { b',' }),
        "xlsx" | "xlsm" | "xls" => read_xlsx(path),
        "jsonl" | "ndjson" | "json" => read_jsonl(path),
        "parquet" => read_parquet(path),
        _ => Err(error::usage(format!("{}: unknown file type `.{ext}`", path.display()))
            .hint("import reads .csv, .tsv, .xlsx, .jsonl (.ndjson) and .parquet")
            .into()),
    }
}

/// Bytes → text: a UTF-8 BOM or valid UTF-8 is UTF-8; anything else is GB18030 (a superset of
/// GBK and GB2312). `encoding` forces one.
pub fn decode(path: &Path, bytes: &[u8], encoding: Option<&str>) -> Result<(String, &'static str)> {
    let forced = encoding.map(|e| e.to_ascii_lowercase()).filter(|e| e != "auto");
    let gb = |bytes: &[u8]| -> Result<String> {
        let (text, _, bad) = encoding_rs::GB18030.decode(bytes);
        if bad {
            return Err(error::data(format!("{}: not valid GB18030 text", path.display())).into());
        }
        Ok(text.into_owned())
    };
    match forced.as_deref() {
        Some("gbk") | Some("gb18030") | Some("gb2312") => Ok((gb(bytes)?, "GB18030")),
        Some("utf-8") | Some("utf8") => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            match std::str::from_utf8(b) {
                Ok(s) => Ok((s.to_string(), "UTF-8")),
                Err(e) => Err(error::data(format!(
                    "{}: not valid UTF-8 at byte {} (line {})",
                    path.display(),
                    e.valid_up_to(),
                    b[..e.valid_up_to()].iter().filter(|c| **c == b'\n').count() + 1
                ))
                .hint("if the file is a Chinese export, set `encoding = \"gb18030\"` in the mapping's [source] (or leave it on auto)")
                .into()),
            }
        }
        Some(other) => {
            Err(error::usage(format!("unknown encoding `{other}`")).hint("use auto, utf-8 or gb18030").into())
        }
        None => {
            if let Some(b) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                return Ok((String::from_utf8_lossy(b).into_owned(), "UTF-8 with BOM"));
            }
            match std::str::from_utf8(bytes) {
                Ok(s) => Ok((s.to_string(), "UTF-8")),
                Err(_) => Ok((gb(bytes)?, "GB18030")),
            }
        }
    }
}

fn read_csv(path: &Path, encoding: Option<&str>, delimiter: u8) -> Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (text, enc) = decode(path, &bytes, encoding)?;
    let mut r = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| error::data(format!("{}: cannot read the header line: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut records = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| error::data(format!("{}: {e}", path.display())))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let fields = headers.iter().cloned().zip(rec.iter().map(str::to_string)).collect();
        records.push(Record { line, fields });
    }
    Ok(Table { headers, records, kind: format!("CSV, {enc}") })
}

fn read_xlsx(path: &Path) -> Result<Table> {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).map_err(|e| error::data(format!("{}: {e}", path.display())))?;
    let sheet =
        wb.sheet_names().first().cloned().ok_or_else(|| error::data(format!("{}: no sheet", path.display())))?;
    let range = wb.worksheet_range(&sheet).map_err(|e| error::data(format!("{}: {e}", path.display())))?;
    let cell = |d: &Data| -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(dt) => {
                let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(e) => format!("#{e:?}"),
        }
    };
    let mut rows = range.rows();
    let headers: Vec<String> =
        rows.next().map(|r| r.iter().map(|c| cell(c).trim().to_string()).collect()).unwrap_or_default();
    let records = rows
        .enumerate()
        .map(|(i, r)| Record { line: i as u64 + 2, fields: headers.iter().cloned().zip(r.iter().map(cell)).collect() })
        .collect();
    Ok(Table { headers, records, kind: format!("XLSX, sheet {sheet}") })
}

fn read_jsonl(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (text, _) = decode(path, &bytes, Some("utf-8"))?;
    let mut headers: Vec<String> = Vec::new();
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| error::data(format!("{}, line {}: not a JSON object: {e}", path.display(), i + 1)))?;
        let obj = v
            .as_object()
            .ok_or_else(|| error::data(format!("{}, line {}: not a JSON object", path.display(), i + 1)))?;
        let mut fields = HashMap::new();
        for (k, v) in obj {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
            let s = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            fields.insert(k.clone(), s);
        }
        records.push(Record { line: i as u64 + 1, fields });
    }
    Ok(Table { headers, records, kind: "JSON lines".into() })
}

fn read_parquet(path: &Path) -> Result<Table> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| error::data(format!("{}: not a readable Parquet file: {e}", path.display())))?
        .build()?;
    let mut headers = Vec::new();
    let mut records = Vec::new();
    let mut line = 0u64;
    for batch in reader {
        let batch = batch?;
        if headers.is_empty() {
            headers = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        }
        let cols: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).map_err(anyhow::Error::from))
            .collect::<Result<_>>()?;
        for r in 0..batch.num_rows() {
            line += 1;
            let fields = headers
                .iter()
                .zip(&cols)
                .map(|(h, c)| {
                    let a = c.as_string::<i32>();
                    (h.clone(), if a.is_null(r) { String::new() } else { a.value(r).to_string() })
                })
                .collect();
            records.push(Record { line, fields });
        }
    }
    Ok(Table { headers, records, kind: "Parquet".into() })
}
