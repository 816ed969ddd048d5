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
    /// Why the row cannot be read as it stands (an unbalanced quote, invalid bytes, a field
    /// too many or too few): it goes to the quarantine with this reason.
    pub problem: Option<String>,
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

/// Text decoded from a file, with the lines that held bytes invalid in its encoding (decoded
/// with U+FFFD, so the rows on them can be quarantined instead of the whole file refused).
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
    /// (line, byte offset in the file) of each line with invalid bytes, in order
    pub bad_lines: Vec<(u64, u64)>,
}

/// Lines (split at `\n`, a byte no multi-byte character of UTF-8 or GB18030 contains) that do
/// not decode in the encoding, as (line number, byte offset of the line).
fn invalid_lines(bytes: &[u8], valid: impl Fn(&[u8]) -> bool) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if !valid(line) {
            out.push((i as u64 + 1, offset));
        }
        offset += line.len() as u64 + 1;
    }
    out
}

/// Bytes → text: a UTF-8 BOM or valid UTF-8 is UTF-8; otherwise whichever of UTF-8 and GB18030
/// (a superset of GBK and GB2312) has fewer invalid lines. `encoding` forces one. A few invalid
/// lines (at most 1 % of them) are decoded with U+FFFD and listed; more refuse the file, naming
/// the first.
pub fn decode(path: &Path, bytes: &[u8], encoding: Option<&str>) -> Result<Decoded> {
    let forced = encoding.map(|e| e.to_ascii_lowercase()).filter(|e| e != "auto");
    let utf8_valid = |l: &[u8]| std::str::from_utf8(l).is_ok();
    let gb_valid = |l: &[u8]| !encoding_rs::GB18030.decode_without_bom_handling(l).1;
    let (bytes, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(b) => (b, true),
        None => (bytes, false),
    };
    let utf8 = |bad: Vec<(u64, u64)>, name: &'static str| Decoded {
        text: String::from_utf8_lossy(bytes).into_owned(),
        encoding: name,
        bad_lines: bad,
    };
    let gb = |bad: Vec<(u64, u64)>| Decoded {
        text: encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
        encoding: "GB18030",
        bad_lines: bad,
    };
    let decoded = match forced.as_deref() {
        Some("gbk") | Some("gb18030") | Some("gb2312") => gb(invalid_lines(bytes, gb_valid)),
        Some("utf-8") | Some("utf8") => utf8(invalid_lines(bytes, utf8_valid), "UTF-8"),
        Some(other) => {
            return Err(error::usage(format!("unknown encoding `{other}`")).hint("use auto, utf-8 or gb18030").into());
        }
        None if bom => utf8(invalid_lines(bytes, utf8_valid), "UTF-8 with BOM"),
        None if std::str::from_utf8(bytes).is_ok() => utf8(Vec::new(), "UTF-8"),
        None => {
            let bad_utf8 = invalid_lines(bytes, utf8_valid);
            let bad_gb = invalid_lines(bytes, gb_valid);
            if bad_gb.len() <= bad_utf8.len() { gb(bad_gb) } else { utf8(bad_utf8, "UTF-8") }
        }
    };
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    if let Some(&(line, offset)) = decoded.bad_lines.first()
        && decoded.bad_lines.len() as u64 * 100 > lines.max(100)
    {
        return Err(error::data(format!(
            "{}: {} of {lines} lines are not valid {} text; the first is line {line} (byte {offset})",
            path.display(),
            decoded.bad_lines.len(),
            decoded.encoding
        ))
        .hint("set `encoding = \"gb18030\"` or `\"utf-8\"` in the mapping's [source] if the guess is wrong")
        .into());
    }
    Ok(decoded)
}

/// What a record from line `start` up to (not including) line `end` has wrong before mapping:
/// invalid bytes on one of its lines.
fn bytes_problem(d: &Decoded, start: u64, end: u64) -> Option<String> {
    d.bad_lines
        .iter()
        .find(|(l, _)| *l >= start && *l < end.max(start + 1))
        .map(|(l, off)| format!("bytes that are not valid {}; line {l}, from byte {off} of the file", d.encoding))
}

fn read_csv(path: &Path, encoding: Option<&str>, delimiter: u8) -> Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let decoded = decode(path, &bytes, encoding)?;
    let text = decoded.text.as_str();
    let mut r = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| error::data(format!("{}: cannot read the header line: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    // (start line, start byte, fields) of every record, then each one checked against the next
    let mut raw: Vec<(u64, usize, Vec<String>)> = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| error::data(format!("{}: {e}", path.display())))?;
        let pos = rec.position().cloned().unwrap_or_else(csv::Position::new);
        raw.push((pos.line(), pos.byte() as usize, rec.iter().map(str::to_string).collect()));
    }
    let end_line = text.lines().count() as u64 + 1;
    let mut records = Vec::new();
    for (k, (line, byte, fields)) in raw.iter().enumerate() {
        let (next_line, next_byte) = raw.get(k + 1).map_or((end_line, text.len()), |n| (n.0, n.1));
        if next_line > line + 1
            && let Some(split) = split_swallowed(&text[*byte..next_byte], delimiter, headers.len())
        {
            // an unbalanced quote swallowed the lines after it: each line is a record of its
            // own, and only the broken ones are quarantined
            let swallowed = split.len().saturating_sub(1);
            for (i, values, whole) in split {
                let l = line + i as u64;
                let problem = bytes_problem(&decoded, l, l + 1).or_else(|| {
                    (!whole).then(|| {
                        format!(
                            "a quote is not closed on its line; the {swallowed} lines after it were read on their own"
                        )
                    })
                });
                records.push(Record { line: l, fields: headers.iter().cloned().zip(values).collect(), problem });
            }
            continue;
        }
        let problem = bytes_problem(&decoded, *line, next_line).or_else(|| {
            (fields.len() != headers.len()).then(|| {
                format!("a field count unlike the header's; {} fields, the header {}", fields.len(), headers.len())
            })
        });
        records.push(Record {
            line: *line,
            fields: headers.iter().cloned().zip(fields.iter().cloned()).collect(),
            problem,
        });
    }
    Ok(Table { headers, records, kind: format!("CSV, {}", decoded.encoding) })
}

/// The lines of a record that spans several lines, each read alone, when most of the lines after
/// the first are whole rows on their own (`headers` fields, quotes balanced): then the record is
/// an unbalanced quote that swallowed them, not a field with line breaks. Each line comes back
/// with its index in the span, its fields and whether it is a whole row; empty lines are left out.
fn split_swallowed(span: &str, delimiter: u8, headers: usize) -> Option<Vec<(usize, Vec<String>, bool)>> {
    let lines: Vec<(usize, &str)> = span.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let parse = |line: &str| -> (Vec<String>, bool) {
        let balanced = line.matches('"').count().is_multiple_of(2);
        let mut one = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(line.as_bytes());
        match one.records().next().and_then(|r| r.ok()) {
            Some(r) if balanced => {
                let n = r.len();
                (r.iter().map(str::to_string).collect(), n == headers)
            }
            // an unbalanced line, split at the delimiter as it stands
            _ => (line.split(delimiter as char).map(str::to_string).collect(), false),
        }
    };
    let parsed: Vec<(usize, Vec<String>, bool)> = lines
        .iter()
        .map(|(i, l)| {
            let (values, whole) = parse(l);
            (*i, values, whole)
        })
        .collect();
    let rest = parsed.len().saturating_sub(1);
    let whole_after = parsed.iter().skip(1).filter(|(_, _, whole)| *whole).count();
    (rest > 0 && whole_after * 2 > rest).then_some(parsed)
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
        .map(|(i, r)| Record {
            line: i as u64 + 2,
            fields: headers.iter().cloned().zip(r.iter().map(cell)).collect(),
            problem: None,
        })
        .collect();
    Ok(Table { headers, records, kind: format!("XLSX, sheet {sheet}") })
}

fn read_jsonl(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let decoded = decode(path, &bytes, Some("utf-8"))?;
    let text = decoded.text.clone();
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
        let problem = bytes_problem(&decoded, i as u64 + 1, i as u64 + 2);
        records.push(Record { line: i as u64 + 1, fields, problem });
    }
    Ok(Table { headers, records, kind: "JSON lines".into() })
}

fn read_parquet(path: &Path) -> Result<Table> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let options = datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
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
            records.push(Record { line, fields, problem: None });
        }
    }
    Ok(Table { headers, records, kind: "Parquet".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_file(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("export.csv");
        std::fs::write(&p, bytes).unwrap();
        (dir, p)
    }

    #[test]
    fn an_unbalanced_quote_costs_its_own_line_only() {
        // line 1 header, lines 2-3 fine, line 4 opens a quote it never closes, lines 5-8 fine
        let mut text = String::from("id,channel,note\n");
        for i in 2..=8 {
            if i == 4 {
                text.push_str("4,phone,\"broken\n");
            } else {
                text.push_str(&format!("{i},phone,ok\n"));
            }
        }
        let (_d, p) = csv_file(text.as_bytes());
        let t = read(&p, None).unwrap();
        // all 7 rows come back, one per line; only line 4 has a problem
        let lines: Vec<u64> = t.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8]);
        let bad: Vec<(u64, &str)> =
            t.records.iter().filter_map(|r| r.problem.as_deref().map(|p| (r.line, p))).collect();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].0, 4);
        assert_eq!(bad[0].1, "a quote is not closed on its line; the 4 lines after it were read on their own");
        assert_eq!(t.records[4].fields["channel"], "phone");
        assert_eq!(t.records[6].fields["id"], "8");
    }

    #[test]
    fn a_row_with_a_field_too_few_is_named() {
        let (_d, p) = csv_file(b"id,channel,note\n1,phone,ok\n2,phone\n");
        let t = read(&p, None).unwrap();
        assert_eq!(t.records[0].problem, None);
        assert_eq!(t.records[1].problem.as_deref(), Some("a field count unlike the header's; 2 fields, the header 3"));
    }

    #[test]
    fn one_invalid_byte_costs_its_row_not_the_file() {
        // UTF-8 text with one byte 0xFF on line 3: the header is 16 bytes with its newline, line 2
        // `1,phone,好` 8 + 3 + 1, so line 3 starts at byte 28
        let mut bytes = b"id,channel,note\n1,phone,\xe5\xa5\xbd\n".to_vec();
        assert_eq!(bytes.len(), 28);
        bytes.extend_from_slice(b"2,phone,\xff\n3,web,ok\n");
        let (_d, p) = csv_file(&bytes);
        let t = read(&p, None).unwrap();
        assert_eq!(t.kind, "CSV, UTF-8");
        assert_eq!(t.records.len(), 3);
        assert_eq!(t.records[0].fields["note"], "好");
        assert_eq!(t.records[0].problem, None);
        let p2 = t.records[1].problem.as_deref().unwrap();
        assert_eq!(p2, "bytes that are not valid UTF-8; line 3, from byte 28 of the file");
        assert_eq!(t.records[2].problem, None);
    }

    #[test]
    fn many_invalid_lines_refuse_the_file_naming_the_first() {
        // 200 lines, every other one with an invalid byte in both encodings (0xFF is never valid)
        let mut bytes = b"id,channel\n".to_vec();
        for i in 0..200 {
            bytes.extend_from_slice(if i % 2 == 0 { b"1,ok\n".as_slice() } else { b"2,\xff\n".as_slice() });
        }
        let (_d, p) = csv_file(&bytes);
        let e = read(&p, None).err().unwrap().to_string();
        // lines: header + 200 rows + the empty piece after the last newline = 202
        assert!(e.contains("100 of 202 lines are not valid"), "{e}");
        assert!(e.contains("the first is line 3 (byte 16)"), "{e}");
    }

    #[test]
    fn gbk_bytes_decode_without_a_garbled_character() {
        let text = "工单编号,受理时间\nA1,2025-03-01 09:30:00\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let d = decode(Path::new("x.csv"), &gbk, None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding, d.bad_lines.len()), (text, "GB18030", 0));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let d = decode(Path::new("x.csv"), &bom, None).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (text, "UTF-8 with BOM"));
    }
}
