//! `hotline import`: exports in, a canonical Parquet archive (year=/month=) out, nothing lost.
//!
//! Every source row ends up in exactly one place: accepted (new, or replacing an older version
//! of the same ticket), quarantined (with the file, line, column and reason), or counted as a
//! duplicate (the same ticket_id again: an identical copy, or an older version). So
//! `read = accepted + quarantined + duplicates` always holds. The archive is rebuilt in a
//! staging folder (untouched partitions hard-linked, touched ones rewritten) and swapped in
//! whole, so an interrupted import leaves it as it was.

mod convert;
pub mod mapping;
pub mod read;
mod spool;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch, sort_to_indices};
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error;
use crate::schema::{self, COLUMNS};
use convert::{Problem, Row, batch, convert};
use convert::{Resolved, ticket_id};
pub use mapping::Mapping;

/// Which version wins when a ticket_id comes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Keep {
    /// The newer export (the later file or line, and the import over the archive) replaces the row
    Last,
    /// The first version stays; later ones are counted as duplicates
    First,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub read: u64,
    pub accepted: u64,
    pub new: u64,
    pub replaced: u64,
    pub quarantined: u64,
    pub duplicates: u64,
    pub partitions_written: u64,
    pub reasons: BTreeMap<String, u64>,
}

impl Summary {
    pub fn line(&self) -> String {
        format!(
            "read {} = accepted {} (new {}, replacing {}) + quarantined {} + duplicates {}; {} partition files written",
            self.read,
            self.accepted,
            self.new,
            self.replaced,
            self.quarantined,
            self.duplicates,
            self.partitions_written
        )
    }
}

pub struct Options<'a> {
    pub files: &'a [PathBuf],
    pub mapping: &'a Mapping,
    pub archive: &'a Path,
    pub quarantine: PathBuf,
    pub keep: Keep,
    pub dry_run: bool,
}

/// A partition folder `year=YYYY/month=MM` of the archive.
fn partition(t: &NaiveDateTime) -> String {
    format!("year={}/month={:02}", t.year(), t.month())
}

/// What an import is doing, for the progress bar: the phase, and how far it is (`done` of
/// `total`; bytes of the exports while reading, rows or files after).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// A ticket id's 64-bit hash: which bucket its versions meet in, and what the archive's ids are
/// compared with before the exact comparison.
fn id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x1234_5678).hash_one(id)
}

/// The import, in four passes, each in bounded memory:
/// 1. read: every export streamed in chunks, each chunk mapped and validated in parallel; bad rows
///    streamed to the quarantine, good ones parked on disk in buckets by the hash of their ticket_id;
/// 2. match: the archive's ticket_id column read, and the archived rows whose id hashes to an
///    incoming one parked in the same buckets;
/// 3. resolve: per bucket, the versions of each ticket_id decided (`--keep`), against the archive
///    too: new, replacing, or a duplicate; the accepted rows parked per month;
/// 4. write: each touched month rewritten (its archived rows minus the replaced ones, plus the
///    accepted ones, sorted by received_at) in a staging folder, swapped in whole.
pub fn import(o: &Options, say: &dyn Fn(&str), progress: Progress) -> Result<Summary> {
    let mut s = Summary::default();
    let total_bytes: u64 = o.files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
    let parent = o.archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = o.archive.file_name().and_then(|n| n.to_str()).unwrap_or("archive");
    let work = tempfile::Builder::new()
        .prefix(&format!(".{name}.import-work-"))
        .tempdir_in(parent)
        .with_context(|| format!("making a work folder in {}", parent.display()))?;
    let _work_staged = crate::cleanup::stage(work.path());
    // about 32 MiB of export per bucket (~150,000 rows of a 12345 CSV): a bucket is what the
    // resolve pass holds (one per core); at most 256 buckets, each written in batches of at
    // least 1,024 rows
    let buckets = (total_bytes / (32 << 20)).clamp(1, 256) as usize;
    let flush = (262_144 / buckets).clamp(1024, 65_536);
    let mut incoming = spool::Spool::new(work.path().to_path_buf(), "in", flush);
    let mut quarantine = QuarantineFile::new(&o.quarantine, o.dry_run);
    let mut hashes: Vec<u64> = Vec::new();

    let mut phases: Vec<(&str, std::time::Instant)> = vec![("read", std::time::Instant::now())];
    // 1. read
    let mut bytes_before = 0u64;
    for file in o.files {
        let mut src = read::open(file, o.mapping.source.encoding.as_deref())?;
        // JSON lines name their fields row by row: their headers are checked after the file
        let headers_late = src.headers().is_none();
        if let Some(h) = src.headers() {
            check_headers(o.mapping, file, &h)?;
        }
        let kind = src.kind();
        let file_name = file.display().to_string();
        let mut rows_in_file = 0u64;
        let mut last_headers: Option<Arc<Vec<String>>> = None;
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<read::Chunk>>(2);
            scope.spawn(move || {
                loop {
                    let next = src.next_chunk();
                    let stop = !matches!(next, Ok(Some(_)));
                    if let Some(msg) = next.transpose()
                        && tx.send(msg).is_err()
                    {
                        break;
                    }
                    if stop {
                        break;
                    }
                }
            });
            let mut resolved_for: Option<(Arc<Vec<String>>, Resolved)> = None;
            for chunk in rx {
                let chunk = chunk?;
                if crate::cleanup::stopping() {
                    anyhow::bail!("stopped");
                }
                if !resolved_for.as_ref().is_some_and(|(h, _)| Arc::ptr_eq(h, &chunk.headers)) {
                    resolved_for = Some((chunk.headers.clone(), Resolved::new(o.mapping, &chunk.headers)));
                }
                let resolved = &resolved_for.as_ref().expect("resolved above").1;
                // mapped, validated and made a batch in slices, in parallel; then parked in order
                let before = s.read;
                let parts: Vec<Result<Slice>> = {
                    use rayon::prelude::*;
                    chunk
                        .records
                        .par_chunks(2048)
                        .enumerate()
                        .map(|(k, recs)| {
                            let mut good: Vec<Row> = Vec::with_capacity(recs.len());
                            let mut seqs: Vec<u64> = Vec::with_capacity(recs.len());
                            let mut bad = Vec::new();
                            for (i, rec) in recs.iter().enumerate() {
                                let at = k * 2048 + i;
                                match convert(resolved, rec) {
                                    Ok(row) => {
                                        good.push(row);
                                        seqs.push(before + at as u64 + 1);
                                    }
                                    Err(p) => bad.push((at, p)),
                                }
                            }
                            let hashes = good.iter().map(|row| id_hash(ticket_id(row))).collect();
                            let refs: Vec<&Row> = good.iter().collect();
                            Ok((spool::tag(&batch(&refs)?, seqs)?, hashes, bad))
                        })
                        .collect()
                };
                s.read += chunk.records.len() as u64;
                rows_in_file += chunk.records.len() as u64;
                let mut good = Vec::with_capacity(parts.len());
                let first_hash = hashes.len();
                for part in parts {
                    let (b, part_hashes, bad) = part?;
                    for (at, p) in bad {
                        s.quarantined += 1;
                        *s.reasons.entry(format!("{}: {}", p.column, reason_kind(&p.reason))).or_default() += 1;
                        quarantine.write(&file_name, &chunk.records[at], &chunk.headers, &p)?;
                    }
                    good.push(b);
                    hashes.extend(part_hashes);
                }
                // the chunk's good rows ordered by bucket (one copy), each bucket's run a slice
                let b = concat_batches(&spool::tagged_schema(), &good)?;
                drop(good);
                let keys: Vec<usize> = hashes[first_hash..].iter().map(|h| (h % buckets as u64) as usize).collect();
                let mut order: Vec<u32> = (0..keys.len() as u32).collect();
                order.sort_by_key(|&i| keys[i as usize]);
                let sorted = take_rows(&b, &order)?;
                drop(b);
                let mut start = 0usize;
                while start < order.len() {
                    let key = keys[order[start] as usize];
                    let mut end = start + 1;
                    while end < order.len() && keys[order[end] as usize] == key {
                        end += 1;
                    }
                    incoming.push(key, sorted.slice(start, end - start))?;
                    start = end;
                }
                progress("read", bytes_before + chunk.bytes_done, total_bytes);
                last_headers = Some(chunk.headers);
            }
            Ok(())
        })?;
        if let Some(h) = &last_headers
            && headers_late
        {
            check_headers(o.mapping, file, h)?;
        }
        bytes_before += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        say(&format!("{}: {rows_in_file} rows ({kind})", file.display()));
    }
    incoming.finish()?;
    hashes.sort_unstable();
    hashes.dedup();

    // 2. match against the archive
    phases.push(("match", std::time::Instant::now()));
    let existing: Vec<PathBuf> =
        if o.archive.exists() { crate::engine::list_parquet(o.archive).unwrap_or_default() } else { vec![] };
    let mut old = spool::Spool::new(work.path().to_path_buf(), "old", flush);
    // the archive's ids read on every core, a file each; then the files with matches, in order
    let looked = std::sync::atomic::AtomicU64::new(0);
    let all_hits: Vec<Vec<u64>> = {
        use rayon::prelude::*;
        existing
            .par_iter()
            .map(|f| {
                let hits = archived_hits(f, &hashes);
                let n = looked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress("match", n, existing.len() as u64);
                hits
            })
            .collect::<Result<_>>()?
    };
    for (fi, (f, hits)) in existing.iter().zip(all_hits).enumerate() {
        if hits.is_empty() {
            continue;
        }
        let mut offset = 0u64;
        let mut next = 0usize;
        for b in read_file(f)? {
            let b = b?;
            let n = b.num_rows() as u64;
            let mut here = Vec::new();
            while next < hits.len() && hits[next] < offset + n {
                here.push((hits[next] - offset) as u32);
                next += 1;
            }
            if !here.is_empty() {
                let b = take_rows(&schema::conform(&b)?, &here)?;
                let tags = here.iter().map(|r| ((fi as u64) << 32) | (offset + u64::from(*r)));
                let b = spool::tag(&b, tags)?;
                let ids = b.column(0).as_string::<i32>();
                for (bucket, rows) in
                    group_by((0..ids.len()).map(|i| (id_hash(ids.value(i)) % buckets as u64) as usize))
                {
                    old.push(bucket, take_rows(&b, &rows)?)?;
                }
            }
            offset += n;
        }
    }
    old.finish()?;
    drop(hashes);

    // 3. resolve, bucket by bucket
    phases.push(("resolve", std::time::Instant::now()));
    let mut months: BTreeMap<String, usize> = BTreeMap::new();
    let mut accepted = spool::Spool::new(work.path().to_path_buf(), "month", flush);
    let mut dropped: BTreeMap<usize, Vec<u64>> = BTreeMap::new(); // archive file → rows replaced
    let mut replaced_old: BTreeSet<String> = BTreeSet::new(); // partitions losing a row
    let fields: Vec<datafusion::arrow::row::SortField> = schema::file_schema()
        .fields()
        .iter()
        .map(|f| datafusion::arrow::row::SortField::new(f.data_type().clone()))
        .collect();
    let threads = rayon::current_num_threads().max(1);
    for group in (0..buckets).collect::<Vec<_>>().chunks(threads) {
        progress("resolve", group[0] as u64, buckets as u64);
        let results: Vec<Result<Resolution>> = {
            use rayon::prelude::*;
            group.par_iter().map(|b| resolve_bucket(&incoming, &old, *b, o.keep, &fields)).collect()
        };
        for r in results {
            let r = r?;
            s.duplicates += r.duplicates;
            s.new += r.new;
            s.replaced += r.replaced;
            replaced_old.extend(r.replaced_old);
            for (file, row) in r.dropped {
                dropped.entry(file).or_default().push(row);
            }
            let kept = r.kept.expect("set by resolve_bucket");
            let received = kept.column(1).as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            // the month of each row, looked up only when a time leaves the last row's month
            let mut last: Option<(i64, i64, usize)> = None;
            let by_month = group_by((0..received.len()).map(|i| {
                let us = received.value(i);
                if let Some((from, to, key)) = last
                    && us >= from
                    && us < to
                {
                    return key;
                }
                let t = micros(us);
                let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1).expect("a month's first day");
                let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
                let bound = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros();
                let n = months.len();
                let key = *months.entry(partition(&t)).or_insert(n);
                last = Some((bound(first), bound(next), key));
                key
            }));
            for (m, rows) in by_month {
                accepted.push(m, take_rows(&kept, &rows)?)?;
            }
        }
    }
    accepted.finish()?;
    s.accepted = s.new + s.replaced;
    anyhow::ensure!(
        s.read == s.accepted + s.quarantined + s.duplicates,
        "internal error: read {} rows but accounted for {}",
        s.read,
        s.accepted + s.quarantined + s.duplicates
    );

    quarantine.publish()?;
    let profile = |phases: &mut Vec<(&str, std::time::Instant)>| {
        if crate::queries::profiling() {
            phases.push(("", std::time::Instant::now()));
            let times: Vec<String> =
                phases.windows(2).map(|w| format!("{} {:.2} s", w[0].0, (w[1].1 - w[0].1).as_secs_f64())).collect();
            say(&format!("import phases: {}", times.join(", ")));
        }
    };
    if o.dry_run || s.accepted == 0 {
        profile(&mut phases);
        return Ok(s);
    }
    phases.push(("write", std::time::Instant::now()));
    // 4. write
    let touched: BTreeSet<String> = months.keys().cloned().chain(replaced_old).collect();
    s.partitions_written = touched.len() as u64;
    let mut dropped_by_path: HashMap<PathBuf, Vec<u64>> = HashMap::new();
    for (fi, mut rows) in dropped {
        rows.sort_unstable();
        dropped_by_path.insert(existing[fi].clone(), rows);
    }
    rebuild(o.archive, &existing, &touched, &months, &accepted, &dropped_by_path, progress)?;
    profile(&mut phases);
    Ok(s)
}

/// A slice of a chunk after mapping: its good rows as a tagged batch, their ids' hashes, and the
/// bad rows (index in the chunk) with their problem.
type Slice = (RecordBatch, Vec<u64>, Vec<(usize, Problem)>);

/// The row indexes of each key, keys in order of first appearance.
fn group_by(keys: impl Iterator<Item = usize>) -> Vec<(usize, Vec<u32>)> {
    let mut at: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<(usize, Vec<u32>)> = Vec::new();
    for (i, k) in keys.enumerate() {
        let slot = *at.entry(k).or_insert_with(|| {
            out.push((k, Vec::new()));
            out.len() - 1
        });
        out[slot].1.push(i as u32);
    }
    out
}

/// These rows of a batch.
fn take_rows(b: &RecordBatch, rows: &[u32]) -> Result<RecordBatch> {
    if rows.len() == b.num_rows() && rows.iter().enumerate().all(|(i, r)| i as u32 == *r) {
        return Ok(b.clone());
    }
    Ok(datafusion::arrow::compute::take_record_batch(b, &datafusion::arrow::array::UInt32Array::from(rows.to_vec()))?)
}

fn micros(us: i64) -> NaiveDateTime {
    DateTime::from_timestamp_micros(us).map(|d| d.naive_utc()).unwrap_or_default()
}

/// What one bucket's ticket ids come to: the counts, the archived rows replaced (file, row) and
/// the months losing them, and the rows accepted.
#[derive(Default)]
struct Resolution {
    duplicates: u64,
    new: u64,
    replaced: u64,
    dropped: Vec<(usize, u64)>,
    replaced_old: Vec<String>,
    kept: Option<RecordBatch>,
}

/// The versions of each ticket_id of a bucket decided (`--keep`), against the archive too.
fn resolve_bucket(
    incoming: &spool::Spool,
    old: &spool::Spool,
    b: usize,
    keep_which: Keep,
    fields: &[datafusion::arrow::row::SortField],
) -> Result<Resolution> {
    let inc = incoming.read(b)?;
    let mut r = Resolution::default();
    let ids = inc.column(0).as_string::<i32>();
    // ticket_id → the row that stays (`--keep`)
    let mut chosen: HashMap<&str, u32> = HashMap::with_capacity(ids.len());
    for i in 0..ids.len() {
        match chosen.entry(ids.value(i)) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                r.duplicates += 1;
                if keep_which == Keep::Last {
                    e.insert(i as u32);
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i as u32);
            }
        }
    }
    let olds = old.read(b)?;
    let old_ids = olds.column(0).as_string::<i32>();
    let mut archived: HashMap<&str, Vec<u32>> = HashMap::new();
    for j in 0..old_ids.len() {
        archived.entry(old_ids.value(j)).or_default().push(j as u32);
    }
    // rows compared whole, in Arrow's row format
    let (inc_rows, old_rows) = if archived.is_empty() {
        (None, None)
    } else {
        let conv = datafusion::arrow::row::RowConverter::new(fields.to_vec())?;
        let n = fields.len();
        (Some(conv.convert_columns(&inc.columns()[..n])?), Some(conv.convert_columns(&olds.columns()[..n])?))
    };
    let old_received = olds.column(1).as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
    let old_tags = olds.column(olds.num_columns() - 1).as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
    let mut keep: Vec<u32> = Vec::with_capacity(chosen.len());
    for (id, i) in chosen {
        match archived.get(id) {
            Some(versions) => {
                // the last archived version is the one compared (as the archive is read, in order)
                let last = *versions.last().expect("at least one version") as usize;
                let same = inc_rows.as_ref().expect("made with the archived rows").row(i as usize)
                    == old_rows.as_ref().expect("made with the archived rows").row(last);
                if same || keep_which == Keep::First {
                    r.duplicates += 1;
                } else {
                    r.replaced += 1;
                    for &j in versions {
                        r.replaced_old.push(partition(&micros(old_received.value(j as usize))));
                        let tag = old_tags.value(j as usize);
                        r.dropped.push(((tag >> 32) as usize, tag & 0xFFFF_FFFF));
                    }
                    keep.push(i);
                }
            }
            None => {
                r.new += 1;
                keep.push(i);
            }
        }
    }
    keep.sort_unstable();
    r.kept = Some(take_rows(&inc, &keep)?);
    Ok(r)
}

/// Every mapped header must exist in the file (a required column's missing header is an error).
fn check_headers(m: &Mapping, file: &Path, headers: &[String]) -> Result<()> {
    let sources = m.columns.iter().chain(m.extract.iter().map(|(c, x)| (c, &x.from)));
    for (canon, header) in sources {
        if !headers.iter().any(|h| h == header) {
            let close = headers
                .iter()
                .min_by_key(|h| crate::schema::edit_distance(h, header))
                .map(|h| format!("; the closest header is `{h}`"))
                .unwrap_or_default();
            let required = COLUMNS.iter().any(|c| c.name == canon && !c.nullable);
            if required {
                return Err(error::data(format!(
                    "{}: no column `{header}` (mapped to {canon} by {}){close}",
                    file.display(),
                    m.name
                ))
                .hint("choose the mapping that matches the export (--mapping), or write one (docs/importing.md)")
                .into());
            }
        }
    }
    Ok(())
}

/// The rows (in file order) of an archive file whose ticket_id hashes to one of `hashes`
/// (sorted): only the ticket_id column is read.
fn archived_hits(path: &Path, hashes: &[u64]) -> Result<Vec<u64>> {
    use datafusion::parquet::arrow::ProjectionMask;
    use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
    let mut out = Vec::new();
    if hashes.is_empty() {
        return Ok(out);
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        f,
        ArrowReaderOptions::new().with_skip_arrow_metadata(true),
    )
    .map_err(|e| error::data(format!("{}: not a readable Parquet file: {e}", path.display())))?;
    let Some(col) = builder.parquet_schema().columns().iter().position(|c| c.name() == "ticket_id") else {
        return Err(error::data(format!("{}: the archive file has no ticket_id column", path.display())).into());
    };
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [col]);
    let mut row = 0u64;
    for b in builder.with_projection(mask).with_batch_size(65_536).build()? {
        let b = b?;
        let ids = cast(b.column(0), &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
        for i in 0..ids.len() {
            if !ids.is_null(i) && hashes.binary_search(&id_hash(ids.value(i))).is_ok() {
                out.push(row + i as u64);
            }
        }
        row += ids.len() as u64;
    }
    Ok(out)
}

/// The kind of a reason, without the row's own values, for the summary's counts.
fn reason_kind(reason: &str) -> String {
    let cut = reason.find('`').map(|i| &reason[..i]).unwrap_or(reason);
    let cut = cut.split(" (formats").next().unwrap_or(cut);
    let cut = cut.split(';').next().unwrap_or(cut);
    // "closed_at 2025-01-02 … is before" → "is before received_at"
    if let Some(i) = reason.find(" is before ") {
        let what = reason[i + 11..].split(' ').next().unwrap_or("");
        return format!("before {what}");
    }
    cut.trim().to_string()
}

/// An archive file's batches, read one at a time.
fn read_file(path: &Path) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let options = datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(f, options)?.build()?;
    Ok(reader.map(|b| b.map_err(anyhow::Error::from)))
}

/// Rebuild the archive in a staging folder beside it (untouched files hard-linked, touched
/// partitions rewritten with the old rows minus replaced ones plus the new rows, sorted by
/// received_at) and swap it in. One month is in memory at a time.
fn rebuild(
    archive: &Path,
    existing: &[PathBuf],
    touched: &BTreeSet<String>,
    months: &BTreeMap<String, usize>,
    accepted: &spool::Spool,
    dropped: &HashMap<PathBuf, Vec<u64>>,
    progress: Progress,
) -> Result<()> {
    let parent = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or("archive");
    let staging = tempfile::Builder::new().prefix(&format!(".{name}.import-")).tempdir_in(parent)?;
    let _staged = crate::cleanup::stage(staging.path());
    let mut old_in: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in existing {
        let rel = f.strip_prefix(archive).unwrap_or(f);
        let part = rel.parent().map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        if !part.starts_with("year=") || !part.contains("/month=") {
            return Err(error::data(format!(
                "{}: the archive has files outside year=YYYY/month=MM folders ({})",
                archive.display(),
                rel.display()
            ))
            .hint(
                "import appends to archives in hotline's layout; import into a new folder and point --archive at both",
            )
            .into());
        }
        if touched.contains(&part) {
            old_in.entry(part).or_default().push(f.clone());
        } else {
            let dest = staging.path().join(rel);
            std::fs::create_dir_all(dest.parent().expect("file in a folder"))?;
            if std::fs::hard_link(f, &dest).is_err() {
                std::fs::copy(f, &dest).with_context(|| format!("copying {}", f.display()))?;
            }
        }
    }
    // the months written two (or as many as there are cores) at a time
    let done = std::sync::atomic::AtomicU64::new(0);
    let write_month = |part: &String| -> Result<()> {
        let mut batches = Vec::new();
        for f in old_in.get(part).into_iter().flatten() {
            let gone = dropped.get(f).map(Vec::as_slice).unwrap_or(&[]);
            let mut offset = 0u64;
            for b in read_file(f)? {
                let b = crate::schema::conform(&b?)?;
                let n = b.num_rows() as u64;
                let keep: Vec<bool> = (offset..offset + n).map(|r| gone.binary_search(&r).is_err()).collect();
                offset += n;
                batches.push(filter_record_batch(&b, &BooleanArray::from(keep))?);
            }
        }
        batches.retain(|b| b.num_rows() > 0);
        let old_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let old_batches = batches.len();
        // the new rows, in ticket_id order as they always were: the order is found on the ids
        // alone, and the rows are only taken when written
        let mut id_order: Vec<u32> = Vec::new();
        let mut new_times: Option<ArrayRef> = None;
        if let Some(key) = months.get(part) {
            let project: Vec<usize> = (0..COLUMNS.len()).collect();
            let new: Vec<RecordBatch> =
                accepted.read_batches(*key)?.iter().map(|b| b.project(&project)).collect::<Result<_, _>>()?;
            let column = |i: usize| -> Result<ArrayRef> {
                let parts: Vec<&dyn Array> = new.iter().map(|b| b.column(i).as_ref()).collect();
                Ok(datafusion::arrow::compute::concat(&parts)?)
            };
            if !new.is_empty() {
                let order = sort_to_indices(&column(0)?, None, None)?;
                new_times = Some(datafusion::arrow::compute::take(&column(1)?, &order, None)?);
                id_order = order.values().to_vec();
            }
            batches.extend(new.into_iter().filter(|b| b.num_rows() > 0));
        }
        let total = old_rows + id_order.len();
        if total == 0 {
            return Ok(());
        }
        // sorted by received_at: the order found on the times alone (of the archived rows, then
        // the new ones in ticket_id order), the rows taken in slices
        let mut times: Vec<&dyn Array> = batches[..old_batches].iter().map(|b| b.column(1).as_ref()).collect();
        if let Some(t) = &new_times {
            times.push(t.as_ref());
        }
        let order = sort_to_indices(&datafusion::arrow::compute::concat(&times)?, None, None)?;
        let mut starts = Vec::with_capacity(batches.len());
        let mut at = 0usize;
        for b in &batches {
            starts.push(at);
            at += b.num_rows();
        }
        // a position in the sorted order → (batch, row)
        let locate = |g: usize| -> (usize, usize) {
            let g = if g < old_rows { g } else { old_rows + id_order[g - old_rows] as usize };
            let b = starts.partition_point(|s| *s <= g) - 1;
            (b, g - starts[b])
        };
        let dir = staging.path().join(part);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("part-0.parquet");
        let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = ArrowWriter::try_new(file, schema::file_schema(), Some(schema::archive_writer_properties()))?;
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        for slice in order.values().chunks(1 << 16) {
            let pairs: Vec<(usize, usize)> = slice.iter().map(|&g| locate(g as usize)).collect();
            w.write(&datafusion::arrow::compute::interleave_record_batch(&refs, &pairs)?)?;
        }
        w.close()?;
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress("write", n, touched.len() as u64);
        Ok(())
    };
    {
        use rayon::prelude::*;
        touched.par_iter().try_for_each(write_month)?;
    }
    // the archive's manifest (every file, the untouched ones too), swapped in with the files
    if crate::engine::list_parquet(staging.path()).is_ok() {
        crate::manifest::record(staging.path())?;
    }
    progress("swap", 1, 1);
    crate::generate::replace_dir(staging.keep(), archive)
}

/// The quarantine CSV, written as rows fail and moved into place at the end (never in a dry
/// run, and only when a row failed).
struct QuarantineFile {
    path: PathBuf,
    tmp: PathBuf,
    off: bool,
    w: Option<(csv::Writer<std::io::BufWriter<std::fs::File>>, crate::cleanup::Staged)>,
}

impl QuarantineFile {
    fn new(path: &Path, dry_run: bool) -> QuarantineFile {
        QuarantineFile { path: path.to_path_buf(), tmp: path.with_extension("csv.tmp"), off: dry_run, w: None }
    }

    fn write(&mut self, file: &str, rec: &read::Record, headers: &[String], p: &Problem) -> Result<()> {
        if self.off {
            return Ok(());
        }
        if self.w.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let staged = crate::cleanup::stage(&self.tmp);
            let f = std::fs::File::create(&self.tmp).with_context(|| format!("writing {}", self.tmp.display()))?;
            let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
            w.write_record(["source_file", "line", "column", "reason", "record"])?;
            self.w = Some((w, staged));
        }
        let record: BTreeMap<&String, std::borrow::Cow<'_, str>> = headers.iter().zip(rec.texts()).collect();
        let (w, _) = self.w.as_mut().expect("opened above");
        w.write_record([file, &rec.line.to_string(), &p.column, &p.reason, &serde_json::to_string(&record)?])?;
        Ok(())
    }

    fn publish(&mut self) -> Result<()> {
        if let Some((mut w, _staged)) = self.w.take() {
            w.flush()?;
            drop(w);
            crate::cleanup::publish(|| {
                std::fs::rename(&self.tmp, &self.path)
                    .with_context(|| format!("moving {} into place", self.path.display()))
            })?;
        }
        Ok(())
    }
}
