//! The ticket_ids of a row group read straight from its Parquet pages, when every page stores
//! them PLAIN (as DuckDB and most writers store unique text): each row's value is found in place
//! in the decompressed page, where Arrow would build a view per row. Any other layout (a
//! dictionary page, another encoding, a nested column, text that is not UTF-8) is left to Arrow:
//! [`IdPages::read`] says so and the scan reads the column as before.

use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::basic::{Encoding, Type as PhysicalType};
use datafusion::parquet::column::page::{Page, PageReader};

use super::FileMeta;

/// One row group's ticket_ids: each data page with where its values start, the first row of
/// each, and per row where its value (4-byte length, then the bytes) starts in its page's values
/// and whether it has one. The vectors are reused from row group to row group.
#[derive(Default)]
pub(super) struct IdPages {
    pages: Vec<(Page, usize)>,
    first: Vec<usize>,
    starts: Vec<u32>,
    valid: Vec<bool>,
}

impl IdPages {
    /// These ids (for tests), on two pages.
    #[cfg(test)]
    pub(super) fn of(values: &[Option<&str>]) -> IdPages {
        let mut p = IdPages::default();
        let half = values.len() / 2;
        for (first, part) in [(0, &values[..half]), (half, &values[half..])] {
            let mut page = Vec::new();
            for v in part {
                p.starts.push(page.len() as u32);
                p.valid.push(v.is_some());
                if let Some(v) = v {
                    page.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    page.extend_from_slice(v.as_bytes());
                }
            }
            let page = Page::DataPage {
                buf: page.into(),
                num_values: part.len() as u32,
                encoding: Encoding::PLAIN,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            p.pages.push((page, 0));
            p.first.push(first);
        }
        p
    }

    pub(super) fn rows(&self) -> usize {
        self.valid.len()
    }

    pub(super) fn is_null(&self, row: usize) -> bool {
        !self.valid[row]
    }

    /// Row `row`'s ticket_id (None when null).
    pub(super) fn get(&self, row: usize) -> Option<&[u8]> {
        if !self.valid[row] {
            return None;
        }
        let page = if self.pages.len() == 1 { 0 } else { self.first.partition_point(|&f| f <= row) - 1 };
        let (page, values) = &self.pages[page];
        let (page, start) = (&page.buffer()[*values..], self.starts[row] as usize);
        let len = u32::from_le_bytes([page[start], page[start + 1], page[start + 2], page[start + 3]]) as usize;
        Some(&page[start + 4..start + 4 + len])
    }

    /// Calls `f` with the value of each of `rows` (increasing) that has one, in order: a walk
    /// through the pages, where [`get`](Self::get) searches for each row's page.
    pub(super) fn each<'s>(&'s self, rows: impl Iterator<Item = usize>, mut f: impl FnMut(&'s [u8])) {
        let values: Vec<&[u8]> = self.pages.iter().map(|(page, at)| &page.buffer()[*at..]).collect();
        let mut page = 0;
        for row in rows {
            if !self.valid[row] {
                continue;
            }
            while self.first.get(page + 1).is_some_and(|&f| f <= row) {
                page += 1;
            }
            let (page, start) = (values[page], self.starts[row] as usize);
            let len = u32::from_le_bytes([page[start], page[start + 1], page[start + 2], page[start + 3]]) as usize;
            f(&page[start + 4..start + 4 + len]);
        }
    }

    /// Read row group `group`'s ticket_ids of `file` into self; false (and self empty) when
    /// they are not stored in a way this reads, or the file has no ticket_id: then Arrow reads
    /// them (and reports whatever is wrong with them).
    pub(super) fn read(&mut self, file: &FileMeta, group: usize) -> bool {
        let ok = self.try_read(file, group).is_some();
        if !ok {
            self.clear();
        }
        ok
    }

    fn clear(&mut self) {
        self.pages.clear();
        self.first.clear();
        self.starts.clear();
        self.valid.clear();
    }

    fn try_read(&mut self, file: &FileMeta, group: usize) -> Option<()> {
        self.clear();
        let leaf = file.id_leaf?;
        let md = file.meta.metadata();
        let rg = md.row_group(group);
        let column = rg.column(leaf);
        let descr = column.column_descr();
        if descr.physical_type() != PhysicalType::BYTE_ARRAY
            || descr.max_rep_level() != 0
            || descr.max_def_level() > 1
            || column.dictionary_page_offset().is_some()
        {
            return None;
        }
        let optional = descr.max_def_level() == 1;
        let rows = usize::try_from(rg.num_rows()).ok()?;
        let mut pages = super::pages::Chunk::pages(file, group, leaf)?;
        self.starts.reserve(rows);
        self.valid.reserve(rows);
        let mut ascii = true;
        let mut levels = Vec::new();
        while let Some(page) = pages.get_next_page().ok()? {
            // the page's values, and its definition levels when the column may be null
            let super::pages::Layout { rows: n, levels: level_bytes, values: offset, encoding } =
                super::pages::data_page(&page, optional)?;
            if encoding != Encoding::PLAIN {
                return None;
            }
            let first = self.valid.len();
            match level_bytes {
                Some((a, b)) => {
                    levels.resize(n, 0);
                    super::pages::Hybrid::new(a, b, 1).read(page.buffer(), &mut levels).ok()?;
                    self.valid.extend(levels.iter().map(|&l| l == 1));
                }
                None => self.valid.resize(first + n, true),
            }
            // each value's start, its length checked against the page
            let values = page.buffer().get(offset..)?;
            let end = u32::try_from(values.len()).ok()?;
            let mut at = 0u32;
            for k in first..self.valid.len() {
                self.starts.push(at);
                if self.valid[k] {
                    let s = at as usize;
                    let len = u32::from_le_bytes(values.get(s..s + 4)?.try_into().ok()?);
                    at = at.checked_add(4)?.checked_add(len).filter(|&a| a <= end)?;
                }
            }
            ascii &= values.is_ascii();
            self.first.push(first);
            self.pages.push((page, offset));
        }
        // whole rows, and text Arrow would read (it checks the same; all ASCII is UTF-8)
        if self.valid.len() != rows {
            return None;
        }
        if !ascii && (0..rows).any(|r| self.get(r).is_some_and(|v| std::str::from_utf8(v).is_err())) {
            return None;
        }
        Some(())
    }
}

/// The leaf column of a file's top-level text ticket_id the page reader can read (see
/// [`IdPages::read`]), if any.
pub(super) fn id_leaf(meta: &datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata) -> Option<usize> {
    let field = meta.schema().field_with_name("ticket_id").ok()?;
    if *field.data_type() != DataType::Utf8View {
        return None;
    }
    super::pages::top_leaf(meta, "ticket_id")
}
