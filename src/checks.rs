//! Data-quality checks: SQL files that return the failing rows (as dbt tests do), each with a
//! severity. Built-in ones live in queries/checks/; users add their own folder. `hotline check`
//! prints them; `report` runs them first and refuses to publish on an `error`.
//!
//! A check reads the view `checked` (the archive, or the report's window of it, with the
//! personal-data columns masked as `hotline sql` masks them) and the reference tables
//! (`population`). Its header says what it is:
//!
//! ```sql
//! -- check: duplicate_ticket_id
//! -- severity: error
//! -- description: a ticket_id that appears more than once
//! ```

use std::path::Path;

use anyhow::{Context, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error;

pub const BUILTIN: &[(&str, &str)] = &[
    ("duplicate_ticket_id", include_str!("../queries/checks/duplicate_ticket_id.sql")),
    ("missing_required", include_str!("../queries/checks/missing_required.sql")),
    ("time_order", include_str!("../queries/checks/time_order.sql")),
    ("closed_before_responded", include_str!("../queries/checks/closed_before_responded.sql")),
    ("unknown_values", include_str!("../queries/checks/unknown_values.sql")),
    ("unknown_districts", include_str!("../queries/checks/unknown_districts.sql")),
    ("abnormal_days", include_str!("../queries/checks/abnormal_days.sql")),
    ("category_conflicts", include_str!("../queries/checks/category_conflicts.sql")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub severity: Severity,
    pub description: String,
    /// queries/checks/<name>.sql, or the user's file
    pub source: String,
    #[serde(skip)]
    pub sql: String,
}

impl Check {
    pub fn parse(source: &str, default_name: &str, sql: &str) -> Result<Check, error::UserError> {
        let mut c = Check {
            name: default_name.to_string(),
            severity: Severity::Warn,
            description: String::new(),
            source: source.to_string(),
            sql: sql.to_string(),
        };
        for line in sql.lines().take_while(|l| l.trim_start().starts_with("--")) {
            let body = line.trim_start().trim_start_matches('-').trim();
            if let Some((k, v)) = body.split_once(':') {
                let v = v.trim();
                match k.trim() {
                    "check" => c.name = v.to_string(),
                    "description" => c.description = v.to_string(),
                    "severity" => {
                        c.severity = match v {
                            "error" => Severity::Error,
                            "warn" | "warning" => Severity::Warn,
                            other => {
                                return Err(error::usage(format!("{source}: severity `{other}` (use warn or error)")));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(c)
    }
}

/// The built-in checks that read only the window's counts per day and per category pair
/// (`checked_days`, `checked_categories`), never `checked`.
const COUNT_CHECKS: [&str; 2] = ["abnormal_days", "category_conflicts"];

/// A built-in check as shipped (a user's file of the same name or folder is not one: it runs
/// on the whole window).
fn is_builtin(c: &Check) -> bool {
    BUILTIN
        .iter()
        .any(|(name, sql)| c.name == *name && c.sql == *sql && c.source == format!("queries/checks/{name}.sql"))
}

pub fn builtin() -> Vec<Check> {
    BUILTIN
        .iter()
        .map(|(n, sql)| Check::parse(&format!("queries/checks/{n}.sql"), n, sql).expect("built-in checks parse"))
        .collect()
}

/// The built-in checks plus every `*.sql` in `dir` (sorted by name).
pub fn load(dir: Option<&Path>) -> Result<Vec<Check>> {
    let mut checks = builtin();
    if let Some(dir) = dir {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| error::usage(format!("cannot read the checks folder {}: {e}", dir.display())))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for f in files {
            let sql = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("check").to_string();
            checks.push(Check::parse(&f.display().to_string(), &stem, &sql)?);
        }
    }
    Ok(checks)
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub check: Check,
    pub failing: usize,
    /// The first few failing rows, as `column=value` lists.
    pub examples: Vec<String>,
}

impl Outcome {
    pub fn is_error(&self) -> bool {
        self.failing > 0 && self.check.severity == Severity::Error
    }
}

const EXAMPLES: usize = 3;

fn examples(batches: &[RecordBatch]) -> Result<Vec<String>> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = Vec::new();
    let opts = FormatOptions::default().with_null("null");
    for b in batches {
        let fmts: Vec<_> =
            b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts)).collect::<Result<_, _>>()?;
        for r in 0..b.num_rows() {
            if out.len() == EXAMPLES {
                return Ok(out);
            }
            let cells: Vec<String> =
                b.schema().fields().iter().zip(&fmts).map(|(f, v)| format!("{}={}", f.name(), v.value(r))).collect();
            out.push(cells.join(", "));
        }
    }
    Ok(out)
}

/// Run every check against the registered view `checked`: the failing rows are counted, and
/// only when there are any are the first few of them (in the check's order) fetched, so a
/// warning with a million rows is neither sorted nor held in full.
pub async fn run(ctx: &SessionContext, checks: &[Check]) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for c in checks {
        let t = std::time::Instant::now();
        if let Some(e) = crate::rules::misread_distinct_from(&c.sql) {
            return Err(crate::error::usage(format!(
                "the check {} ({}): `{e}` would compare with everything after DISTINCT FROM",
                c.name, c.source
            ))
            .hint("put the comparison in parentheses: (a IS DISTINCT FROM b) OR …")
            .into());
        }
        let df = ctx.sql(&c.sql).await.with_context(|| format!("planning the check {} ({})", c.name, c.source))?;
        let df = filters_in_the_reader(df);
        let running = || format!("running the check {} ({})", c.name, c.source);
        let (failing, busiest) = count(df.clone()).await.with_context(running)?;
        let batches = if failing == 0 {
            Vec::new()
        } else {
            df.limit(0, Some(EXAMPLES))?.collect().await.with_context(running)?
        };
        if crate::queries::profiling() {
            eprintln!("profile: {} {:.2} s, {failing} failing{busiest}", c.source, t.elapsed().as_secs_f64());
        }
        out.push(Outcome { check: c.clone(), failing, examples: examples(&batches)? });
    }
    Ok(out)
}

/// The rows of `df`, counted; with `HOTLINE_PROFILE=1` also the busiest operators of the
/// counting plan (as `queries::busiest_operators` gives them), else "".
async fn count(df: datafusion::prelude::DataFrame) -> Result<(usize, String)> {
    if !crate::queries::profiling() {
        return Ok((df.count().await?, String::new()));
    }
    let counted =
        df.aggregate(vec![], vec![datafusion::functions_aggregate::expr_fn::count(datafusion::prelude::lit(1))])?;
    let task = std::sync::Arc::new(counted.task_ctx());
    let plan = counted.create_physical_plan().await?;
    let batches = datafusion::physical_plan::collect(plan.clone(), task).await?;
    let n = batches.first().and_then(|b| crate::metrics::ints(b, b.schema().field(0).name()).ok()).and_then(|v| v[0]);
    Ok((n.unwrap_or(0) as usize, crate::queries::busiest_operators(&plan)))
}

/// `df` with its filters evaluated inside the Parquet reader (DataFusion's `pushdown_filters`,
/// and the cheaper predicates first): a check's condition holds for few tickets, so the other
/// columns it selects (a ticket_id of 15 bytes) are decoded only for those. On 20M tickets,
/// `time_order.sql` takes 0.35 s with it and 0.58–0.63 s without, `unknown_values.sql` 0.51
/// and 0.66 s; the fact files, whose filters keep most rows, are faster without it
/// (docs/engine.md).
fn filters_in_the_reader(df: datafusion::prelude::DataFrame) -> datafusion::prelude::DataFrame {
    let (mut state, plan) = df.into_parts();
    let parquet = &mut state.config_mut().options_mut().execution.parquet;
    parquet.pushdown_filters = true;
    parquet.reorder_filters = true;
    datafusion::prelude::DataFrame::new(state, plan)
}

/// `select` (a query of `tickets`) over the tickets received in [start, end), bound as
/// parameters, or over all of them.
async fn window(
    ctx: &SessionContext,
    select: &str,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> Result<datafusion::prelude::DataFrame> {
    Ok(match range {
        Some((a, b)) => ctx
            .sql(&format!("{select} WHERE received_at >= $start AND received_at < $end"))
            .await?
            .with_param_values(vec![("start", crate::queries::ts(a)), ("end", crate::queries::ts(b))])?,
        None => ctx.sql(select).await?,
    })
}

/// Register `checked` as the tickets received in [start, end), or all of them, with the
/// personal data masked.
pub async fn register_checked(
    ctx: &SessionContext,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> Result<()> {
    register_checked_as(ctx, range, true).await
}

/// [`register_checked`]; `mask`: whether to mask the personal data, false where `tickets` is
/// already the masked view (or shown unmasked on purpose): `hotline sql`, where a check's file
/// then lists every failing row (`hotline sql -f queries/checks/time_order.sql`).
pub async fn register_checked_as(
    ctx: &SessionContext,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    mask: bool,
) -> Result<()> {
    let df = window(ctx, "SELECT * FROM tickets", range).await?;
    // a check of the user's may select any column: the personal ones are masked as in `hotline sql`
    let df = if mask { crate::sqltool::masked(df)? } else { df };
    ctx.deregister_table("checked")?;
    ctx.register_table("checked", df.into_view())?;
    let days = ctx
        .sql("SELECT CAST(date_trunc('day', received_at) AS DATE) AS day, count(*) AS tickets FROM checked GROUP BY 1")
        .await?;
    ctx.deregister_table("checked_days")?;
    ctx.register_table("checked_days", days.into_view())?;
    let cats = ctx.sql("SELECT category_l1, category_l2, count(*) AS tickets FROM checked GROUP BY 1, 2").await?;
    ctx.deregister_table("checked_categories")?;
    ctx.register_table("checked_categories", cats.into_view())?;
    Ok(())
}

/// Run `checks` over the tickets received in `window`. With the native scan's output, each
/// built-in row check reads only the rows the scan found could fail it (and the rows of the
/// repeated ticket_ids), the others the scan's per-day and per-category counts: a built-in check
/// returns exactly what it returns on the whole window, since each returns failing rows (or
/// groups of them) only. The user's checks, and a row check the scan kept too many rows for,
/// read the whole window.
pub async fn run_window(
    ctx: &SessionContext,
    checks: &[Check],
    window: (chrono::NaiveDate, chrono::NaiveDate),
    scanned: Option<&crate::scan::Output>,
) -> Result<Vec<Outcome>> {
    let Some(s) = scanned else {
        register_checked(ctx, Some(window)).await?;
        return run(ctx, checks).await;
    };
    // `checked` as these rows in `schema` (an empty table when there are none)
    let register_rows = |rows: Vec<RecordBatch>, schema| -> Result<()> {
        let mut rows: Vec<RecordBatch> = rows.into_iter().filter(|b| b.num_rows() > 0).collect();
        if rows.is_empty() {
            rows.push(RecordBatch::new_empty(schema));
        }
        crate::metrics::register(ctx, "checked", rows)
    };
    // the window's counts per day and per category pair, as the scan counted them (the same as
    // the views register_checked makes, without reading the window again)
    let register_counts = || -> Result<()> {
        crate::metrics::register(ctx, "checked_days", vec![s.checked_days.clone()])?;
        crate::metrics::register(ctx, "checked_categories", vec![s.checked_categories.clone()])
    };
    // repeated ticket_ids come from the scan's hashes, with every row of them (a GROUP BY
    // ticket_id over the window would hold every id in memory; over the suspects it is only slower)
    register_rows(s.repeated.clone(), crate::schema::table_schema())?;
    let (dup, other): (Vec<Check>, Vec<Check>) =
        checks.iter().cloned().partition(|c| is_builtin(c) && c.name == "duplicate_ticket_id");
    let mut out = run(ctx, &dup).await?;
    register_counts()?;
    let mut rest = Vec::new();
    for c in other {
        if !is_builtin(&c) {
            rest.push(c);
        } else if COUNT_CHECKS.contains(&c.name.as_str()) {
            out.extend(run(ctx, std::slice::from_ref(&c)).await?);
        } else if let Some((schema, rows)) = s.check_rows(&c.name)? {
            // a built-in row check on the rows that could fail it (its suspects hold no row of
            // a repeated id: those are in s.repeated)
            register_rows(rows, schema)?;
            out.extend(run(ctx, std::slice::from_ref(&c)).await?);
        } else {
            // too many suspects (a warning on most tickets): it reads the window (counted, and
            // only three rows fetched)
            rest.push(c);
        }
    }
    if !rest.is_empty() {
        register_checked(ctx, Some(window)).await?;
        register_counts()?;
        out.extend(run(ctx, &rest).await?);
    }
    // in the order they were given
    out.sort_by_key(|o| checks.iter().position(|c| c.source == o.check.source && c.name == o.check.name));
    Ok(out)
}

/// Share of nulls per column of the tickets received in [start, end), or all of them:
/// (column, nulls, rows). Counted on the archive itself, not on `checked`: a count reveals no
/// caller's data, and counting the masked columns would mask every caller id, phone number and
/// text of the window first (11 of the 17 s of `hotline check` on 20M tickets).
pub async fn null_shares(
    ctx: &SessionContext,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> Result<Vec<(String, i64, i64)>> {
    let cols: Vec<&str> = crate::schema::COLUMNS.iter().map(|c| c.name).collect();
    let select: Vec<String> = cols.iter().map(|c| format!("count(\"{c}\") AS \"{c}\"")).collect();
    let sql = format!("SELECT count(*) AS n_rows, {} FROM tickets", select.join(", "));
    let df = window(ctx, &sql, range).await?;
    let batches = df.collect().await?;
    let b = batches.first().context("no row")?;
    let n = crate::metrics::ints(b, "n_rows")?[0].unwrap_or(0);
    cols.iter().map(|c| Ok((c.to_string(), n - crate::metrics::ints(b, c)?[0].unwrap_or(0), n))).collect()
}

/// The first error-level failure as a user error that names the check and a few rows.
pub fn refuse(outcomes: &[Outcome]) -> Option<error::UserError> {
    let bad: Vec<&Outcome> = outcomes.iter().filter(|o| o.is_error()).collect();
    let first = bad.first()?;
    let mut msg = format!(
        "data check `{}` failed ({} rows: {}); the report is not published",
        first.check.name, first.failing, first.check.description
    );
    for e in &first.examples {
        msg.push_str(&format!("\n  {e}"));
    }
    if bad.len() > 1 {
        msg.push_str(&format!(
            "\n  (also failing: {})",
            bad[1..].iter().map(|o| o.check.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    Some(
        error::data(msg)
            .hint("`hotline check` lists every failing check; fix the archive (or re-import the export) and run again"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the shipped files run on the scan's suspect rows: a user's file of the same name, or a
    /// changed copy at the same path, reads the whole window.
    #[test]
    fn builtin_is_the_shipped_file() {
        assert!(builtin().iter().all(is_builtin));
        let shipped = builtin().into_iter().find(|c| c.name == "time_order").unwrap();
        let mine = Check::parse("checks/time_order.sql", "time_order", &shipped.sql).unwrap();
        assert!(!is_builtin(&mine));
        let changed = format!("{}\n  OR due_at < received_at", shipped.sql.trim_end());
        let copy = Check::parse(&shipped.source, "time_order", &changed).unwrap();
        assert_eq!(copy.source, "queries/checks/time_order.sql");
        assert!(!is_builtin(&copy));
    }

    #[test]
    fn headers_give_name_severity_and_description() {
        let c = builtin();
        assert_eq!(c.len(), BUILTIN.len());
        let t = c.iter().find(|c| c.name == "time_order").unwrap();
        assert_eq!(t.severity, Severity::Error);
        assert!(t.description.starts_with("dispatched, responded or closed before"));
        let u = Check::parse("mine.sql", "mine", "-- severity: warn\nSELECT 1").unwrap();
        assert_eq!((u.name.as_str(), u.severity), ("mine", Severity::Warn));
        assert!(Check::parse("bad.sql", "bad", "-- severity: fatal\nSELECT 1").is_err());
    }
}
