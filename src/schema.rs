//! The canonical `tickets` schema (shared spec §1) and the check that a file matches it.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Str,
    Timestamp,
    Bool,
}

pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub nullable: bool,
    /// Personal data: never in a report, a score export or a log line.
    pub personal: bool,
    /// What it holds, as a 12345 centre names it (the headers of the beijing-zh mapping)
    pub zh: &'static str,
}

const fn col(name: &'static str, ty: ColType, nullable: bool, zh: &'static str) -> Column {
    Column { name, ty, nullable, personal: false, zh }
}

const fn personal(name: &'static str, zh: &'static str) -> Column {
    Column { name, ty: ColType::Str, nullable: true, personal: true, zh }
}

impl ColType {
    /// The type as SQL names it.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColType::Str => "text",
            ColType::Timestamp => "timestamp",
            ColType::Bool => "boolean",
        }
    }
}

use ColType::*;

pub const COLUMNS: &[Column] = &[
    col("ticket_id", Str, false, "工单编号"),
    col("received_at", Timestamp, false, "受理时间"),
    col("channel", Str, true, "受理渠道"),
    col("request_type", Str, false, "诉求类型"),
    col("category_l1", Str, false, "一级分类"),
    col("category_l2", Str, true, "二级分类"),
    col("category_l3", Str, true, "三级分类"),
    col("urgency", Str, true, "紧急程度"),
    col("district", Str, false, "所属区"),
    col("street", Str, true, "街道乡镇"),
    col("department", Str, true, "承办单位"),
    col("dispatched_at", Timestamp, true, "派单时间"),
    col("responded_at", Timestamp, true, "首次联系时间"),
    col("closed_at", Timestamp, true, "办结时间"),
    // the deadline the source system set (311 exports: Due Date, target_dt): on-time closing is
    // then judged against it, a proxy for the 12345 time limits (ticket_facts.sql)
    col("due_at", Timestamp, true, "办理时限（来源系统设定）"),
    col("resolved", Bool, true, "是否解决"),
    col("satisfaction", Str, true, "回访结果（满意度）"),
    col("excluded_reason", Str, true, "剔除原因（不计入考核）"),
    personal("caller_id", "来电人编号"),
    personal("caller_phone", "来电号码"),
    personal("content", "诉求内容"),
];

pub const REQUEST_TYPES: &[&str] = &["consultation", "help", "complaint", "report", "suggestion", "praise", "other"];
pub const CHANNELS: &[&str] = &["phone", "web", "wechat", "app", "weibo", "other"];
pub const URGENCIES: &[&str] = &["emergency", "utility", "general", "complex"];
pub const SATISFACTION: &[&str] = &["satisfied", "basically_satisfied", "dissatisfied"];
pub const EXCLUDED_REASONS: &[&str] = &["duplicate", "invalid", "out_of_scope", "malicious", "appeal_approved"];

pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

fn build(string_type: DataType, declared_nullability: bool) -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|c| {
            let ty = match c.ty {
                Str => string_type.clone(),
                Timestamp => TIMESTAMP,
                Bool => DataType::Boolean,
            };
            Field::new(c.name, ty, !declared_nullability || c.nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A batch read from an archive file, with its columns cast to [`file_schema`] (string views
/// and large strings to strings, any timestamp unit to µs), in the canonical order.
pub fn conform(batch: &datafusion::arrow::array::RecordBatch) -> anyhow::Result<datafusion::arrow::array::RecordBatch> {
    let target = file_schema();
    let cols = target
        .fields()
        .iter()
        .map(|f| {
            let c = batch
                .column_by_name(f.name())
                .ok_or_else(|| anyhow::anyhow!("archive file without column {}", f.name()))?;
            Ok(datafusion::arrow::compute::cast(c, f.data_type())?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(datafusion::arrow::array::RecordBatch::try_new(target, cols)?)
}

/// The table schema DataFusion reads the archive with (strings as Utf8View, timestamps in µs).
/// Required columns are declared nullable too so that a file without statistics is readable;
/// their non-null rule is checked by the data-quality queries.
pub fn table_schema() -> SchemaRef {
    build(DataType::Utf8View, false)
}

/// The schema the generator writes (plain Utf8 strings, the most portable Parquet encoding).
pub fn file_schema() -> SchemaRef {
    build(DataType::Utf8, true)
}

/// How `generate` and `import` write archive files: ZSTD level 1, row groups of up to 2^20
/// tickets, and ticket_id without a dictionary (unique ids gain nothing from one).
pub fn archive_writer_properties() -> datafusion::parquet::file::properties::WriterProperties {
    use datafusion::parquet::basic::{Compression, ZstdLevel};
    use datafusion::parquet::file::properties::WriterProperties;
    use datafusion::parquet::schema::types::ColumnPath;
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("1 is a zstd level")))
        .set_max_row_group_row_count(Some(1 << 20))
        .set_column_dictionary_enabled(ColumnPath::from("ticket_id"), false)
        .set_created_by(format!("hotline {}", env!("CARGO_PKG_VERSION")))
        .build()
}

fn describe(ty: ColType) -> &'static str {
    match ty {
        Str => "a string",
        Timestamp => "a timestamp without time zone (local wall-clock time)",
        Bool => "a boolean",
    }
}

/// Compare one file's schema with the canonical one. Returns the problems, each naming a column.
pub fn check(schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    for c in COLUMNS {
        match schema.field_with_name(c.name) {
            Err(_) if !c.nullable => problems.push(format!("required column `{}` is missing", c.name)),
            Err(_) => {} // optional columns may be absent: they read as null
            Ok(f) => {
                let ok = match (c.ty, f.data_type()) {
                    (Str, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => true,
                    (Str, DataType::Dictionary(_, v)) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8),
                    (Timestamp, DataType::Timestamp(_, None)) => true,
                    (Bool, DataType::Boolean) => true,
                    _ => false,
                };
                if !ok {
                    let extra = match f.data_type() {
                        DataType::Timestamp(_, Some(tz)) => {
                            format!(" (it has time zone `{tz}`; store the city's local wall-clock time without a zone)")
                        }
                        _ => String::new(),
                    };
                    problems.push(format!(
                        "column `{}` has type {}, expected {}{extra}",
                        c.name,
                        f.data_type(),
                        describe(c.ty)
                    ));
                }
            }
        }
    }
    for f in schema.fields() {
        if !COLUMNS.iter().any(|c| c.name == f.name()) {
            let near = closest(f.name());
            let hint = near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            problems.push(format!("unknown column `{}`{hint}", f.name()));
        }
    }
    problems
}

/// The canonical column name closest to `name`, if any is close enough to be a typo.
pub fn closest(name: &str) -> Option<&'static str> {
    COLUMNS
        .iter()
        .map(|c| (edit_distance(name, c.name), c.name))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n)
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_schema_passes_its_own_check() {
        assert!(check(&file_schema()).is_empty());
        assert!(check(&table_schema()).is_empty());
    }

    #[test]
    fn names_wrong_missing_and_unknown_columns() {
        let mut fields: Vec<Field> = file_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.retain(|f| f.name() != "district" && f.name() != "caller_phone");
        for f in fields.iter_mut() {
            if f.name() == "satisfaction" {
                *f = Field::new("satisfation", DataType::Utf8, true);
            }
            if f.name() == "received_at" {
                *f = Field::new("received_at", DataType::Timestamp(TimeUnit::Second, Some("UTC".into())), false);
            }
        }
        let problems = check(&Schema::new(fields));
        assert_eq!(
            problems,
            vec![
                "column `received_at` has type Timestamp(s, \"UTC\"), expected a timestamp without time zone (local wall-clock time) (it has time zone `UTC`; store the city's local wall-clock time without a zone)".to_string(),
                "required column `district` is missing".to_string(),
                "unknown column `satisfation` (did you mean `satisfaction`?)".to_string(),
            ]
        );
    }
}
