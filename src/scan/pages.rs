//! The scan's time, text and boolean columns read straight from their Parquet pages into the
//! row loop's blocks, when they are stored as most writers store them: flat columns, PLAIN or
//! dictionary-encoded pages (version 1 or 2, any compression). Arrow would build arrays of each
//! batch (keys, null bitmaps, values spread over the nulls) that the row loop then reads again
//! into its blocks; here each block is decoded once, into the values the loop reads: global
//! string ids, µs, 0/1/2 flags. A column stored any other way (another encoding or unit, a
//! nested column, text that is not UTF-8) is left to Arrow, column by column: [`read`] says so
//! before any row is counted.

use std::sync::Arc;

use anyhow::{Result, bail};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::parquet::basic::{ConvertedType, Encoding, LogicalType, Type as PhysicalType};
use datafusion::parquet::column::page::{Page, PageReader};
use datafusion::parquet::file::serialized_reader::SerializedPageReader;

use super::{FileMeta, NULL_TIME, Strings};

/// The time columns the row loop reads, in its order.
pub(super) const TIMES: [&str; 5] = ["received_at", "dispatched_at", "responded_at", "closed_at", "due_at"];
/// The text columns the row loop reads, in its order.
pub(super) const TEXTS: [&str; 11] = [
    "district",
    "street",
    "department",
    "category_l1",
    "category_l2",
    "category_l3",
    "channel",
    "request_type",
    "urgency",
    "satisfaction",
    "excluded_reason",
];
/// The boolean column the row loop reads.
pub(super) const FLAG: &str = "resolved";

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// a timestamp in µs without a time zone (INT64)
    Time,
    /// UTF-8 text (BYTE_ARRAY)
    Text,
    /// a boolean
    Flag,
}

/// A column of a file whose pages this module may read: its leaf and whether it may be null.
#[derive(Debug, Clone, Copy)]
pub(super) struct Leaf {
    leaf: usize,
    kind: Kind,
    optional: bool,
}

/// The most decompressed bytes of one row group the page readers hold (its time, text, boolean
/// and ticket_id column chunks, by the file's metadata): a larger row group streams through
/// Arrow's reader, page by page, so that memory stays bounded whatever the writer chose.
pub(super) const GROUP_BUDGET: i64 = 256 << 20;

/// Whether row group `group` of `file` is small enough for the page readers: at most `budget`
/// bytes ([`GROUP_BUDGET`] unless a test asks for less).
pub(super) fn fits(file: &FileMeta, group: usize, budget: i64) -> bool {
    let rg = file.meta.metadata().row_group(group);
    let (times, texts, flag) = &file.leaves;
    let leaves = times.iter().chain(texts).chain([flag]).flatten().map(|l| l.leaf).chain(file.id_leaf);
    leaves.map(|k| rg.column(k).uncompressed_size().max(0)).sum::<i64>() <= budget
}

/// The leaf column of the file's top-level column `name`, if any.
pub(super) fn top_leaf(
    meta: &datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata,
    name: &str,
) -> Option<usize> {
    let columns = meta.metadata().file_metadata().schema_descr();
    (0..columns.num_columns()).find(|&k| {
        let c = columns.column(k);
        c.path().parts().len() == 1 && c.name() == name
    })
}

/// Where a data page's parts are, for a flat column.
pub(super) struct Layout {
    pub(super) rows: usize,
    /// the definition levels, buf[a..b] (RLE / bit-packed in 1 bit); None when the column is
    /// required
    pub(super) levels: Option<(usize, usize)>,
    /// where the values start
    pub(super) values: usize,
    pub(super) encoding: Encoding,
}

/// A data page's [`Layout`] (`optional`: the column may be null). None for a dictionary page,
/// or levels stored another way.
pub(super) fn data_page(page: &Page, optional: bool) -> Option<Layout> {
    match page {
        Page::DataPage { buf, num_values, encoding, def_level_encoding, .. } => {
            let (rows, encoding) = (*num_values as usize, *encoding);
            if !optional {
                return Some(Layout { rows, levels: None, values: 0, encoding });
            }
            if *def_level_encoding != Encoding::RLE {
                return None;
            }
            let len = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize;
            buf.get(4..4 + len)?;
            Some(Layout { rows, levels: Some((4, 4 + len)), values: 4 + len, encoding })
        }
        Page::DataPageV2 { buf, num_rows, encoding, def_levels_byte_len, rep_levels_byte_len: 0, .. } => {
            let len = *def_levels_byte_len as usize;
            buf.get(..len)?;
            let levels = optional.then_some((0, len));
            Some(Layout { rows: *num_rows as usize, levels, values: len, encoding: *encoding })
        }
        _ => None,
    }
}

/// Column `name`'s leaf when its type is one this module reads as `kind` (the encodings of its
/// pages are checked when they are read).
pub(super) fn leaf(
    meta: &datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata,
    name: &str,
    kind: Kind,
) -> Option<Leaf> {
    let field = meta.schema().field_with_name(name).ok()?;
    let leaf = top_leaf(meta, name)?;
    let c = meta.metadata().file_metadata().schema_descr().column(leaf);
    let typed = match kind {
        Kind::Time => {
            *field.data_type() == DataType::Timestamp(TimeUnit::Microsecond, None)
                && c.physical_type() == PhysicalType::INT64
                && match c.logical_type_ref() {
                    Some(LogicalType::Timestamp(t)) => {
                        matches!(t.unit, datafusion::parquet::basic::TimeUnit::MICROS) && !t.is_adjusted_to_u_t_c
                    }
                    None => c.converted_type() == ConvertedType::TIMESTAMP_MICROS,
                    _ => false,
                }
        }
        Kind::Text => {
            // the scan asks Arrow for the file's text columns as dictionaries of Utf8
            matches!(field.data_type(), DataType::Dictionary(_, v) if **v == DataType::Utf8)
                && c.physical_type() == PhysicalType::BYTE_ARRAY
                && match c.logical_type_ref() {
                    Some(LogicalType::String) => true,
                    None => c.converted_type() == ConvertedType::UTF8,
                    _ => false,
                }
        }
        Kind::Flag => *field.data_type() == DataType::Boolean && c.physical_type() == PhysicalType::BOOLEAN,
    };
    (typed && c.max_rep_level() == 0 && c.max_def_level() <= 1).then_some(Leaf {
        leaf,
        kind,
        optional: c.max_def_level() == 1,
    })
}

/// One column chunk's bytes, read from the file at once, as the page reader reads them (by
/// their offsets in the file): one read per chunk, where the page reader over the file itself
/// opens a buffered read of 8 KiB per page header (no difference measured on the bench file,
/// whose chunks hold one or two pages; files of small pages have many).
pub(super) struct Chunk {
    start: u64,
    data: bytes::Bytes,
}

impl Chunk {
    /// The page reader of row group `group`'s column `leaf` of `file`.
    pub(super) fn pages(file: &FileMeta, group: usize, leaf: usize) -> Option<SerializedPageReader<Chunk>> {
        use std::io::{Read, Seek};
        let rg = file.meta.metadata().row_group(group);
        let column = rg.column(leaf);
        let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset());
        let (start, len) = (u64::try_from(start).ok()?, usize::try_from(column.compressed_size()).ok()?);
        let mut f = std::fs::File::open(&file.path).ok()?;
        f.seek(std::io::SeekFrom::Start(start)).ok()?;
        let mut data = Vec::with_capacity(len);
        if f.take(len as u64).read_to_end(&mut data).ok()? != len {
            return None;
        }
        let chunk = Chunk { start, data: data.into() };
        SerializedPageReader::new(Arc::new(chunk), column, usize::try_from(rg.num_rows()).ok()?, None).ok()
    }

    fn at(&self, start: u64) -> datafusion::parquet::errors::Result<usize> {
        start
            .checked_sub(self.start)
            .and_then(|k| usize::try_from(k).ok())
            .filter(|&k| k <= self.data.len())
            .ok_or_else(|| {
                datafusion::parquet::errors::ParquetError::General(format!("offset {start} outside the column chunk"))
            })
    }
}

impl datafusion::parquet::file::reader::Length for Chunk {
    fn len(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

impl datafusion::parquet::file::reader::ChunkReader for Chunk {
    type T = std::io::Cursor<bytes::Bytes>;

    fn get_read(&self, start: u64) -> datafusion::parquet::errors::Result<Self::T> {
        Ok(std::io::Cursor::new(self.data.slice(self.at(start)?..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> datafusion::parquet::errors::Result<bytes::Bytes> {
        let at = self.at(start)?;
        match at.checked_add(length).filter(|&end| end <= self.data.len()) {
            Some(end) => Ok(self.data.slice(at..end)),
            None => {
                Err(datafusion::parquet::errors::ParquetError::EOF(format!("{length} bytes past the column chunk")))
            }
        }
    }
}

/// One data page: its decompressed buffer, rows, where its definition levels are (RLE, bit
/// width 1; none when the column is required) and where its values start.
struct DataPage {
    page: Page,
    rows: usize,
    levels: Option<(usize, usize)>,
    values: usize,
    dictionary: bool,
    /// RLE booleans: the indices follow a 4-byte length, in 1 bit, not the width byte
    rle: bool,
    /// a PLAIN text page's values as global string ids (mapped when the page is read)
    ids: Vec<u32>,
}

/// One column chunk of one row group: its pages, read and checked, and where the reading is.
pub(super) struct Column {
    kind: Kind,
    pages: Vec<DataPage>,
    /// the dictionary's values as global string ids or µs, then the null value (read by the
    /// padding index of a null row)
    dict_ids: Vec<u32>,
    dict_times: Vec<i64>,
    /// the next page to open, and the current page's rows left, levels and values
    next: usize,
    left: usize,
    levels: Hybrid,
    values: Values,
    /// per block: each row's definition level, the valid rows' dictionary indices
    level: Vec<u32>,
    index: Vec<u32>,
    /// per block: the valid rows' PLAIN values
    scratch_ids: Vec<u32>,
    scratch_times: Vec<i64>,
    scratch_flags: Vec<u8>,
}

#[derive(Default)]
enum Values {
    #[default]
    None,
    /// dictionary indices
    Dict(Hybrid),
    /// the next PLAIN value (for a text page, of its mapped ids)
    Plain(usize),
}

/// Read row group `group`'s chunk of the column at `leaf` of `file`: None when a page is stored
/// in a way this module does not read (Arrow reads the column then, and reports whatever is
/// wrong with it). Text values are mapped to global ids here, before the row loop reads codes.
pub(super) fn read(file: &FileMeta, group: usize, leaf: Leaf, strings: &Strings) -> Option<Column> {
    let rows = usize::try_from(file.meta.metadata().row_group(group).num_rows()).ok()?;
    let mut reader = Chunk::pages(file, group, leaf.leaf)?;
    let mut col = Column {
        kind: leaf.kind,
        pages: Vec::new(),
        dict_ids: Vec::new(),
        dict_times: Vec::new(),
        next: 0,
        left: 0,
        levels: Hybrid::default(),
        values: Values::None,
        level: vec![0; super::BLOCK],
        index: vec![0; super::BLOCK + 1],
        scratch_ids: Vec::new(),
        scratch_times: Vec::new(),
        scratch_flags: Vec::new(),
    };
    let mut dictionary = false;
    let mut total = 0;
    while let Some(page) = reader.get_next_page().ok()? {
        let Layout { rows: page_rows, levels, values, encoding } = match &page {
            Page::DictionaryPage { buf, num_values, encoding, .. } => {
                if dictionary
                    || !col.pages.is_empty()
                    || !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY)
                {
                    return None;
                }
                dictionary = true;
                let n = *num_values as usize;
                match leaf.kind {
                    Kind::Text => col.dict_ids = text_values(buf, n, strings)?,
                    Kind::Time => {
                        let values = buf.get(..n.checked_mul(8)?)?;
                        col.dict_times =
                            values.chunks_exact(8).map(|v| i64::from_le_bytes(v.try_into().expect("8"))).collect();
                    }
                    Kind::Flag => return None,
                }
                continue;
            }
            page => data_page(page, leaf.optional)?,
        };
        let (dict, rle) = match encoding {
            Encoding::PLAIN => (false, false),
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY if dictionary && leaf.kind != Kind::Flag => {
                (true, false)
            }
            // booleans as RLE (version-2 pages): read as indices into [false, true]
            Encoding::RLE if leaf.kind == Kind::Flag => (true, true),
            _ => return None,
        };
        let buf = page.buffer();
        let mut ids = Vec::new();
        if leaf.kind == Kind::Text && !dict {
            // the values of the page's valid rows, mapped now
            let valid = match levels {
                None => page_rows,
                Some((a, b)) => {
                    let mut h = Hybrid::new(a, b, 1);
                    let mut level = vec![0u32; page_rows];
                    h.read(buf, &mut level).ok()?;
                    level.iter().filter(|&&l| l == 1).count()
                }
            };
            ids = text_values(buf.get(values..)?, valid, strings)?;
        }
        total += page_rows;
        col.pages.push(DataPage { page, rows: page_rows, levels, values, dictionary: dict, rle, ids });
    }
    if total != rows {
        return None;
    }
    // the null row's value, read through the padding index
    col.dict_ids.push(0);
    col.dict_times.push(NULL_TIME);
    Some(col)
}

/// `n` PLAIN BYTE_ARRAY values (4-byte length, then the bytes) as global string ids; None when
/// one is cut short or is not UTF-8.
fn text_values(mut buf: &[u8], n: usize, strings: &Strings) -> Option<Vec<u32>> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let len = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize;
        let v = std::str::from_utf8(buf.get(4..4 + len)?).ok()?;
        ids.push(strings.id(v));
        buf = &buf[4 + len..];
    }
    Some(ids)
}

impl DataPage {
    fn buf(&self) -> &[u8] {
        self.page.buffer()
    }
}

impl Column {
    /// The next `out.len()` rows as global string ids, 0 for null.
    pub(super) fn texts(&mut self, out: &mut [u32]) -> Result<()> {
        debug_assert_eq!(self.kind, Kind::Text);
        let (dict, mut scratch) = (std::mem::take(&mut self.dict_ids), std::mem::take(&mut self.scratch_ids));
        let r = self.fill(out, 0, &dict, &mut scratch, |page, _, k, vals| {
            vals.copy_from_slice(page.ids.get(k..k + vals.len())?);
            Some(())
        });
        (self.dict_ids, self.scratch_ids) = (dict, scratch);
        r
    }

    /// The next `out.len()` rows in µs, [`NULL_TIME`] for null.
    pub(super) fn times(&mut self, out: &mut [i64]) -> Result<()> {
        debug_assert_eq!(self.kind, Kind::Time);
        let (dict, mut scratch) = (std::mem::take(&mut self.dict_times), std::mem::take(&mut self.scratch_times));
        let r = self.fill(out, NULL_TIME, &dict, &mut scratch, |page, at, k, vals| {
            let bytes = page.buf().get(at + 8 * k..at + 8 * (k + vals.len()))?;
            for (v, b) in vals.iter_mut().zip(bytes.chunks_exact(8)) {
                *v = i64::from_le_bytes(b.try_into().expect("8"));
            }
            Some(())
        });
        (self.dict_times, self.scratch_times) = (dict, scratch);
        r
    }

    /// The next `out.len()` rows as 0 null, 1 false, 2 true.
    pub(super) fn flags(&mut self, out: &mut [u8]) -> Result<()> {
        debug_assert_eq!(self.kind, Kind::Flag);
        let mut scratch = std::mem::take(&mut self.scratch_flags);
        // RLE pages' indices name [false, true], then null
        let r = self.fill(out, 0, &[1, 2, 0], &mut scratch, |page, at, k, vals| {
            let bytes = page.buf().get(at..at + (k + vals.len()).div_ceil(8))?;
            for (j, v) in vals.iter_mut().enumerate() {
                *v = 1 + (bytes[(k + j) / 8] >> ((k + j) % 8) & 1);
            }
            Some(())
        });
        self.scratch_flags = scratch;
        r
    }

    /// The next `out.len()` rows: `null` for a null row, else the dictionary's value of its
    /// index (`dict`, the null value last) or its PLAIN value, the values k.. of a page read
    /// into a slice by `plain(page, values start, k, slice)` (None when the page is cut short).
    fn fill<T: Copy>(
        &mut self,
        out: &mut [T],
        null: T,
        dict: &[T],
        scratch: &mut Vec<T>,
        plain: impl Fn(&DataPage, usize, usize, &mut [T]) -> Option<()>,
    ) -> Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.left == 0 {
                self.open()?;
            }
            let take = (out.len() - done).min(self.left);
            let out = &mut out[done..done + take];
            let page = &self.pages[self.next - 1];
            let level = &mut self.level[..take];
            let valid = match page.levels {
                None => take,
                Some(_) => {
                    self.levels.read(page.buf(), level)?;
                    level.iter().map(|&l| l as usize).sum()
                }
            };
            match &mut self.values {
                Values::Dict(h) => {
                    let index = &mut self.index[..=valid];
                    h.read(page.buf(), &mut index[..valid])?;
                    // an index past the dictionary reads the null value, and fails the page
                    let size = dict.len() - 1;
                    let mut bad = false;
                    if valid == take {
                        for (o, &i) in out.iter_mut().zip(index.iter()) {
                            bad |= i as usize >= size;
                            *o = dict[(i as usize).min(size)];
                        }
                    } else {
                        // a null row reads the next valid row's index (or the padding one
                        // after the last), and takes the null value instead
                        index[valid] = size as u32;
                        let mut k = 0;
                        for (o, &l) in out.iter_mut().zip(level.iter()) {
                            let i = index[k] as usize;
                            bad |= (l == 1) & (i >= size);
                            *o = std::hint::select_unpredictable(l == 1, dict[i.min(size)], null);
                            k += l as usize;
                        }
                    }
                    if bad {
                        bail!("a dictionary index past the dictionary's {size} values");
                    }
                }
                Values::Plain(next) => {
                    scratch.resize(valid + 1, null);
                    plain(page, page.values, *next, &mut scratch[..valid])
                        .ok_or_else(|| anyhow::anyhow!("a page cut short"))?;
                    *next += valid;
                    if valid == take {
                        out.copy_from_slice(&scratch[..valid]);
                    } else {
                        scratch[valid] = null;
                        let mut k = 0;
                        for (o, &l) in out.iter_mut().zip(level.iter()) {
                            *o = std::hint::select_unpredictable(l == 1, scratch[k], null);
                            k += l as usize;
                        }
                    }
                }
                Values::None => bail!("no page open"),
            }
            self.left -= take;
            done += take;
        }
        Ok(())
    }

    /// Open the next page.
    fn open(&mut self) -> Result<()> {
        let Some(page) = self.pages.get(self.next) else { bail!("more rows asked for than the column chunk has") };
        self.next += 1;
        self.left = page.rows;
        if let Some((a, b)) = page.levels {
            self.levels = Hybrid::new(a, b, 1);
        }
        self.values = if page.rle {
            let len =
                page.buf().get(page.values..page.values + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4")));
            let Some(len) = len else { bail!("an RLE page cut short") };
            Values::Dict(Hybrid::new(page.values + 4, page.values + 4 + len as usize, 1))
        } else if page.dictionary {
            let width = *page.buf().get(page.values).unwrap_or(&0) as usize;
            if page.buf().len() <= page.values || width > 32 {
                bail!("a dictionary page's index width of {width} bits");
            }
            Values::Dict(Hybrid::new(page.values + 1, page.buf().len(), width))
        } else {
            Values::Plain(0)
        };
        Ok(())
    }
}

/// A reader of the RLE / bit-packed hybrid encoding (definition levels, dictionary indices) in
/// buf[pos..end], values of `width` bits.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Hybrid {
    pos: usize,
    end: usize,
    width: usize,
    /// values left of the current RLE run, and its value
    repeat: usize,
    value: u32,
    /// values left of the current bit-packed run, and the bit where the next starts
    packed: usize,
    bit: usize,
}

impl Hybrid {
    pub(super) fn new(pos: usize, end: usize, width: usize) -> Hybrid {
        Hybrid { pos, end, width, ..Hybrid::default() }
    }

    /// The next `out.len()` values.
    pub(super) fn read(&mut self, buf: &[u8], out: &mut [u32]) -> Result<()> {
        let buf = &buf[..self.end.min(buf.len())];
        let mut done = 0;
        while done < out.len() {
            if self.repeat > 0 {
                let t = self.repeat.min(out.len() - done);
                out[done..done + t].fill(self.value);
                self.repeat -= t;
                done += t;
            } else if self.packed > 0 {
                let t = self.packed.min(out.len() - done);
                let out = &mut out[done..done + t];
                // the values before the next group of 8 one by one, then whole groups
                let lead = (self.packed % 8).min(t);
                unpack(buf, self.bit, self.width, &mut out[..lead]);
                unpack_groups(buf, self.bit + lead * self.width, self.width, &mut out[lead..]);
                self.bit += t * self.width;
                self.packed -= t;
                done += t;
            } else {
                self.run(buf)?;
            }
        }
        Ok(())
    }

    /// Read the next run's header.
    fn run(&mut self, buf: &[u8]) -> Result<()> {
        let mut header = 0u64;
        let mut shift = 0;
        loop {
            let Some(&b) = buf.get(self.pos) else { bail!("RLE / bit-packed data cut short") };
            self.pos += 1;
            header |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                bail!("an RLE / bit-packed run header too long");
            }
        }
        let count = (header >> 1) as usize;
        if header & 1 == 1 {
            // `count` groups of 8 values: as many as the data holds (a writer may cut the
            // last group short)
            let bytes = count.saturating_mul(self.width);
            let have = (buf.len() - self.pos).min(bytes);
            self.packed = (have * 8).checked_div(self.width).map_or(count * 8, |fit| fit.min(count * 8));
            self.bit = self.pos * 8;
            self.pos += have;
        } else {
            let bytes = self.width.div_ceil(8);
            let Some(v) = buf.get(self.pos..self.pos + bytes) else { bail!("RLE / bit-packed data cut short") };
            self.value = v.iter().rev().fold(0, |a, &b| a << 8 | u32::from(b));
            if u64::from(self.value) >> self.width != 0 {
                bail!("an RLE run's value {} wider than its {} bits", self.value, self.width);
            }
            self.pos += bytes;
            self.repeat = count;
        }
        Ok(())
    }
}

/// As [`unpack`], from the start of a group of 8 values (a byte boundary): 8 values at a time
/// from one load, for the widths of dictionary indices and levels (up to 16 bits).
fn unpack_groups(buf: &[u8], bit: usize, width: usize, out: &mut [u32]) {
    let at = bit / 8;
    // the groups whose 16-byte load stays in buf (none when the values do not start on a
    // byte, as in a run cut short)
    let groups = match width {
        1..=16 if bit.is_multiple_of(8) && buf.len() >= at + 16 => {
            ((buf.len() - at - 16) / width + 1).min(out.len() / 8)
        }
        _ => 0,
    };
    let (head, tail) = out.split_at_mut(groups * 8);
    macro_rules! widths {
        ($($w:literal)*) => {
            match width {
                // definition levels and booleans: each byte's 8 values from a table
                1 => {
                    for (o, &b) in head.chunks_exact_mut(8).zip(&buf[at..]) {
                        o.copy_from_slice(&BITS[b as usize]);
                    }
                }
                $($w => groups_of::<$w>(&buf[at..], head),)*
                _ => {}
            }
        };
    }
    widths!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    unpack(buf, bit + groups * 8 * width, width, tail);
}

/// The 8 bits of each byte, lowest first.
static BITS: [[u32; 8]; 256] = {
    let mut t = [[0; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 8 {
            t[b][k] = (b >> k & 1) as u32;
            k += 1;
        }
        b += 1;
    }
    t
};

/// Groups of 8 values of W bits, each group W bytes, from `src` on (16 bytes readable from
/// each group's start).
#[inline]
fn groups_of<const W: usize>(src: &[u8], out: &mut [u32]) {
    let mask = (1u128 << W) - 1;
    for (g, o) in out.chunks_exact_mut(8).enumerate() {
        let x = u128::from_le_bytes(src[g * W..g * W + 16].try_into().expect("16"));
        for (i, o) in o.iter_mut().enumerate() {
            *o = (x >> (i * W) & mask) as u32;
        }
    }
}

/// Values of `width` bits (at most 32) packed from bit `bit` of `buf` on, lowest bits first.
#[inline]
fn unpack(buf: &[u8], bit: usize, width: usize, out: &mut [u32]) {
    let mask = (1u64 << width) - 1;
    for (k, o) in out.iter_mut().enumerate() {
        let b = bit + k * width;
        let at = b / 8;
        let word = match buf.get(at..at + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().expect("8")),
            None => {
                let mut w = [0u8; 8];
                let tail = buf.get(at..).unwrap_or(&[]);
                w[..tail.len()].copy_from_slice(tail);
                u64::from_le_bytes(w)
            }
        };
        *o = (word >> (b % 8) & mask) as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hybrid(buf: &[u8], width: usize, n: usize, step: usize) -> Result<Vec<u32>> {
        let mut h = Hybrid::new(0, buf.len(), width);
        let mut out = vec![0; n];
        for chunk in out.chunks_mut(step) {
            h.read(buf, chunk)?;
        }
        Ok(out)
    }

    #[test]
    fn hybrid_reads_runs_and_packed_groups() {
        // width 3: an RLE run of 4 fives (header 4 << 1 = 8, value 5 in one byte), then one
        // bit-packed group (header 1 << 1 | 1 = 3) of 0..8: bits 000 001 010 011 100 101 110 111,
        // lowest first: bytes 0b10001000, 0b11000110, 0b11111010
        let buf = [8, 5, 3, 0b1000_1000, 0b1100_0110, 0b1111_1010];
        let want = [5, 5, 5, 5, 0, 1, 2, 3, 4, 5, 6, 7];
        for step in [1, 3, 12] {
            assert_eq!(hybrid(&buf, 3, 12, step).unwrap(), want, "blocks of {step}");
        }
        // width 0 (a dictionary of one value): only zeros
        assert_eq!(hybrid(&[3], 0, 8, 8).unwrap(), [0; 8]);
        // width 17: an RLE run's value takes 3 bytes, little-endian
        assert_eq!(hybrid(&[4, 0x01, 0x00, 0x01], 17, 2, 2).unwrap(), [65537, 65537]);
        // a long run: header 300 << 1 = 600 = ULEB128 [0xd8, 0x04], value 0
        assert_eq!(hybrid(&[0xd8, 0x04, 0], 1, 300, 128).unwrap(), vec![0; 300]);
        // a run's value wider than the bit width (a definition level of 2 where 1 is the most)
        assert!(hybrid(&[6, 2], 1, 3, 3).is_err());
        // more values than the data holds
        assert!(hybrid(&[8, 5], 3, 5, 5).is_err());
        assert!(hybrid(&[3, 0b1000_1000], 3, 8, 8).is_err());
    }

    proptest::proptest! {
        /// Bit-packed values of any width read back as written, from any bit and any count.
        #[test]
        fn unpack_reads_what_was_packed(
            width in 0usize..=32,
            skip in 0usize..20,
            values in proptest::collection::vec(proptest::prelude::any::<u32>(), 0..70),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
            let values: Vec<u32> = values.iter().map(|v| v & mask).collect();
            let mut bits = vec![false; skip];
            for v in &values {
                bits.extend((0..width).map(|b| v >> b & 1 == 1));
            }
            let mut buf = vec![0u8; bits.len().div_ceil(8)];
            for (k, b) in bits.iter().enumerate() {
                buf[k / 8] |= u8::from(*b) << (k % 8);
            }
            let mut out = vec![0; values.len()];
            unpack(&buf, skip, width, &mut out);
            proptest::prop_assert_eq!(&out, &values);
            // from a byte boundary, 8 at a time where 16 bytes can be read
            let from = skip.div_ceil(8) * 8 - skip;
            if width > 0 && skip + from < bits.len() {
                let whole = (bits.len() - skip - from) / width;
                let mut out = vec![0; whole];
                let mut expect = Vec::new();
                for k in 0..whole {
                    expect.push((0..width).fold(0u32, |v, b| v | u32::from(bits[skip + from + k * width + b]) << b));
                }
                unpack_groups(&buf, skip + from, width, &mut out);
                proptest::prop_assert_eq!(out, expect);
            }
        }
    }
}
