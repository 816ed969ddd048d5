//! Reading: the archive files, the row groups a scan needs and the readers of their columns.

use super::*;

/// Columns the scan reads, and which are read as dictionaries.
pub(super) const READ: &[&str] = &[
    "ticket_id",
    "received_at",
    "channel",
    "request_type",
    "category_l1",
    "category_l2",
    "category_l3",
    "urgency",
    "district",
    "street",
    "department",
    "dispatched_at",
    "responded_at",
    "closed_at",
    "due_at",
    "resolved",
    "satisfaction",
    "excluded_reason",
];

pub(super) fn dictionary_column(name: &str) -> bool {
    !matches!(
        name,
        "ticket_id" | "received_at" | "dispatched_at" | "responded_at" | "closed_at" | "due_at" | "resolved"
    )
}

pub(super) struct Task {
    pub(super) file: usize,
    pub(super) row_group: usize,
}

pub(super) struct FileMeta {
    pub(super) path: std::path::PathBuf,
    pub(super) meta: ArrowReaderMetadata,
    pub(super) mask: ProjectionMask,
    /// the leaf column of ticket_id when [`IdPages`] may read it
    pub(super) id_leaf: Option<usize>,
    /// the leaves of the time, text and boolean columns [`pages`] may read
    pub(super) leaves: ([Option<pages::Leaf>; 5], [Option<pages::Leaf>; 11], Option<pages::Leaf>),
}

/// One row group's columns read from their pages ([`pages`]); None: Arrow reads that one.
pub(super) struct Paged {
    pub(super) times: [Option<pages::Column>; 5],
    pub(super) texts: [Option<pages::Column>; 11],
    pub(super) flag: Option<pages::Column>,
}

impl Paged {
    pub(super) fn read(file: &FileMeta, group: usize, strings: &Strings, fits: bool) -> Paged {
        let (times, texts, flag) = &file.leaves;
        let column =
            |leaf: &Option<pages::Leaf>| leaf.filter(|_| fits).and_then(|l| pages::read(file, group, l, strings));
        Paged { times: times.each_ref().map(column), texts: texts.each_ref().map(column), flag: column(flag) }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        let at = |names: &[&str], cols: &[Option<pages::Column>]| {
            names.iter().position(|c| *c == name).is_some_and(|k| cols[k].is_some())
        };
        at(&pages::TIMES, &self.times) || at(&pages::TEXTS, &self.texts) || (name == pages::FLAG && self.flag.is_some())
    }
}

pub(super) fn open(path: &std::path::Path) -> Result<FileMeta> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // the embedded Arrow schema (ARROW:schema) is not decoded: arrow-rs panics on a damaged one,
    // and the Parquet schema says all the archive needs (engine::inspect checks it)
    let plain = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new().with_skip_arrow_metadata(true))
        .with_context(|| format!("reading the footer of {}", path.display()))?;
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let text = matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
            if text && dictionary_column(f.name()) {
                Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                )
            } else if text && f.name() == "ticket_id" {
                // views: no copy of the ids
                Field::new(f.name(), DataType::Utf8View, f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let hint = Arc::new(Schema::new(fields));
    let meta = ArrowReaderMetadata::try_new(
        plain.metadata().clone(),
        ArrowReaderOptions::new().with_skip_arrow_metadata(true).with_schema(hint),
    )
    .with_context(|| format!("reading {}", path.display()))?;
    let roots = |read: &dyn Fn(&str) -> bool| {
        let roots = meta.schema().fields().iter().enumerate().filter(|(_, f)| read(f.name())).map(|(i, _)| i);
        ProjectionMask::roots(meta.metadata().file_metadata().schema_descr(), roots)
    };
    let mask = roots(&|c| READ.contains(&c));
    let id_leaf = ids::id_leaf(&meta);
    let leaves = (
        pages::TIMES.map(|c| pages::leaf(&meta, c, pages::Kind::Time)),
        pages::TEXTS.map(|c| pages::leaf(&meta, c, pages::Kind::Text)),
        pages::leaf(&meta, pages::FLAG, pages::Kind::Flag),
    );
    Ok(FileMeta { path: path.to_path_buf(), meta, mask, id_leaf, leaves })
}

/// A reader of `groups` of `file`'s `mask` columns, in batches of [`BATCH_ROWS`]: the scan and
/// both second reads use it, so a batch's index within its row group ([`BatchAt`]) names the
/// same rows in each.
pub(super) fn reader(file: &FileMeta, groups: Vec<usize>, mask: ProjectionMask) -> Result<ParquetRecordBatchReader> {
    let f = std::fs::File::open(&file.path).with_context(|| format!("opening {}", file.path.display()))?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(f, file.meta.clone())
        .with_row_groups(groups)
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()?)
}

/// Row groups whose received_at statistics overlap one of `ranges` (all when unknown).
pub(super) fn row_groups(file: &FileMeta, ranges: &[(i64, i64)]) -> Vec<usize> {
    let md = file.meta.metadata();
    let schema = file.meta.schema();
    let Ok(idx) = schema.index_of("received_at") else { return (0..md.num_row_groups()).collect() };
    // the statistics' unit → µs, exactly: (multiplier, divisor); the bounds are widened to
    // whole µs (floor of the minimum, ceiling of the maximum)
    let (mul, div): (i64, i64) = match schema.field(idx).data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => (1_000_000, 1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (1_000, 1),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (1, 1),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => (1, 1_000),
        _ => return (0..md.num_row_groups()).collect(),
    };
    // the leaf column of received_at (top-level columns are flat: root i = leaf i up to here)
    let leaf = md.file_metadata().schema_descr().columns().iter().position(|c| c.name() == "received_at");
    (0..md.num_row_groups())
        .filter(|&g| {
            let Some(leaf) = leaf else { return true };
            match md.row_group(g).column(leaf).statistics() {
                Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                    (Some(&lo), Some(&hi)) => {
                        let lo = lo.saturating_mul(mul).div_euclid(div);
                        let hi = hi.saturating_mul(mul).div_euclid(div) + i64::from(hi.rem_euclid(div) != 0);
                        ranges.iter().any(|&(a, b)| hi >= a && lo < b)
                    }
                    _ => true,
                },
                _ => true,
            }
        })
        .collect()
}
