//! The SQL files in `queries/` (compiled in), run with bound parameters.
//!
//! Every figure hotline prints comes from one of these files; errors name the file.

use anyhow::{Context, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;

/// (name, SQL text) of every query file, in the order a report runs them.
pub const FILES: &[(&str, &str)] = &[
    ("ticket_facts", include_str!("../queries/ticket_facts.sql")),
    ("unit_month", include_str!("../queries/unit_month.sql")),
    ("city_month", include_str!("../queries/city_month.sql")),
    ("unit_scores", include_str!("../queries/unit_scores.sql")),
    ("unit_durations", include_str!("../queries/unit_durations.sql")),
    ("monthly_bottom", include_str!("../queries/monthly_bottom.sql")),
    ("watch_list", include_str!("../queries/watch_list.sql")),
    ("unit_report", include_str!("../queries/unit_report.sql")),
    ("city_summary", include_str!("../queries/city_summary.sql")),
    ("unit_months", include_str!("../queries/unit_months.sql")),
    ("peer_rates", include_str!("../queries/peer_rates.sql")),
    ("category_facts", include_str!("../queries/category_facts.sql")),
    ("unit_categories", include_str!("../queries/unit_categories.sql")),
    ("city_mix", include_str!("../queries/city_mix.sql")),
    ("data_quality", include_str!("../queries/data_quality.sql")),
    ("topic_facts", include_str!("../queries/topic_facts.sql")),
    ("topic_effect", include_str!("../queries/topic_effect.sql")),
    ("daily_volume", include_str!("../queries/daily_volume.sql")),
];

pub fn text(name: &str) -> &'static str {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap_or_else(|| panic!("no query file {name}"))
}

/// Run `queries/<name>.sql` with named parameters (`$name` in the file).
pub async fn run(ctx: &SessionContext, name: &str, params: &[(&str, ScalarValue)]) -> Result<Vec<RecordBatch>> {
    let sql = text(name);
    let file = format!("queries/{name}.sql");
    let df = ctx.sql(sql).await.with_context(|| format!("planning {file}"))?;
    let df = if params.is_empty() {
        df
    } else {
        df.with_param_values(params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>())
            .with_context(|| format!("binding the parameters of {file}"))?
    };
    let schema = df.schema().inner().clone();
    let t = std::time::Instant::now();
    let mut batches = df.collect().await.with_context(|| format!("running {file}"))?;
    if std::env::var_os("HOTLINE_PROFILE").is_some() {
        eprintln!(
            "profile: {file} {:.2} s, {} rows",
            t.elapsed().as_secs_f64(),
            batches.iter().map(|b| b.num_rows()).sum::<usize>()
        );
    }
    if batches.is_empty() {
        // keep the schema of an empty result, so it can still be registered and read
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// A timestamp parameter (µs, no zone) for the first instant of `date`.
pub fn ts(date: chrono::NaiveDate) -> ScalarValue {
    let micros = crate::period::micros(date);
    ScalarValue::TimestampMicrosecond(Some(micros), None)
}

/// An interval parameter as text DataFusion casts (`'7200 seconds'`).
pub fn seconds(s: u64) -> ScalarValue {
    ScalarValue::Utf8(Some(format!("{s} seconds")))
}
