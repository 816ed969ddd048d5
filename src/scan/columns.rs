//! The columns of one batch as the row loop reads them: text as global string ids, times as
//! µs, flags as 0/1/2, and the ticket ids and their hashes.

use super::*;

/// A text column of one batch: its dictionary keys, which rows are valid, and the global
/// string id of each dictionary value. Read in place: no per-row copy is made.
pub(super) struct Text {
    pub(super) keys: ScalarBuffer<i32>,
    pub(super) valid: Option<BooleanBuffer>,
    pub(super) map: Arc<[u32]>,
}

impl Text {
    pub(super) fn new(shared: &Shared, acc: &mut Acc, batch: &RecordBatch, name: &str) -> Result<Text> {
        let n = batch.num_rows();
        let Some(col) = batch.column_by_name(name) else {
            return Ok(Text { keys: ScalarBuffer::from(vec![0; n]), valid: None, map: Arc::from([0u32]) });
        };
        let col = match col.data_type() {
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => col.clone(),
            _ => cast(col, &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)))?,
        };
        let dict = col.as_dictionary::<Int32Type>();
        // the reader hands out one dictionary per column chunk to all its batches: map its
        // values once (the cache holds the dictionary, so its address is not reused meanwhile)
        let values = dict.values();
        let key = Arc::as_ptr(values) as *const u8 as usize;
        let map = match acc.dictionaries.get(&key) {
            Some((_, map)) => map.clone(),
            None => {
                let v = values.as_string::<i32>();
                let map: Arc<[u32]> =
                    (0..v.len()).map(|i| if v.is_null(i) { 0 } else { shared.strings.id(v.value(i)) }).collect();
                acc.dictionaries.insert(key, (values.clone(), map.clone()));
                map
            }
        };
        let keys = dict.keys();
        let valid = keys.nulls().filter(|nulls| nulls.null_count() > 0).map(|nulls| nulls.inner().clone());
        Ok(Text { keys: keys.values().clone(), valid, map })
    }
}

/// A text column's slices for the per-row loop.
#[derive(Clone, Copy)]
pub(super) struct TextRef<'a> {
    pub(super) keys: &'a [i32],
    pub(super) valid: Option<&'a BooleanBuffer>,
    pub(super) map: &'a [u32],
}

impl<'a> TextRef<'a> {
    pub(super) fn of(t: &'a Text) -> TextRef<'a> {
        TextRef { keys: &t.keys, valid: t.valid.as_ref(), map: &t.map }
    }
    /// The global string ids (0 = null) of rows base.. into `out`, returned as a slice of m.
    pub(super) fn block<'b>(&self, base: usize, m: usize, out: &'b mut [u32]) -> &'b [u32] {
        let out = &mut out[..m];
        let keys = &self.keys[base..base + m];
        // a null row's key may be anything (an all-null column has no dictionary values)
        let global = |k: i32| self.map.get(k as usize).copied().unwrap_or(0);
        match self.valid {
            None => {
                for (o, &k) in out.iter_mut().zip(keys) {
                    *o = global(k);
                }
            }
            Some(v) => {
                for (a, b, word) in words(v, base, m) {
                    for (t, (o, &k)) in out[a..b].iter_mut().zip(&keys[a..b]).enumerate() {
                        *o = global(k) * (word >> t & 1) as u32;
                    }
                }
            }
        }
        out
    }
}

/// A timestamp column of one batch in µs, read in place ([`NULL_TIME`] for null).
pub(super) struct Time {
    pub(super) values: ScalarBuffer<i64>,
    pub(super) valid: Option<BooleanBuffer>,
}

impl Time {
    pub(super) fn new(batch: &RecordBatch, name: &str) -> Result<Time> {
        Ok(match times(batch, name)? {
            None => Time { values: ScalarBuffer::from(vec![NULL_TIME; batch.num_rows()]), valid: None },
            Some(a) => Time {
                valid: a.nulls().filter(|nulls| nulls.null_count() > 0).map(|nulls| nulls.inner().clone()),
                values: a.values().clone(),
            },
        })
    }
}

#[derive(Clone, Copy)]
pub(super) struct TimeRef<'a> {
    pub(super) values: &'a [i64],
    pub(super) valid: Option<&'a BooleanBuffer>,
}

impl<'a> TimeRef<'a> {
    pub(super) fn of(t: &'a Time) -> TimeRef<'a> {
        TimeRef { values: &t.values, valid: t.valid.as_ref() }
    }
    /// Rows base..base + m in µs, [`NULL_TIME`] for null: the values in place when none is
    /// null, else written into `out`.
    pub(super) fn block<'b>(&self, base: usize, m: usize, out: &'b mut [i64]) -> &'b [i64]
    where
        'a: 'b,
    {
        let values = &self.values[base..base + m];
        let Some(valid) = self.valid else { return values };
        let out = &mut out[..m];
        for (a, b, word) in words(valid, base, m) {
            for (t, (o, &v)) in out[a..b].iter_mut().zip(&values[a..b]).enumerate() {
                *o = if word >> t & 1 == 1 { v } else { NULL_TIME };
            }
        }
        out
    }
}

/// A boolean column of one batch, read in place: 0 null (or no such column), 1 false, 2 true.
pub(super) struct Flag {
    pub(super) values: BooleanBuffer,
    pub(super) valid: BooleanBuffer,
}

impl Flag {
    pub(super) fn new(batch: &RecordBatch, name: &str) -> Result<Flag> {
        let n = batch.num_rows();
        let Some(col) = batch.column_by_name(name) else {
            return Ok(Flag { values: BooleanBuffer::new_unset(n), valid: BooleanBuffer::new_unset(n) });
        };
        let col = cast(col, &DataType::Boolean)?;
        let b = col.as_boolean();
        Ok(Flag {
            valid: b.nulls().map_or_else(|| BooleanBuffer::new_set(n), |nulls| nulls.inner().clone()),
            values: b.values().clone(),
        })
    }
    /// Rows base..base + m into `out`, returned as a slice of m.
    pub(super) fn block<'b>(&self, base: usize, m: usize, out: &'b mut [u8]) -> &'b [u8] {
        let out = &mut out[..m];
        for ((a, b, valid), (_, _, value)) in words(&self.valid, base, m).zip(words(&self.values, base, m)) {
            for (t, o) in out[a..b].iter_mut().enumerate() {
                *o = (valid >> t & 1) as u8 * (1 + (value >> t & 1) as u8);
            }
        }
        out
    }
}

/// The bits of rows base..base + m of `bits`, 64 at a time: (from, to, word), rows from − base
/// to to − base, row from's bit the lowest (the last word partial).
pub(super) fn words(bits: &BooleanBuffer, base: usize, m: usize) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
    let chunks = bits.inner().bit_chunks(bits.offset() + base, m);
    let last = chunks.remainder_bits();
    chunks.iter().chain(std::iter::once(last)).enumerate().map(move |(w, word)| {
        let a = (w * 64).min(m);
        (a, (a + 64).min(m), word)
    })
}

/// A timestamp column in µs (None when absent).
pub(super) fn times(batch: &RecordBatch, name: &str) -> Result<Option<TimestampMicrosecondArray>> {
    let Some(col) = batch.column_by_name(name) else { return Ok(None) };
    let col = cast(col, &schema::TIMESTAMP)?;
    Ok(Some(col.as_primitive::<TimestampMicrosecondType>().clone()))
}

/// Marks a null time in [`TimeRef::at`] and [`plain_times`].
pub(super) const NULL_TIME: i64 = i64::MIN;

/// A timestamp column in µs as plain values, [`NULL_TIME`] for null (all null when absent).
pub(super) fn plain_times(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    Ok(match times(batch, name)? {
        None => vec![NULL_TIME; batch.num_rows()],
        Some(a) if a.null_count() == 0 => a.values().to_vec(),
        Some(a) => a.iter().map(|v| v.unwrap_or(NULL_TIME)).collect(),
    })
}

/// The ticket_id column as string views (None when the file has none).
pub(super) fn id_column(batch: &RecordBatch) -> Result<Option<StringViewArray>> {
    let Some(col) = batch.column_by_name("ticket_id") else { return Ok(None) };
    Ok(Some(match col.data_type() {
        DataType::Utf8View => col.as_string_view().clone(),
        _ => cast(col, &DataType::Utf8View)?.as_string_view().clone(),
    }))
}

/// The ticket_ids of one batch: none (no such column), or the batch's column.
pub(super) enum Ids {
    Absent,
    Column(StringViewArray),
}

impl Ids {
    pub(super) fn of(batch: &RecordBatch) -> Result<Ids> {
        Ok(id_column(batch)?.map_or(Ids::Absent, Ids::Column))
    }

    /// Whether each of rows base..base + m is null, into `out`, returned as a slice of m.
    pub(super) fn nulls<'b>(&self, base: usize, m: usize, out: &'b mut [bool]) -> &'b [bool] {
        let out = &mut out[..m];
        match self {
            Ids::Absent => out.fill(true),
            Ids::Column(c) => match c.nulls().filter(|n| n.null_count() > 0) {
                None => out.fill(false),
                Some(n) => {
                    for (a, b, word) in words(n.inner(), base, m) {
                        for (t, o) in out[a..b].iter_mut().enumerate() {
                            *o = word >> t & 1 == 0;
                        }
                    }
                }
            },
        }
        out
    }

    /// Calls `f` with the id of each of `rows` (increasing) that has one, in order.
    pub(super) fn each<'s>(&'s self, rows: impl Iterator<Item = usize>, mut f: impl FnMut(&'s [u8])) {
        match self {
            Ids::Absent => {}
            Ids::Column(c) => rows.filter(|&i| c.is_valid(i)).for_each(|i| f(c.value(i).as_bytes())),
        }
    }

    /// Row i's id as text.
    pub(super) fn text(&self, i: usize) -> Option<&str> {
        match self {
            Ids::Absent => None,
            Ids::Column(c) => c.is_valid(i).then(|| c.value(i)),
        }
    }

    /// The ids of `rows` (of the batch) as a column.
    pub(super) fn column(&self, rows: impl Iterator<Item = usize>) -> ArrayRef {
        Arc::new(rows.map(|i| self.text(i)).collect::<StringViewArray>())
    }
}

/// Each row's ticket_id hashed (None for a null id, or no such column), as [`hashes_of`] hashes
/// them: the suspects and the second read match their rows against the repeated hashes.
pub(super) fn id_hashes(batch: &RecordBatch, hasher: &impl std::hash::BuildHasher) -> Result<Vec<Option<u64>>> {
    let ids = Ids::of(batch)?;
    Ok((0..batch.num_rows()).map(|i| ids.text(i).map(|s| hasher.hash_one(s))).collect())
}

/// Where a batch was read: (file, row group, batch within the row group).
pub(super) type BatchAt = (usize, usize, usize);

/// The ticket_ids of one batch's checked window: their range, and their hashes unless they come
/// strictly increasing. Such a batch holds no id twice, and when no other batch's range overlaps
/// its range, none of its ids repeats anywhere: its ids are never hashed. When another range
/// does overlap it, the batch is read again for its hashes (see [`to_search`]).
pub(super) struct IdChunk {
    pub(super) at: BatchAt,
    /// None: not hashed (the ids come strictly increasing)
    pub(super) hashes: Option<Vec<u64>>,
    /// (smallest, largest) id; None when there is none
    pub(super) range: Option<(String, String)>,
}

impl IdChunk {
    pub(super) fn new<I: Iterator<Item = usize>>(
        at: BatchAt,
        ids: &Ids,
        rows: impl Fn() -> I,
        hasher: &impl std::hash::BuildHasher,
    ) -> IdChunk {
        let mut chunk = IdChunk { at, hashes: None, range: None };
        let (mut lo, mut hi): (Option<&[u8]>, Option<&[u8]>) = (None, None);
        let mut increasing = true;
        ids.each(rows(), |v| match hi {
            Some(h) if !less(h, v) => {
                increasing = false;
                if lo.is_some_and(|l| less(v, l)) {
                    lo = Some(v);
                }
            }
            _ => {
                if lo.is_none() {
                    lo = Some(v);
                }
                hi = Some(v);
            }
        });
        // (the bytes of UTF-8 text: their order is the text's)
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        chunk.range = lo.zip(hi).map(|(a, b)| (text(a), text(b)));
        if !increasing {
            chunk.hashes = Some(hashes_of(ids, rows(), hasher));
        }
        chunk
    }
}

/// Whether `a` sorts before `b` (as `a < b`), 8 bytes at a time: inline, where the slices'
/// comparison calls memcmp, which costs more than comparing ids of a dozen bytes.
#[inline]
pub(super) fn less(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| u64::from_be_bytes(s[at..at + 8].try_into().expect("8"));
    if a.len() == b.len() && a.len() >= 8 {
        // ids of one length: 8 bytes at a time, the last 8 overlapping those before (equal)
        let n = a.len();
        let mut at = 0;
        while at + 8 < n {
            let (u, v) = (word(a, at), word(b, at));
            if u != v {
                return u < v;
            }
            at += 8;
        }
        return word(a, n - 8) < word(b, n - 8);
    }
    let (mut x, mut y) = (a, b);
    while x.len() >= 8 && y.len() >= 8 {
        let (u, v) = (word(x, 0), word(y, 0));
        if u != v {
            return u < v;
        }
        (x, y) = (&x[8..], &y[8..]);
    }
    for (u, v) in x.iter().zip(y) {
        if u != v {
            return u < v;
        }
    }
    x.len() < y.len()
}

/// The hashes of the non-null ids of `rows`.
pub(super) fn hashes_of(
    ids: &Ids,
    rows: impl Iterator<Item = usize>,
    hasher: &impl std::hash::BuildHasher,
) -> Vec<u64> {
    let mut out = Vec::new();
    ids.each(rows, |v| {
        if let Ok(v) = std::str::from_utf8(v) {
            out.push(hasher.hash_one(v));
        }
    });
    out
}

/// Marks a row outside the scanned months in the per-row month index.
pub(super) const SKIP: u16 = u16::MAX;

/// ticket_facts.sql's counters of one ticket, by its pattern (see [`fact_pattern`]).
pub(super) static FACTS: std::sync::LazyLock<[[C; F]; 74]> = std::sync::LazyLock::new(|| {
    let mut t = [[0; F]; 74];
    t[0][TICKETS] = 1;
    t[1][TICKETS] = 1;
    t[1][DISPATCHED] = 1;
    for resp in 0..3 {
        for closed in 0..2 {
            for res in 0..3 {
                for sat in 0..4 {
                    let f = &mut t[fact_pattern(true, true, resp, closed == 1, res, sat) as usize];
                    f[TICKETS] = 1;
                    f[DISPATCHED] = 1;
                    f[SCORED] = 1;
                    f[RESPONDED_KNOWN] = C::from(resp > 0);
                    f[RESPONDED_ON_TIME] = C::from(resp == 2);
                    f[CLOSED_ON_TIME] = C::from(closed == 1);
                    f[RESOLVED_ANSWERED] = C::from(res > 0);
                    f[RESOLVED_YES] = C::from(res == 2);
                    if sat > 0 {
                        f[SATISFIED + sat as usize - 1] = 1;
                    }
                }
            }
        }
    }
    t
});
