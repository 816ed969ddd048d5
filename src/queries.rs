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
    ("unit_duration_values", include_str!("../queries/unit_duration_values.sql")),
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
    let mut batches = if profiling() {
        // run the physical plan ourselves, to read its operators' metrics afterwards
        let task = df.task_ctx();
        let plan = df.create_physical_plan().await.with_context(|| format!("planning {file}"))?;
        let batches = datafusion::physical_plan::collect(plan.clone(), std::sync::Arc::new(task))
            .await
            .with_context(|| format!("running {file}"))?;
        eprintln!(
            "profile: {file} {:.2} s, {} rows{}",
            t.elapsed().as_secs_f64(),
            batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            busiest_operators(&plan)
        );
        batches
    } else {
        df.collect().await.with_context(|| format!("running {file}"))?
    };
    if batches.is_empty() {
        // keep the schema of an empty result, so it can still be registered and read
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// `HOTLINE_PROFILE=1`: each SQL file's time, rows and busiest operators on stderr.
pub fn profiling() -> bool {
    std::env::var_os("HOTLINE_PROFILE").is_some_and(|v| !v.is_empty())
}

/// The three operators of `plan` with the most compute time (summed over their partitions, from
/// the plan's metrics, as `EXPLAIN ANALYZE` shows them; for a Parquet scan its processing time),
/// as `; busiest: Name 0.12 s, …`.
pub fn busiest_operators(plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> String {
    fn walk(p: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>, out: &mut Vec<(String, f64, usize)>) {
        if let Some(m) = p.metrics() {
            // a Parquet scan's decoding (and the filters it evaluates inside the reader) is its
            // processing time, not an elapsed_compute
            let processing = m.sum_by_name("time_elapsed_processing").map_or(0, |v| v.as_usize());
            let secs = m.elapsed_compute().unwrap_or(0).max(processing) as f64 / 1e9;
            out.push((p.name().to_string(), secs, m.output_rows().unwrap_or(0)));
        }
        for c in p.children() {
            walk(c, out);
        }
    }
    let mut ops = Vec::new();
    walk(plan, &mut ops);
    ops.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = ops.iter().take(3).map(|(n, s, rows)| format!("{n} {s:.2} s ({rows} rows out)")).collect();
    if top.is_empty() { String::new() } else { format!("; busiest: {}", top.join(", ")) }
}

/// A timestamp parameter (µs, no zone) for the first instant of `date`.
pub fn ts(date: chrono::NaiveDate) -> ScalarValue {
    let micros = crate::period::micros(date);
    ScalarValue::TimestampMicrosecond(Some(micros), None)
}

/// A duration parameter of `s` seconds, in the archive's unit (µs): added to a timestamp it is
/// one integer addition per row (an interval is added field by field, through the calendar).
/// The settings keep deadlines within a year, far from overflowing.
pub fn seconds(s: u64) -> ScalarValue {
    ScalarValue::DurationMicrosecond(Some(s as i64 * 1_000_000))
}
