//! Typed results of the metric queries: the period's rates, scores and ranks per unit, and
//! the city-wide summary. Every number here comes from a file in `queries/`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::config::MetricSettings;
use crate::period::Period;
use crate::queries::{self, seconds, ts};

mod rows;
pub use rows::{bools, dates, floats, ints, strings};
use rows::{
    bottom_entries, category_counts, city_summaries, mix_rows, peer_rates, topic_effects, unit_months, unit_scores,
};

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
    /// From the population table (districts and streets), and tickets per 1,000 residents.
    pub population: Option<i64>,
    pub tickets_per_1000: Option<f64>,
    /// Hours from dispatch to first response and to closing: median and 90th percentile.
    pub respond_hours_median: Option<f64>,
    pub respond_hours_p90: Option<f64>,
    pub close_hours_median: Option<f64>,
    pub close_hours_p90: Option<f64>,
    /// The previous period (环比): tickets, relative change, score, change in points, rank and
    /// rank movement (previous rank − rank, positive = moved up).
    pub tickets_previous: Option<i64>,
    pub tickets_change_prev: Option<f64>,
    pub score_previous: Option<f64>,
    pub score_change_prev: Option<f64>,
    pub rank_previous: Option<i64>,
    pub rank_movement: Option<i64>,
    /// The same period a year earlier (同比).
    pub tickets_year_earlier: Option<i64>,
    pub tickets_change_yoy: Option<f64>,
    pub score_year_earlier: Option<f64>,
    pub score_change_yoy: Option<f64>,
    /// Watch-list unit types only: months of the period in the monthly bottom-N, the longest
    /// run of consecutive bottom-N months reaching into the period, and whether that run is long
    /// enough for the 治理类 watch list.
    pub bottom_months: Option<i64>,
    pub bottom_longest_run: Option<i64>,
    pub watch_list: bool,
}

/// One unit in one month's bottom-N (monthly_bottom.sql).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BottomEntry {
    pub month: NaiveDate,
    pub unit_type: String,
    pub unit_group: String,
    pub unit: String,
    pub parent: Option<String>,
    pub score: Option<f64>,
    pub scored_tickets: i64,
    pub bottom_rank: i64,
}

/// City-wide times to respond and close, in hours (unit_durations.sql with unit_type city).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durations {
    pub respond_hours_median: Option<f64>,
    pub respond_hours_p90: Option<f64>,
    pub close_hours_median: Option<f64>,
    pub close_hours_p90: Option<f64>,
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
    /// Population of the districts in the population table, and tickets per 1,000 residents.
    pub population: Option<i64>,
    pub tickets_per_1000: Option<f64>,
}

/// A unit's figures in one month (unit_months.sql): the monthly trend of a unit report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitMonth {
    pub month: NaiveDate,
    pub unit_type: String,
    pub unit: String,
    pub parent: Option<String>,
    pub tickets: i64,
    pub scored_tickets: i64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub score: Option<f64>,
    pub rank: Option<i64>,
}

/// A ranking group taken as a whole (peer_rates.sql): what a unit is compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerRates {
    pub unit_type: String,
    pub unit_group: String,
    pub units: i64,
    pub ranked: i64,
    pub tickets: i64,
    pub scored_tickets: i64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub median_score: Option<f64>,
}

/// Contacts of one category for the city or a unit (unit_categories.sql).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryCount {
    pub unit_type: String,
    pub unit: Option<String>,
    pub parent: Option<String>,
    /// 1: level-1 category (city only); 2: level-2 category.
    pub level: i64,
    pub category_l1: String,
    pub category_l2: Option<String>,
    pub tickets: i64,
    pub tickets_year_earlier: i64,
    pub tickets_change_yoy: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub category_rank: i64,
}

impl CategoryCount {
    /// The category's display name: level 2 when there is one.
    pub fn name(&self) -> &str {
        self.category_l2.as_deref().unwrap_or(&self.category_l1)
    }
}

/// The city's contacts along one dimension (city_mix.sql): channel, request_type, hour, or a
/// level-2 category in one month of the period (category_month).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixRow {
    pub dimension: String,
    pub value: Option<String>,
    pub hour: Option<i64>,
    pub month: Option<NaiveDate>,
    pub category_l1: Option<String>,
    pub category_l2: Option<String>,
    pub tickets: i64,
    pub tickets_year_earlier: i64,
    pub direct: i64,
}

/// A 每月一题 topic's categories before or after its month (topic_effect.sql).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicEffect {
    pub topic: String,
    /// "before" or "after"
    pub phase: String,
    pub tickets: i64,
    pub months_with_data: i64,
    pub tickets_per_month: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
}

/// A unit known to the archive around the period: (unit_type, unit, parent).
pub type UnitKey = (String, String, Option<String>);

/// How many of each unit's top categories `Metrics::categories` keeps (the city keeps all).
pub const UNIT_CATEGORIES_KEPT: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub period: String,
    /// The period before (环比), as a label: 2025Q2 for 2025Q3.
    pub previous_period: String,
    pub scores: Vec<UnitScore>,
    pub city: CitySummary,
    pub city_previous: CitySummary,
    pub city_year_earlier: CitySummary,
    pub city_durations: Durations,
    /// Each month's bottom-N of the watch-list unit types, for the months of the period.
    pub bottom: Vec<BottomEntry>,
    /// Days of the period with tickets, and the busiest day.
    pub days_with_tickets: i64,
    pub peak_day: Option<(NaiveDate, i64)>,
    /// City-wide figures of each month of the scanned range (the 12 months before the period
    /// and the period's own months).
    pub city_months: Vec<(NaiveDate, CitySummary)>,
    /// Every unit's figures per month, same range.
    pub unit_months: Vec<UnitMonth>,
    pub peers: Vec<PeerRates>,
    /// City categories (levels 1 and 2), and each unit's top level-2 categories.
    pub categories: Vec<CategoryCount>,
    /// Every unit with tickets in the scanned range, including those with none in the period.
    pub known_units: Vec<UnitKey>,
    pub mix: Vec<MixRow>,
    /// data_quality.sql: (check, tickets) for the period.
    pub quality: Vec<(String, i64)>,
    pub topics: Vec<TopicEffect>,
}

impl Metrics {
    pub fn of_type<'a>(&'a self, unit_type: &'a str) -> impl Iterator<Item = &'a UnitScore> + 'a {
        self.scores.iter().filter(move |s| s.unit_type == unit_type)
    }

    pub fn of_group<'a>(&'a self, unit_group: &'a str) -> impl Iterator<Item = &'a UnitScore> + 'a {
        self.scores.iter().filter(move |s| s.unit_group == unit_group)
    }

    pub fn peer(&self, unit_type: &str, unit_group: &str) -> Option<&PeerRates> {
        self.peers.iter().find(|p| p.unit_type == unit_type && p.unit_group == unit_group)
    }
}

/// Run the metric queries for `period` on a session whose `tickets` table is registered.
///
/// The tables read from the single tickets come first: `scanned` holds them from the native
/// one-pass scan (src/scan/); None computes them with their SQL files instead (ticket_facts,
/// unit_month, city_month, unit_durations, category_facts, city_mix, data_quality,
/// topic_facts, daily_volume). They cover the twelve months before the period and the period
/// itself: that holds the previous period, the same period a year earlier and the months
/// before the period that a watch-list run may start in. Everything else is SQL over them.
pub async fn compute(
    ctx: &SessionContext,
    period: &Period,
    settings: &MetricSettings,
    scanned: Option<&crate::scan::Output>,
) -> Result<Metrics> {
    use crate::config;
    register(ctx, "score_settings", vec![settings.score_settings_batch()?])?;
    register(ctx, "excluded_reasons", vec![config::excluded_reasons_batch(&settings.excluded_reasons)?])?;
    register(ctx, "population", vec![config::population_batch(&settings.population)?])?;
    register(ctx, "watch_types", vec![config::watch_types_batch(&settings.watch_list)?])?;
    register(ctx, "topics", vec![config::topics_batch(&settings.topics)?])?;
    let earlier = period.year_earlier();
    let previous = period.previous();
    let facts = match scanned {
        Some(s) => Facts {
            unit_month: vec![s.unit_month.clone()],
            city_month: vec![s.city_month.clone()],
            // waited for below, where they are needed
            durations: Vec::new(),
            category_facts: vec![s.category_facts.clone()],
            city_mix: vec![s.city_mix.clone()],
            quality: s.data_quality.clone(),
            topic_facts: vec![s.topic_facts.clone()],
            daily: s.daily.clone(),
        },
        None => sql_facts(ctx, period, settings).await?,
    };
    register(ctx, "unit_month", facts.unit_month)?;
    register(ctx, "city_month", facts.city_month)?;
    register(ctx, "category_facts", facts.category_facts)?;
    let with_topics = !settings.topics.is_empty();
    if with_topics {
        register(ctx, "topic_facts", facts.topic_facts)?;
    }
    // each query runs as soon as the tables it reads are registered, beside the chain below (unit
    // groups → unit_scores → monthly_bottom → watch_list → durations → unit_report): none reads
    // another's result
    let spawn = |name: &'static str| {
        let ctx = ctx.clone();
        tokio::spawn(async move { queries::run(&ctx, name, &[]).await })
    };
    let categories_sql = spawn("unit_categories");
    let topic_sql = with_topics.then(|| spawn("topic_effect"));
    let units =
        ctx.sql("SELECT DISTINCT unit_type, unit, parent FROM unit_month ORDER BY 1, 2, 3").await?.collect().await?;
    let mut known_units = Vec::new();
    for b in &units {
        let (t, u, p) = (strings(b, "unit_type")?, strings(b, "unit")?, strings(b, "parent")?);
        for k in 0..b.num_rows() {
            known_units.push((t[k].clone().unwrap_or_default(), u[k].clone().unwrap_or_default(), p[k].clone()));
        }
    }
    let mut pairs: Vec<(String, String)> = known_units.iter().map(|(t, u, _)| (t.clone(), u.clone())).collect();
    pairs.dedup();
    register(ctx, "unit_groups", vec![config::unit_groups_batch(&pairs)?])?;

    // Every period the scores are needed for, in one run of unit_scores.sql: the period, the
    // previous one, a year earlier, and each month of the scanned range (monthly bottom-N).
    let mut periods = vec![
        ("current", period.start, period.end),
        ("previous", previous.start, previous.end),
        ("year_earlier", earlier.start, earlier.end),
    ];
    let months = crate::period::month_starts(earlier.start, period.end);
    periods.extend(months.into_iter().map(|m| ("month", m, crate::period::add_months(m, 1))));
    register(ctx, "periods", vec![periods_batch(&periods, false)?])?;
    // the same with one row per month of each period, which unit_scores.sql joins on equality
    register(ctx, "period_months", vec![periods_batch(&periods, true)?])?;
    let summary = spawn("city_summary");
    let period_scores = queries::run(ctx, "unit_scores", &[]).await?;
    register(ctx, "period_scores", period_scores)?;
    let [months, peer_rates_sql] = ["unit_months", "peer_rates"].map(spawn);

    let range = |p: &Period| [("start", ts(p.start)), ("end", ts(p.end))];

    let w = &settings.watch_list;
    let bottom =
        queries::run(ctx, "monthly_bottom", &[("bottom_n", ScalarValue::Int64(Some(w.bottom as i64)))]).await?;
    register(ctx, "monthly_bottom", bottom.clone())?;
    let mut watch_params = range(period).to_vec();
    watch_params.push(("months", ScalarValue::Int64(Some(w.months as i64))));
    let watch = queries::run(ctx, "watch_list", &watch_params).await?;
    register(ctx, "watch", watch)?;

    // (after the watch list, which does not read them: the scan's may still be computing)
    // time percentiles: the city's row apart, the units' rows as the table durations
    let mut durations = Vec::new();
    let mut city_durations = Durations::default();
    let scan_durations = match scanned {
        Some(s) => vec![s.durations.get()?],
        None => Vec::new(),
    };
    for b in facts.durations.iter().chain(&scan_durations) {
        let types = strings(b, "unit_type")?;
        let (rm, rp, cm, cp) = (
            floats(b, "respond_hours_median")?,
            floats(b, "respond_hours_p90")?,
            floats(b, "close_hours_median")?,
            floats(b, "close_hours_p90")?,
        );
        let mut keep = Vec::with_capacity(b.num_rows());
        for k in 0..b.num_rows() {
            let city = types[k].as_deref() == Some("city");
            if city {
                city_durations = Durations {
                    respond_hours_median: rm[k],
                    respond_hours_p90: rp[k],
                    close_hours_median: cm[k],
                    close_hours_p90: cp[k],
                };
            }
            keep.push(!city);
        }
        durations.push(datafusion::arrow::compute::filter_record_batch(
            b,
            &datafusion::arrow::array::BooleanArray::from(keep),
        )?);
    }
    register(ctx, "durations", durations)?;

    let report = spawn("unit_report");
    let scores = unit_scores(&report.await??)?;
    let mut city_periods = city_summaries(&summary.await??)?;
    let mut take = |bucket: &str| -> Result<CitySummary> {
        let i = city_periods.iter().position(|(b, _, _)| b == bucket).context("city_summary.sql: missing bucket")?;
        Ok(city_periods.remove(i).2)
    };
    let city = take("current")?;
    let city_previous = take("previous")?;
    let city_year_earlier = take("year_earlier")?;
    let city_months = city_periods.into_iter().map(|(_, month, c)| (month, c)).collect();
    let unit_months = unit_months(&months.await??)?;
    let peers = peer_rates(&peer_rates_sql.await??)?;
    let categories = category_counts(&categories_sql.await??)?;
    let mix = mix_rows(&facts.city_mix)?;
    let quality = facts.quality;
    let topics = match topic_sql {
        Some(t) => topic_effects(&t.await??)?,
        None => Vec::new(),
    };
    let days_with_tickets = facts.daily.len() as i64;
    let peak_day = facts.daily.first().copied();

    Ok(Metrics {
        period: period.label(),
        previous_period: previous.label(),
        scores,
        city,
        city_previous,
        city_year_earlier,
        city_durations,
        bottom: bottom_entries(&bottom, period)?,
        days_with_tickets,
        peak_day,
        city_months,
        unit_months,
        peers,
        categories,
        known_units,
        mix,
        quality,
        topics,
    })
}

/// The tables computed from the single tickets (see [`compute`]).
struct Facts {
    unit_month: Vec<RecordBatch>,
    city_month: Vec<RecordBatch>,
    /// unit_durations.sql per unit type, with the column unit_type; the city's row has unit_type city
    durations: Vec<RecordBatch>,
    category_facts: Vec<RecordBatch>,
    city_mix: Vec<RecordBatch>,
    quality: Vec<(String, i64)>,
    topic_facts: Vec<RecordBatch>,
    /// (day, tickets), busiest first
    daily: Vec<(NaiveDate, i64)>,
}

/// The facts by their SQL files on DataFusion (`--engine sql`, and the reference the scan is
/// tested against).
async fn sql_facts(ctx: &SessionContext, period: &Period, settings: &MetricSettings) -> Result<Facts> {
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
    let city_month = queries::run(ctx, "city_month", &[]).await?;
    let range = |p: &Period| [("start", ts(p.start)), ("end", ts(p.end))];
    // time percentiles: the values read once per finest unit, then one unit type at a time
    // (bounded memory); "city" gives one row
    register(ctx, "unit_duration_values", queries::run(ctx, "unit_duration_values", &range(period)).await?)?;
    let mut durations = Vec::new();
    for unit_type in crate::config::UNIT_TYPES.iter().chain(["city"].iter()) {
        let params = [("unit_type", ScalarValue::Utf8(Some(unit_type.to_string())))];
        for b in queries::run(ctx, "unit_durations", &params).await? {
            durations.push(with_text_column(&b, "unit_type", unit_type)?);
        }
    }
    // the values are not needed any more: their memory is given back
    ctx.deregister_table("unit_duration_values")?;
    let both = [
        ("start", ts(period.start)),
        ("end", ts(period.end)),
        ("ye_start", ts(earlier.start)),
        ("ye_end", ts(earlier.end)),
    ];
    let category_facts = queries::run(ctx, "category_facts", &both).await?;
    let city_mix = queries::run(ctx, "city_mix", &both).await?;
    let mut quality = Vec::new();
    for b in queries::run(ctx, "data_quality", &range(period)).await? {
        for (item, n) in strings(&b, "item")?.into_iter().zip(ints(&b, "tickets")?) {
            quality.push((item.unwrap_or_default(), n.unwrap_or(0)));
        }
    }
    let topic_facts =
        if settings.topics.is_empty() { Vec::new() } else { queries::run(ctx, "topic_facts", &[]).await? };
    let mut daily = Vec::new();
    for b in queries::run(ctx, "daily_volume", &range(period)).await? {
        for (d, n) in dates(&b, "day")?.into_iter().zip(ints(&b, "tickets")?) {
            if let Some(d) = d {
                daily.push((d, n.unwrap_or(0)));
            }
        }
    }
    Ok(Facts { unit_month, city_month, durations, category_facts, city_mix, quality, topic_facts, daily })
}

/// `batch` with one more column `name` holding `value` on every row.
fn with_text_column(batch: &RecordBatch, name: &str, value: &str) -> Result<RecordBatch> {
    let col: Arc<dyn Array> = Arc::new(StringArray::from(vec![value; batch.num_rows()]));
    add_column(batch, Field::new(name, DataType::Utf8, false), col)
}

/// The `periods` table (bucket, period_start, period_end) that city_summary.sql groups by; with
/// `by_month`, the `period_months` table: one row per month of each period, with its `month`.
fn periods_batch(periods: &[(&str, NaiveDate, NaiveDate)], by_month: bool) -> Result<RecordBatch> {
    use crate::period::micros;
    let rows: Vec<(&str, NaiveDate, NaiveDate, NaiveDate)> = periods
        .iter()
        .flat_map(|&(b, start, end)| {
            let months = if by_month { crate::period::month_starts(start, end) } else { vec![start] };
            months.into_iter().map(move |m| (b, start, end, m))
        })
        .collect();
    let ts_type = DataType::Timestamp(TimeUnit::Microsecond, None);
    let mut fields = vec![
        Field::new("bucket", DataType::Utf8, false),
        Field::new("period_start", ts_type.clone(), false),
        Field::new("period_end", ts_type.clone(), false),
    ];
    let ts = |v: Vec<i64>| -> Arc<dyn Array> { Arc::new(TimestampMicrosecondArray::from_iter_values(v)) };
    let mut cols = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))) as Arc<dyn Array>,
        ts(rows.iter().map(|r| micros(r.1)).collect()),
        ts(rows.iter().map(|r| micros(r.2)).collect()),
    ];
    if by_month {
        fields.push(Field::new("month", ts_type, false));
        cols.push(ts(rows.iter().map(|r| micros(r.3)).collect()));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

fn add_column(batch: &RecordBatch, field: Field, col: Arc<dyn Array>) -> Result<RecordBatch> {
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(field);
    let mut cols = batch.columns().to_vec();
    cols.push(col);
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

/// Register `batches` as the in-memory table `name`, replacing any table of that name.
pub fn register(ctx: &SessionContext, name: &str, batches: Vec<RecordBatch>) -> Result<()> {
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => bail!("internal: no schema for table {name}"),
    };
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
