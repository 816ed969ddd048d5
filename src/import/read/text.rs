//! CSV and TSV exports: bytes decoded block by block (UTF-8, UTF-8 with BOM, GB18030), cut at
//! line ends so that no character is split, each invalid line noted; records parsed from the
//! decoded text, with the recovery of a quote that swallowed the lines after it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use super::{CHUNK, Chunk, Field, Record, SAMPLE, Source, Values};
use crate::error;

// ---------------------------------------------------------------------------------------------
// text: encoding, invalid lines

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Gb18030,
}

fn valid(enc: Encoding, line: &[u8]) -> bool {
    match enc {
        Encoding::Utf8 => std::str::from_utf8(line).is_ok(),
        Encoding::Gb18030 => !encoding_rs::GB18030.decode_without_bom_handling(line).1,
    }
}

fn decode_into(enc: Encoding, bytes: &[u8], out: &mut Vec<u8>) {
    match enc {
        Encoding::Utf8 => out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes()),
        Encoding::Gb18030 => {
            out.extend_from_slice(encoding_rs::GB18030.decode_without_bom_handling(bytes).0.as_bytes())
        }
    }
}

/// Invalid lines among the complete lines of `bytes` (those ended by `\n`, a byte no
/// multi-byte character of UTF-8 or GB18030 contains; all of it when `whole`).
fn count_invalid(enc: Encoding, bytes: &[u8], whole: bool) -> usize {
    let complete = if whole {
        bytes
    } else {
        match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => &bytes[..i],
            None => return 0,
        }
    };
    complete.split(|b| *b == b'\n').filter(|l| !valid(enc, l)).count()
}

/// The encoding of a file from its first bytes: a UTF-8 BOM or valid UTF-8 is UTF-8; otherwise
/// whichever of UTF-8 and GB18030 (a superset of GBK and GB2312) has fewer invalid lines.
/// `encoding` forces one.
fn detect(sample: &[u8], whole: bool, bom: bool, encoding: Option<&str>) -> Result<(Encoding, &'static str)> {
    let forced = encoding.map(|e| e.to_ascii_lowercase()).filter(|e| e != "auto");
    Ok(match forced.as_deref() {
        Some("gbk") | Some("gb18030") | Some("gb2312") => (Encoding::Gb18030, "GB18030"),
        Some("utf-8") | Some("utf8") => (Encoding::Utf8, "UTF-8"),
        Some(other) => {
            return Err(error::usage(format!("unknown encoding `{other}`")).hint("use auto, utf-8 or gb18030").into());
        }
        None if bom => (Encoding::Utf8, "UTF-8 with BOM"),
        None => {
            let bad_utf8 = count_invalid(Encoding::Utf8, sample, whole);
            if bad_utf8 == 0 {
                (Encoding::Utf8, "UTF-8")
            } else if count_invalid(Encoding::Gb18030, sample, whole) <= bad_utf8 {
                (Encoding::Gb18030, "GB18030")
            } else {
                (Encoding::Utf8, "UTF-8")
            }
        }
    })
}

/// What the decoder found so far, shared with the record reader.
#[derive(Default)]
struct Found {
    /// (line, byte offset in the file) of lines with invalid bytes, not yet passed by the reader
    bad: VecDeque<(u64, u64)>,
    bad_total: u64,
    /// the decoded text from `base` (an offset in the decoded text) on
    window: Vec<u8>,
    base: u64,
    /// lines ended so far, whether the last one had no newline, the raw bytes read
    newlines: u64,
    tail: bool,
    first_bad: Option<(u64, u64)>,
    raw_done: u64,
}

/// Raw bytes → decoded UTF-8 text, a block at a time, cut at line ends so that no character is
/// split; each line is checked in the file's encoding and the invalid ones are noted.
struct Decoder {
    file: File,
    enc: Encoding,
    block: usize,
    /// bytes read but not yet decoded (the start of a line whose end is not read yet)
    carry: Vec<u8>,
    line: u64,
    offset: u64,
    out: Vec<u8>,
    pos: usize,
    found: Arc<Mutex<Found>>,
    done: bool,
}

impl Decoder {
    /// Decode the next complete lines; false at the end of the file.
    fn fill(&mut self) -> std::io::Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            let start = self.carry.len();
            self.carry.resize(start + self.block, 0);
            let n = self.file.read(&mut self.carry[start..])?;
            self.carry.truncate(start + n);
            let eof = n == 0;
            let cut = if eof {
                self.done = true;
                if self.carry.is_empty() {
                    return Ok(false);
                }
                self.carry.len()
            } else {
                match self.carry.iter().rposition(|b| *b == b'\n') {
                    Some(i) => i + 1,
                    None => continue,
                }
            };
            let complete = &self.carry[..cut];
            self.out.clear();
            self.pos = 0;
            let newlines = complete.iter().filter(|b| **b == b'\n').count() as u64;
            let ended = complete.ends_with(b"\n");
            // the whole block valid (the common case): taken as it is, no line needs a look
            let whole = match self.enc {
                Encoding::Utf8 => {
                    std::str::from_utf8(complete).map(|t| t.as_bytes()).ok().map(std::borrow::Cow::Borrowed)
                }
                Encoding::Gb18030 => encoding_rs::GB18030
                    .decode_without_bom_handling_and_without_replacement(complete)
                    .map(|t| match t {
                        std::borrow::Cow::Borrowed(t) => std::borrow::Cow::Borrowed(t.as_bytes()),
                        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(t.into_bytes()),
                    }),
            };
            let mut found = self.found.lock().expect("decoder state");
            match whole {
                Some(text) => {
                    self.out.extend_from_slice(&text);
                    self.line += newlines + u64::from(!ended);
                    self.offset += complete.len() as u64 + u64::from(!ended);
                }
                None => {
                    decode_into(self.enc, complete, &mut self.out);
                    let body = complete.strip_suffix(b"\n").unwrap_or(complete);
                    for l in body.split(|b| *b == b'\n') {
                        if !valid(self.enc, l) {
                            found.bad.push_back((self.line, self.offset));
                            found.first_bad.get_or_insert((self.line, self.offset));
                            found.bad_total += 1;
                        }
                        self.line += 1;
                        self.offset += l.len() as u64 + 1;
                    }
                }
            }
            found.newlines += newlines;
            found.tail = !ended;
            found.raw_done += cut as u64;
            found.window.extend_from_slice(&self.out);
            drop(found);
            self.carry.drain(..cut);
            return Ok(true);
        }
    }
}

impl Read for Decoder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.out.len() {
            if !self.fill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

pub(super) struct CsvSource {
    path: std::path::PathBuf,
    reader: csv::Reader<Decoder>,
    found: Arc<Mutex<Found>>,
    headers: Arc<Vec<String>>,
    kind: String,
    delimiter: u8,
    /// the record read but not yet given out: (line, byte in the decoded text, fields)
    pending: Option<(u64, u64, csv::StringRecord)>,
    record: csv::StringRecord,
    finished: bool,
    bom: u64,
}

impl CsvSource {
    pub(super) fn open(path: &Path, encoding: Option<&str>, delimiter: u8, block: usize) -> Result<CsvSource> {
        let mut file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut sample = Vec::new();
        (&mut file)
            .take(SAMPLE as u64)
            .read_to_end(&mut sample)
            .with_context(|| format!("reading {}", path.display()))?;
        let whole = sample.len() < SAMPLE;
        let bom = sample.starts_with(b"\xEF\xBB\xBF");
        let body = if bom { &sample[3..] } else { &sample[..] };
        let (enc, name) = detect(body, whole, bom, encoding)?;
        let found = Arc::new(Mutex::new(Found::default()));
        let start = if bom { 3u64 } else { 0 };
        let mut file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start))?;
        let decoder = Decoder {
            file,
            enc,
            block: block.max(1),
            carry: Vec::new(),
            line: 1,
            offset: 0,
            out: Vec::new(),
            pos: 0,
            found: found.clone(),
            done: false,
        };
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(decoder);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| error::data(format!("{}: cannot read the header line: {e}", path.display())))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        Ok(CsvSource {
            path: path.to_path_buf(),
            reader,
            found,
            headers: Arc::new(headers),
            kind: format!("CSV, {name}"),
            delimiter,
            pending: None,
            record: csv::StringRecord::new(),
            finished: false,
            bom: start,
        })
    }

    /// The bytes-problem of a record spanning lines [start, end): invalid bytes on one of them.
    fn bytes_problem(&self, found: &mut Found, start: u64, end: u64) -> Option<String> {
        while found.bad.front().is_some_and(|(l, _)| *l < start) {
            found.bad.pop_front();
        }
        let enc = self.kind.trim_start_matches("CSV, ");
        found
            .bad
            .iter()
            .find(|(l, _)| *l >= start && *l < end.max(start + 1))
            .map(|(l, off)| format!("bytes that are not valid {enc}; line {l}, from byte {off} of the file"))
    }

    /// Turn the pending record into records, knowing where the next one starts.
    fn settle(&mut self, next_line: u64, next_byte: u64, out: &mut Vec<Record>) {
        let Some((line, byte, fields)) = self.pending.take() else { return };
        let found = self.found.clone();
        let mut found = found.lock().expect("decoder state");
        if next_line > line + 1 {
            let from = (byte - found.base) as usize;
            let to = ((next_byte - found.base) as usize).min(found.window.len());
            let span = String::from_utf8_lossy(&found.window[from.min(to)..to]).into_owned();
            if let Some(split) = split_swallowed(&span, self.delimiter, self.headers.len()) {
                // an unbalanced quote swallowed the lines after it: each line is a record of its
                // own, and only the broken ones are quarantined
                let swallowed = split.len().saturating_sub(1);
                for (i, values, whole) in split {
                    let l = line + i as u64;
                    let problem = self.bytes_problem(&mut found, l, l + 1).or_else(|| {
                        (!whole).then(|| {
                            format!(
                                "a quote is not closed on its line; the {swallowed} lines after it were read on their own"
                            )
                        })
                    });
                    out.push(Record {
                        line: l,
                        fields: Values::Each(values.into_iter().map(Field::Text).collect()),
                        problem,
                    });
                }
                Self::trim(&mut found, next_byte);
                return;
            }
        }
        let problem = self.bytes_problem(&mut found, line, next_line).or_else(|| {
            (fields.len() != self.headers.len()).then(|| {
                format!("a field count unlike the header's; {} fields, the header {}", fields.len(), self.headers.len())
            })
        });
        out.push(Record { line, fields: Values::Csv(fields), problem });
        Self::trim(&mut found, next_byte);
    }

    /// Forget the decoded text before `byte` (in steps, so that the window is not moved for
    /// every record).
    fn trim(found: &mut Found, byte: u64) {
        let drop = byte.saturating_sub(found.base) as usize;
        if drop > (1 << 20) && drop <= found.window.len() {
            found.window.drain(..drop);
            found.base = byte;
        }
    }
}

impl Source for CsvSource {
    fn kind(&self) -> String {
        self.kind.clone()
    }

    fn headers(&self) -> Option<Arc<Vec<String>>> {
        Some(self.headers.clone())
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.finished {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < CHUNK {
            let more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| error::data(format!("{}: {e}", self.path.display())))?;
            if !more {
                let (end_line, end_byte) = {
                    let f = self.found.lock().expect("decoder state");
                    // the lines of the text (a last line without a newline counts) + 1
                    (f.newlines + u64::from(f.tail) + 1, f.base + f.window.len() as u64)
                };
                self.settle(end_line, end_byte, &mut out);
                self.finished = true;
                self.check_bad_lines(true)?;
                break;
            }
            let pos = self.record.position().cloned().unwrap_or_else(csv::Position::new);
            self.settle(pos.line(), pos.byte(), &mut out);
            self.pending = Some((pos.line(), pos.byte(), std::mem::take(&mut self.record)));
        }
        if !self.finished {
            self.check_bad_lines(false)?;
        }
        let bytes_done = self.found.lock().expect("decoder state").raw_done + self.bom;
        Ok(Some(Chunk { headers: self.headers.clone(), records: out, bytes_done }))
    }
}

impl CsvSource {
    /// More than 1 % of the lines invalid in the encoding refuses the file, naming the first
    /// (checked at the end, and on the way once 100,000 lines are read).
    fn check_bad_lines(&self, end: bool) -> Result<()> {
        let f = self.found.lock().expect("decoder state");
        let lines = f.newlines + 1;
        if (end || lines >= 100_000) && f.bad_total * 100 > lines.max(100) {
            let first = f.first_bad.map(|(l, off)| format!("; the first is line {l} (byte {off})")).unwrap_or_default();
            return Err(error::data(format!(
                "{}: {} of {lines} lines are not valid {} text{first}",
                self.path.display(),
                f.bad_total,
                self.kind.trim_start_matches("CSV, ")
            ))
            .hint("set `encoding = \"gb18030\"` or `\"utf-8\"` in the mapping's [source] if the guess is wrong")
            .into());
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::read::{BLOCK, open_with_block};

    fn csv_file(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("export.csv");
        std::fs::write(&p, bytes).unwrap();
        (dir, p)
    }

    /// Every record of a file, read `block` bytes at a time, with the headers.
    fn all(p: &Path, block: usize) -> Result<(Vec<String>, Vec<Record>, String)> {
        let mut s = open_with_block(p, None, block)?;
        let mut out = Vec::new();
        let mut headers = Vec::new();
        while let Some(c) = s.next_chunk()? {
            headers = c.headers.to_vec();
            out.extend(c.records);
        }
        Ok((headers, out, s.kind()))
    }

    fn field(r: &Record, i: usize) -> String {
        r.texts()[i].clone().into_owned()
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
        for block in [3, 64, BLOCK] {
            let (_, records, _) = all(&p, block).unwrap();
            // all 7 rows come back, one per line; only line 4 has a problem
            let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8], "block {block}");
            let bad: Vec<(u64, &str)> =
                records.iter().filter_map(|r| r.problem.as_deref().map(|p| (r.line, p))).collect();
            assert_eq!(bad.len(), 1, "{bad:?}");
            assert_eq!(bad[0].0, 4);
            assert_eq!(bad[0].1, "a quote is not closed on its line; the 4 lines after it were read on their own");
            assert_eq!(field(&records[4], 1), "phone");
            assert_eq!(field(&records[6], 0), "8");
        }
    }

    #[test]
    fn a_row_with_a_field_too_few_is_named() {
        let (_d, p) = csv_file(b"id,channel,note\n1,phone,ok\n2,phone\n");
        let (_, r, _) = all(&p, BLOCK).unwrap();
        assert_eq!(r[0].problem, None);
        assert_eq!(r[1].problem.as_deref(), Some("a field count unlike the header's; 2 fields, the header 3"));
    }

    #[test]
    fn one_invalid_byte_costs_its_row_not_the_file() {
        // UTF-8 text with one byte 0xFF on line 3: the header is 16 bytes with its newline, line 2
        // `1,phone,好` 8 + 3 + 1, so line 3 starts at byte 28
        let mut bytes = b"id,channel,note\n1,phone,\xe5\xa5\xbd\n".to_vec();
        assert_eq!(bytes.len(), 28);
        bytes.extend_from_slice(b"2,phone,\xff\n3,web,ok\n");
        let (_d, p) = csv_file(&bytes);
        for block in [1, 5, BLOCK] {
            let (_, r, kind) = all(&p, block).unwrap();
            assert_eq!(kind, "CSV, UTF-8");
            assert_eq!(r.len(), 3);
            assert_eq!(field(&r[0], 2), "好");
            assert_eq!(r[0].problem, None);
            let p2 = r[1].problem.as_deref().unwrap();
            assert_eq!(p2, "bytes that are not valid UTF-8; line 3, from byte 28 of the file");
            assert_eq!(r[2].problem, None);
        }
    }

    #[test]
    fn many_invalid_lines_refuse_the_file_naming_the_first() {
        // 200 lines, every other one with an invalid byte in both encodings (0xFF is never valid)
        let mut bytes = b"id,channel\n".to_vec();
        for i in 0..200 {
            bytes.extend_from_slice(if i % 2 == 0 { b"1,ok\n".as_slice() } else { b"2,\xff\n".as_slice() });
        }
        let (_d, p) = csv_file(&bytes);
        let e = all(&p, BLOCK).err().unwrap().to_string();
        // lines: header + 200 rows + the empty piece after the last newline = 202
        assert!(e.contains("100 of 202 lines are not valid"), "{e}");
        assert!(e.contains("the first is line 3 (byte 16)"), "{e}");
    }

    #[test]
    fn blocks_that_split_a_gbk_character_and_a_quoted_line_break_read_as_one_file() {
        // GBK text: two-byte characters, a quoted field holding a line break and a comma, and a
        // last line without a newline; read whole and 1, 2, 3, 7 and 13 bytes at a time, so that
        // blocks end inside characters, inside the quoted field and between its two lines
        let text = "工单编号,受理时间,诉求内容\nA1,2025-03-01 09:30:00,\"路灯不亮\n已报修，谢谢\"\nA2,2025-03-02 10:00:00,噪音扰民\nA3,2025-03-03 11:00:00,\"供暖,不热\"";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        let (_d, p) = csv_file(&gbk);
        for block in [1, 2, 3, 7, 13, BLOCK] {
            let (headers, r, kind) = all(&p, block).unwrap();
            assert_eq!(kind, "CSV, GB18030", "block {block}");
            assert_eq!(headers, ["工单编号", "受理时间", "诉求内容"]);
            let rows: Vec<(u64, String, String)> = r.iter().map(|r| (r.line, field(r, 0), field(r, 2))).collect();
            assert_eq!(
                rows,
                [
                    (2, "A1".into(), "路灯不亮\n已报修，谢谢".into()),
                    (4, "A2".into(), "噪音扰民".into()),
                    (5, "A3".into(), "供暖,不热".into())
                ],
                "block {block}"
            );
            assert!(r.iter().all(|r| r.problem.is_none()), "block {block}");
        }
        // with a BOM, UTF-8
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let (_d2, p2) = csv_file(&bom);
        let (headers, r, kind) = all(&p2, 5).unwrap();
        assert_eq!((kind.as_str(), headers[0].as_str(), r.len()), ("CSV, UTF-8 with BOM", "工单编号", 3));
    }
}
