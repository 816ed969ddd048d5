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
    Ok(FileMeta { path: path.to_path_buf(), meta, mask })
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

/// Row groups whose received_at statistics overlap one of `ranges` (all when unknown): the
/// statistics as arrow-rs decodes them (`StatisticsConverter`), widened to whole µs.
pub(super) fn row_groups(file: &FileMeta, ranges: &[(i64, i64)]) -> Vec<usize> {
    use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
    let md = file.meta.metadata();
    let all = || (0..md.num_row_groups()).collect();
    type Bounds = (Vec<Option<i64>>, Vec<Option<i64>>, TimeUnit);
    let bounds = || -> Option<Bounds> {
        let conv =
            StatisticsConverter::try_new("received_at", file.meta.schema(), md.file_metadata().schema_descr()).ok()?;
        let (mins, maxs) = (conv.row_group_mins(md.row_groups()).ok()?, conv.row_group_maxes(md.row_groups()).ok()?);
        let DataType::Timestamp(unit, _) = mins.data_type().clone() else { return None };
        let ints = |a: &ArrayRef| -> Option<Vec<Option<i64>>> {
            let a = cast(a, &DataType::Int64).ok()?;
            Some(a.as_primitive::<datafusion::arrow::datatypes::Int64Type>().iter().collect())
        };
        Some((ints(&mins)?, ints(&maxs)?, unit))
    };
    let Some((mins, maxs, unit)) = bounds() else { return all() };
    // the statistics' unit → µs, exactly: (multiplier, divisor); the minimum floored, the maximum ceiled
    let (mul, div): (i64, i64) = match unit {
        TimeUnit::Second => (1_000_000, 1),
        TimeUnit::Millisecond => (1_000, 1),
        TimeUnit::Microsecond => (1, 1),
        TimeUnit::Nanosecond => (1, 1_000),
    };
    (0..md.num_row_groups())
        .filter(|&g| match (mins.get(g).copied().flatten(), maxs.get(g).copied().flatten()) {
            (Some(lo), Some(hi)) => {
                let lo = lo.saturating_mul(mul).div_euclid(div);
                let hi = hi.saturating_mul(mul).div_euclid(div) + i64::from(hi.rem_euclid(div) != 0);
                ranges.iter().any(|&(a, b)| hi >= a && lo < b)
            }
            _ => true,
        })
        .collect()
}
