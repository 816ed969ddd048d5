//! Query results in every `--format`: an aligned table (Chinese characters are two columns
//! wide), CSV, JSON, NDJSON, Parquet and XLSX.

use std::io::Write;

use anyhow::Result;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::ArrowWriter;
use unicode_width::UnicodeWidthStr;

use crate::args::SqlFormat;

/// Widest a table cell gets before it is cut with `…`.
const MAX_CELL: usize = 60;

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Write `batches` in `format`. For the table format only the first `max_rows` rows are shown;
/// returns how many rows were shown.
pub fn write<W: Write + Send>(
    w: W,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: SqlFormat,
    max_rows: usize,
) -> Result<usize> {
    let mut sink = Sink::new(w, schema.clone(), format, max_rows)?;
    for b in batches {
        sink.write(b.clone())?;
    }
    sink.finish()
}

/// A result written batch by batch as the query produces it, so that an answer of millions of
/// rows is never held whole: CSV, NDJSON, JSON and Parquet are written as the batches come; the
/// table keeps only the rows it shows and counts the rest; XLSX keeps the result (a worksheet is
/// written at once).
pub struct Sink<W: Write + Send> {
    out: Out<W>,
    format: SqlFormat,
    schema: SchemaRef,
    max_rows: usize,
    /// rows written (or counted)
    total: usize,
    /// table: the batches holding the rows shown; XLSX: every batch
    kept: Vec<RecordBatch>,
    kept_rows: usize,
}

enum Out<W: Write + Send> {
    Text(W),
    Parquet(Box<ArrowWriter<W>>),
}

impl<W: Write + Send> Sink<W> {
    pub fn new(w: W, schema: SchemaRef, format: SqlFormat, max_rows: usize) -> Result<Self> {
        let out = match format {
            SqlFormat::Parquet => Out::Parquet(Box::new(ArrowWriter::try_new(w, schema.clone(), None)?)),
            _ => Out::Text(w),
        };
        Ok(Sink { out, format, schema, max_rows, total: 0, kept: Vec::new(), kept_rows: 0 })
    }

    /// Rows written (or counted) so far.
    pub fn rows(&self) -> usize {
        self.total
    }

    pub fn write(&mut self, b: RecordBatch) -> Result<()> {
        if b.num_rows() == 0 {
            return Ok(());
        }
        let first = self.total == 0;
        self.total += b.num_rows();
        match (&mut self.out, self.format) {
            (Out::Parquet(writer), _) => writer.write(&b)?,
            (Out::Text(_), SqlFormat::Table) => {
                if self.kept_rows < self.max_rows {
                    let n = b.num_rows().min(self.max_rows - self.kept_rows);
                    self.kept_rows += n;
                    self.kept.push(b.slice(0, n));
                }
            }
            (Out::Text(_), SqlFormat::Xlsx) => self.kept.push(b),
            (Out::Text(w), SqlFormat::Csv) => {
                datafusion::arrow::csv::WriterBuilder::new().with_header(first).build(&mut *w).write(&b)?;
            }
            (Out::Text(w), SqlFormat::Ndjson) => {
                let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut *w);
                writer.write(&b)?;
                writer.finish()?;
            }
            (Out::Text(w), SqlFormat::Json) => {
                // one array over every batch: the rows as NDJSON lines, joined with commas
                let mut lines = Vec::new();
                let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut lines);
                writer.write(&b)?;
                writer.finish()?;
                let text = String::from_utf8(lines)?;
                for (i, row) in text.lines().enumerate() {
                    w.write_all(if first && i == 0 { b"[" } else { b"," })?;
                    w.write_all(row.as_bytes())?;
                }
            }
            (Out::Text(_), SqlFormat::Parquet) => unreachable!("a Parquet sink writes through ArrowWriter"),
        }
        Ok(())
    }

    /// Close the output; returns how many rows were shown (all but the table's cut).
    pub fn finish(self) -> Result<usize> {
        let Sink { out, format, schema, total, kept, .. } = self;
        match out {
            Out::Parquet(writer) => {
                writer.close()?;
                Ok(total)
            }
            Out::Text(mut w) => {
                let shown = match format {
                    SqlFormat::Table => table(&mut w, &schema, &kept, usize::MAX)?,
                    SqlFormat::Xlsx => {
                        w.write_all(&xlsx(&schema, &kept)?)?;
                        total
                    }
                    SqlFormat::Csv => {
                        if total == 0 {
                            datafusion::arrow::csv::WriterBuilder::new()
                                .with_header(true)
                                .build(&mut w)
                                .write(&RecordBatch::new_empty(schema.clone()))?;
                        }
                        total
                    }
                    SqlFormat::Json => {
                        w.write_all(if total == 0 { b"[]\n" } else { b"]\n" })?;
                        total
                    }
                    SqlFormat::Ndjson | SqlFormat::Parquet => total,
                };
                w.flush()?;
                Ok(shown)
            }
        }
    }
}

fn formatted(batches: &[RecordBatch], limit: usize) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("NULL").with_timestamp_format(Some("%Y-%m-%d %H:%M:%S"));
    let mut out = Vec::new();
    for b in batches {
        let fmts: Vec<ArrayFormatter> =
            b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect::<Result<_, _>>()?;
        for r in 0..b.num_rows() {
            if out.len() >= limit {
                return Ok(out);
            }
            out.push(fmts.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(out)
}

/// A cell as shown: one line, at most MAX_CELL columns wide.
fn cell(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c == '\n' || c == '\r' { '↵' } else { c }).collect();
    if one_line.width() <= MAX_CELL {
        return one_line;
    }
    let mut cut = String::new();
    for c in one_line.chars() {
        if cut.width() + c.to_string().width() > MAX_CELL - 1 {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    cut
}

fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if right { format!("{fill}{s}") } else { format!("{s}{fill}") }
}

fn table<W: Write>(w: &mut W, schema: &SchemaRef, batches: &[RecordBatch], max_rows: usize) -> Result<usize> {
    let header: Vec<String> = schema.fields().iter().map(|f| cell(f.name())).collect();
    let numeric: Vec<bool> = schema.fields().iter().map(|f| f.data_type().is_numeric()).collect();
    let body: Vec<Vec<String>> =
        formatted(batches, max_rows)?.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| body.iter().map(|r| r[i].width()).chain([header[i].width()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String], w: &mut W, align: bool| -> std::io::Result<()> {
        let parts: Vec<String> =
            cells.iter().enumerate().map(|(i, c)| pad(c, widths[i], align && numeric[i])).collect();
        writeln!(w, " {}", parts.join(" │ ").trim_end())
    };
    line(&header, w, false)?;
    let rule: Vec<String> = widths.iter().map(|n| "─".repeat(*n)).collect();
    writeln!(w, "─{}─", rule.join("─┼─"))?;
    for r in &body {
        line(r, w, true)?;
    }
    w.flush()?;
    Ok(body.len())
}

/// The footer line of the table format (for stderr).
pub fn footer(total: usize, shown: usize) -> String {
    let rows = if total == 1 { "1 row".to_string() } else { format!("{total} rows") };
    if shown < total { format!("{rows} (first {shown} shown, use --max-rows)") } else { rows }
}

/// One sheet `result`: bold header, numbers as numbers, everything else as text.
fn xlsx(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("result")?;
    let bold = Format::new().set_bold();
    for (j, f) in schema.fields().iter().enumerate() {
        sheet.write_string_with_format(0, j as u16, f.name(), &bold)?;
    }
    let options = FormatOptions::default();
    let mut r = 1u32;
    for b in batches {
        for (j, col) in b.columns().iter().enumerate() {
            let j = j as u16;
            let fmt = ArrayFormatter::try_new(col.as_ref(), &options)?;
            let as_f64 = match col.data_type() {
                t if t.is_numeric() => Some(datafusion::arrow::compute::cast(col, &DataType::Float64)?),
                _ => None,
            };
            for i in 0..b.num_rows() {
                let row = r + i as u32;
                if col.is_null(i) {
                    continue;
                }
                match (&as_f64, col.data_type()) {
                    (Some(f), _) => {
                        sheet.write_number(row, j, f.as_primitive::<Float64Type>().value(i))?;
                    }
                    (None, DataType::Boolean) => {
                        sheet.write_boolean(row, j, col.as_boolean().value(i))?;
                    }
                    _ => {
                        sheet.write_string(row, j, fmt.value(i).to_string())?;
                    }
                }
            }
        }
        r += b.num_rows() as u32;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(pad("朝阳区", 8, false), "朝阳区  ");
        assert_eq!(pad("12", 5, true), "   12");
        assert_eq!(cell("a\nb"), "a↵b");
        let long = "长".repeat(40);
        // 29 double-width characters (58 columns) and the ellipsis: a 30th would not fit
        assert_eq!(cell(&long).width(), MAX_CELL - 1);
        assert!(cell(&long).ends_with('…'));
    }

    #[test]
    fn footers() {
        assert_eq!(footer(1, 1), "1 row");
        assert_eq!(footer(100, 40), "100 rows (first 40 shown, use --max-rows)");
    }
}
