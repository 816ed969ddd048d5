//! Typed results of the metric queries: the period's rates, scores and ranks per unit, and
//! the city-wide summary. Every number here comes from a file in `queries/`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::config::MetricSettings;
use crate::period::Period;
use crate::queries::{self, seconds, ts};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitScore {
    pub unit_type: String,
    /// Ranking group: district, street, or municipal / enterprise / street_office.
    pub unit_group: String,
    pub unit: String,
    /// The district of a street; none for districts and departments.
    pub parent: Option<String>,
    pub tickets: i64,
    pub dispatched: i64,
    pub scored_tickets: i64,
    pub responded_on_time: i64,
    pub closed_on_time: i64,
    pub resolved_yes: i64,
    pub resolved_answered: i64,
    pub satisfied: i64,
    pub basically_satisfied: i64,
    pub dissatisfied: i64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub score: Option<f64>,
    /// True when a rate had an empty denominator and the score used the remaining weights.
    pub score_reweighted: bool,
    pub rank: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CitySummary {
    pub tickets: i64,
    pub dispatched: i64,
    pub scored_tickets: i64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    /// Months of the period that have any ticket.
    pub months: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub period: String,
    pub scores: Vec<UnitScore>,
    /// The same period one year earlier, for year-over-year changes and rank movement.
    pub scores_year_earlier: Vec<UnitScore>,
    pub city: CitySummary,
    pub city_year_earlier: CitySummary,
    /// Days of the period with tickets, and the busiest day.
    pub days_with_tickets: i64,
    pub peak_day: Option<(NaiveDate, i64)>,
}

impl Metrics {
    pub fn of_type<'a>(&'a self, unit_type: &'a str) -> impl Iterator<Item = &'a UnitScore> + 'a {
        self.scores.iter().filter(move |s| s.unit_type == unit_type)
    }

    pub fn of_group<'a>(&'a self, unit_group: &'a str) -> impl Iterator<Item = &'a UnitScore> + 'a {
        self.scores.iter().filter(move |s| s.unit_group == unit_group)
    }
}

/// Run the metric queries for `period` (and the same period a year earlier) on a session
/// whose `tickets` table is registered.
pub async fn compute(ctx: &SessionContext, period: &Period, settings: &MetricSettings) -> Result<Metrics> {
    register(ctx, "score_settings", vec![settings.score_settings_batch()?])?;
    register(ctx, "excluded_reasons", vec![crate::config::excluded_reasons_batch(&settings.excluded_reasons)?])?;
    let earlier = period.year_earlier();
    let r = &settings.response_deadline;
    let c = &settings.close_limit;
    let facts = queries::run(
        ctx,
        "ticket_facts",
        &[
            ("start", ts(earlier.start)),
            ("end", ts(period.end)),
            ("response_emergency", seconds(r.emergency)),
            ("response_utility", seconds(r.utility)),
            ("response_general", seconds(r.general)),
            ("response_complex", seconds(r.complex)),
            ("close_emergency", seconds(c.emergency)),
            ("close_utility", seconds(c.utility)),
            ("close_general", seconds(c.general)),
            ("close_complex", seconds(c.complex)),
        ],
    )
    .await?;
    register(ctx, "ticket_facts", facts)?;
    let unit_month = queries::run(ctx, "unit_month", &[]).await?;
    register(ctx, "unit_month", unit_month)?;
    let units = ctx.sql("SELECT DISTINCT unit_type, unit FROM unit_month ORDER BY 1, 2").await?.collect().await?;
    let mut pairs = Vec::new();
    for b in &units {
        for (t, u) in strings(b, "unit_type")?.into_iter().zip(strings(b, "unit")?) {
            pairs.push((t.unwrap_or_default(), u.unwrap_or_default()));
        }
    }
    register(ctx, "unit_groups", vec![crate::config::unit_groups_batch(&pairs)?])?;

    let range = |p: &Period| [("start", ts(p.start)), ("end", ts(p.end))];
    let scores = unit_scores(&queries::run(ctx, "unit_scores", &range(period)).await?)?;
    let scores_year_earlier = unit_scores(&queries::run(ctx, "unit_scores", &range(&earlier)).await?)?;
    let city = city_summary(&queries::run(ctx, "city_summary", &range(period)).await?)?;
    let city_year_earlier = city_summary(&queries::run(ctx, "city_summary", &range(&earlier)).await?)?;

    let daily = queries::run(ctx, "daily_volume", &range(period)).await?;
    let days_with_tickets = daily.iter().map(|b| b.num_rows() as i64).sum();
    let peak_day = match daily.iter().find(|b| b.num_rows() > 0) {
        Some(b) => {
            let day = b.column_by_name("day").context("daily_volume.sql: no column `day`")?;
            let day = day.as_primitive::<datafusion::arrow::datatypes::Date32Type>().value_as_date(0);
            let n = ints(b, "tickets")?[0].unwrap_or(0);
            day.map(|d| (d, n))
        }
        None => None,
    };

    Ok(Metrics {
        period: period.label(),
        scores,
        scores_year_earlier,
        city,
        city_year_earlier,
        days_with_tickets,
        peak_day,
    })
}

fn register(ctx: &SessionContext, name: &str, batches: Vec<RecordBatch>) -> Result<()> {
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => bail!("internal: no schema for table {name}"),
    };
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

fn column(batch: &RecordBatch, name: &str, ty: &DataType) -> Result<Arc<dyn Array>> {
    let col = batch.column_by_name(name).with_context(|| format!("query result has no column `{name}`"))?;
    Ok(cast(col, ty)?)
}

pub fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let a = column(batch, name, &DataType::Utf8)?;
    Ok(a.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect())
}

pub fn ints(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let a = column(batch, name, &DataType::Int64)?;
    Ok(a.as_primitive::<Int64Type>().iter().collect())
}

pub fn floats(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let a = column(batch, name, &DataType::Float64)?;
    Ok(a.as_primitive::<Float64Type>().iter().map(|v| v.filter(|x| !x.is_nan())).collect())
}

pub fn bools(batch: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>> {
    let a = column(batch, name, &DataType::Boolean)?;
    Ok(a.as_boolean().iter().collect())
}

fn unit_scores(batches: &[RecordBatch]) -> Result<Vec<UnitScore>> {
    let mut out = Vec::new();
    for b in batches {
        let n = b.num_rows();
        let (ut, unit, parent) = (strings(b, "unit_type")?, strings(b, "unit")?, strings(b, "parent")?);
        let group = strings(b, "unit_group")?;
        let i = |name| ints(b, name);
        let (tickets, dispatched, scored) = (i("tickets")?, i("dispatched")?, i("scored_tickets")?);
        let (resp, closed, ry, ra) =
            (i("responded_on_time")?, i("closed_on_time")?, i("resolved_yes")?, i("resolved_answered")?);
        let (sat, bas, dis) = (i("satisfied")?, i("basically_satisfied")?, i("dissatisfied")?);
        let f = |name| floats(b, name);
        let (rr, sr, mr, or, score) =
            (f("response_rate")?, f("resolution_rate")?, f("satisfaction_rate")?, f("on_time_rate")?, f("score")?);
        let (reweighted, rank) = (bools(b, "score_reweighted")?, i("rank")?);
        for k in 0..n {
            out.push(UnitScore {
                unit_type: ut[k].clone().unwrap_or_default(),
                unit_group: group[k].clone().unwrap_or_default(),
                unit: unit[k].clone().unwrap_or_default(),
                parent: parent[k].clone(),
                tickets: tickets[k].unwrap_or(0),
                dispatched: dispatched[k].unwrap_or(0),
                scored_tickets: scored[k].unwrap_or(0),
                responded_on_time: resp[k].unwrap_or(0),
                closed_on_time: closed[k].unwrap_or(0),
                resolved_yes: ry[k].unwrap_or(0),
                resolved_answered: ra[k].unwrap_or(0),
                satisfied: sat[k].unwrap_or(0),
                basically_satisfied: bas[k].unwrap_or(0),
                dissatisfied: dis[k].unwrap_or(0),
                response_rate: rr[k],
                resolution_rate: sr[k],
                satisfaction_rate: mr[k],
                on_time_rate: or[k],
                score: score[k],
                score_reweighted: reweighted[k].unwrap_or(false),
                rank: rank[k],
            });
        }
    }
    // Districts, streets, then departments by group; ranked units first by rank, then by name.
    let order = |t: &str| crate::config::UNIT_TYPES.iter().position(|u| *u == t).unwrap_or(9);
    let group = |g: &str| crate::config::DEPARTMENT_GROUPS.iter().position(|u| *u == g).unwrap_or(0);
    out.sort_by(|a, b| {
        (order(&a.unit_type), group(&a.unit_group), a.rank.is_none(), a.rank, &a.unit, &a.parent).cmp(&(
            order(&b.unit_type),
            group(&b.unit_group),
            b.rank.is_none(),
            b.rank,
            &b.unit,
            &b.parent,
        ))
    });
    Ok(out)
}

fn city_summary(batches: &[RecordBatch]) -> Result<CitySummary> {
    let b = batches.iter().find(|b| b.num_rows() > 0).context("city_summary.sql returned no row")?;
    let i = |name| -> Result<i64> { Ok(ints(b, name)?[0].unwrap_or(0)) };
    let f = |name| -> Result<Option<f64>> { Ok(floats(b, name)?[0]) };
    Ok(CitySummary {
        tickets: i("tickets")?,
        dispatched: i("dispatched")?,
        scored_tickets: i("scored_tickets")?,
        response_rate: f("response_rate")?,
        resolution_rate: f("resolution_rate")?,
        satisfaction_rate: f("satisfaction_rate")?,
        on_time_rate: f("on_time_rate")?,
        months: i("months")?,
    })
}
