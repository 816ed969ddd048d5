//! The metric queries' result batches read into the typed rows of `metrics` (each column cast
//! to the type the row holds; a missing column is an error naming it).

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};

use super::*;
use crate::period::Period;

pub(super) fn mix_rows(batches: &[RecordBatch]) -> Result<Vec<MixRow>> {
    let mut out = Vec::new();
    for b in batches {
        let (dim, value, l1, l2) =
            (strings(b, "dimension")?, strings(b, "value")?, strings(b, "category_l1")?, strings(b, "category_l2")?);
        let (hour, month) = (ints(b, "hour")?, dates(b, "month")?);
        let (tickets, earlier, direct) = (ints(b, "tickets")?, ints(b, "tickets_year_earlier")?, ints(b, "direct")?);
        for k in 0..b.num_rows() {
            out.push(MixRow {
                dimension: dim[k].clone().unwrap_or_default(),
                value: value[k].clone(),
                hour: hour[k],
                month: month[k],
                category_l1: l1[k].clone(),
                category_l2: l2[k].clone(),
                tickets: tickets[k].unwrap_or(0),
                tickets_year_earlier: earlier[k].unwrap_or(0),
                direct: direct[k].unwrap_or(0),
            });
        }
    }
    Ok(out)
}

pub(super) fn topic_effects(batches: &[RecordBatch]) -> Result<Vec<TopicEffect>> {
    let mut out = Vec::new();
    for b in batches {
        let (topic, phase) = (strings(b, "topic")?, strings(b, "phase")?);
        let (tickets, months) = (ints(b, "tickets")?, ints(b, "months_with_data")?);
        let (per_month, res, sat) =
            (floats(b, "tickets_per_month")?, floats(b, "resolution_rate")?, floats(b, "satisfaction_rate")?);
        for k in 0..b.num_rows() {
            out.push(TopicEffect {
                topic: topic[k].clone().unwrap_or_default(),
                phase: phase[k].clone().unwrap_or_default(),
                tickets: tickets[k].unwrap_or(0),
                months_with_data: months[k].unwrap_or(0),
                tickets_per_month: per_month[k],
                resolution_rate: res[k],
                satisfaction_rate: sat[k],
            });
        }
    }
    Ok(out)
}

pub(super) fn bottom_entries(batches: &[RecordBatch], period: &Period) -> Result<Vec<BottomEntry>> {
    let mut out = Vec::new();
    for b in batches {
        let (month, ut, group) = (dates(b, "month")?, strings(b, "unit_type")?, strings(b, "unit_group")?);
        let (unit, parent, score) = (strings(b, "unit")?, strings(b, "parent")?, floats(b, "score")?);
        let (scored, rank) = (ints(b, "scored_tickets")?, ints(b, "bottom_rank")?);
        for k in 0..b.num_rows() {
            let Some(m) = month[k] else { continue };
            if m < period.start || m >= period.end {
                continue;
            }
            out.push(BottomEntry {
                month: m,
                unit_type: ut[k].clone().unwrap_or_default(),
                unit_group: group[k].clone().unwrap_or_default(),
                unit: unit[k].clone().unwrap_or_default(),
                parent: parent[k].clone(),
                score: score[k],
                scored_tickets: scored[k].unwrap_or(0),
                bottom_rank: rank[k].unwrap_or(0),
            });
        }
    }
    Ok(out)
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

/// A date or timestamp column as dates.
pub fn dates(batch: &RecordBatch, name: &str) -> Result<Vec<Option<NaiveDate>>> {
    let a = column(batch, name, &DataType::Date32)?;
    let a = a.as_primitive::<Date32Type>();
    Ok((0..a.len()).map(|i| if a.is_null(i) { None } else { a.value_as_date(i) }).collect())
}

pub fn bools(batch: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>> {
    let a = column(batch, name, &DataType::Boolean)?;
    Ok(a.as_boolean().iter().collect())
}

pub(super) fn unit_scores(batches: &[RecordBatch]) -> Result<Vec<UnitScore>> {
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
        let (population, per_1000) = (i("population")?, f("tickets_per_1000")?);
        let (rm, rp, cm, cp) =
            (f("respond_hours_median")?, f("respond_hours_p90")?, f("close_hours_median")?, f("close_hours_p90")?);
        let (t_prev, t_chg_prev, s_prev, s_chg_prev) =
            (i("tickets_previous")?, f("tickets_change_prev")?, f("score_previous")?, f("score_change_prev")?);
        let (r_prev, movement) = (i("rank_previous")?, i("rank_movement")?);
        let (t_yoy, t_chg_yoy, s_yoy, s_chg_yoy) =
            (i("tickets_year_earlier")?, f("tickets_change_yoy")?, f("score_year_earlier")?, f("score_change_yoy")?);
        let (bottom_months, longest, watch) = (i("bottom_months")?, i("bottom_longest_run")?, bools(b, "watch_list")?);
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
                population: population[k],
                tickets_per_1000: per_1000[k],
                respond_hours_median: rm[k],
                respond_hours_p90: rp[k],
                close_hours_median: cm[k],
                close_hours_p90: cp[k],
                tickets_previous: t_prev[k],
                tickets_change_prev: t_chg_prev[k],
                score_previous: s_prev[k],
                score_change_prev: s_chg_prev[k],
                rank_previous: r_prev[k],
                rank_movement: movement[k],
                tickets_year_earlier: t_yoy[k],
                tickets_change_yoy: t_chg_yoy[k],
                score_year_earlier: s_yoy[k],
                score_change_yoy: s_chg_yoy[k],
                bottom_months: bottom_months[k],
                bottom_longest_run: longest[k],
                watch_list: watch[k].unwrap_or(false),
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

/// (bucket, period start, summary) per row of city_summary.sql.
pub(super) fn city_summaries(batches: &[RecordBatch]) -> Result<Vec<(String, NaiveDate, CitySummary)>> {
    let mut out = Vec::new();
    for b in batches {
        let (bucket, start) = (strings(b, "bucket")?, dates(b, "period_start")?);
        let i = |name| ints(b, name);
        let f = |name| floats(b, name);
        let (tickets, dispatched, scored, months, population) =
            (i("tickets")?, i("dispatched")?, i("scored_tickets")?, i("months")?, i("population")?);
        let (rr, sr, mr, or, per_1000) = (
            f("response_rate")?,
            f("resolution_rate")?,
            f("satisfaction_rate")?,
            f("on_time_rate")?,
            f("tickets_per_1000")?,
        );
        for k in 0..b.num_rows() {
            let summary = CitySummary {
                tickets: tickets[k].unwrap_or(0),
                dispatched: dispatched[k].unwrap_or(0),
                scored_tickets: scored[k].unwrap_or(0),
                response_rate: rr[k],
                resolution_rate: sr[k],
                satisfaction_rate: mr[k],
                on_time_rate: or[k],
                months: months[k].unwrap_or(0),
                population: population[k],
                tickets_per_1000: per_1000[k],
            };
            out.push((bucket[k].clone().unwrap_or_default(), start[k].context("period_start")?, summary));
        }
    }
    Ok(out)
}

pub(super) fn unit_months(batches: &[RecordBatch]) -> Result<Vec<UnitMonth>> {
    let mut out = Vec::new();
    for b in batches {
        let (month, ut, unit, parent) =
            (dates(b, "month")?, strings(b, "unit_type")?, strings(b, "unit")?, strings(b, "parent")?);
        let (tickets, scored, rank) = (ints(b, "tickets")?, ints(b, "scored_tickets")?, ints(b, "rank")?);
        let f = |name| floats(b, name);
        let (rr, sr, mr, or, score) =
            (f("response_rate")?, f("resolution_rate")?, f("satisfaction_rate")?, f("on_time_rate")?, f("score")?);
        for k in 0..b.num_rows() {
            out.push(UnitMonth {
                month: month[k].context("month")?,
                unit_type: ut[k].clone().unwrap_or_default(),
                unit: unit[k].clone().unwrap_or_default(),
                parent: parent[k].clone(),
                tickets: tickets[k].unwrap_or(0),
                scored_tickets: scored[k].unwrap_or(0),
                response_rate: rr[k],
                resolution_rate: sr[k],
                satisfaction_rate: mr[k],
                on_time_rate: or[k],
                score: score[k],
                rank: rank[k],
            });
        }
    }
    Ok(out)
}

pub(super) fn peer_rates(batches: &[RecordBatch]) -> Result<Vec<PeerRates>> {
    let mut out = Vec::new();
    for b in batches {
        let (ut, group) = (strings(b, "unit_type")?, strings(b, "unit_group")?);
        let i = |name| ints(b, name);
        let f = |name| floats(b, name);
        let (units, ranked, tickets, scored) = (i("units")?, i("ranked")?, i("tickets")?, i("scored_tickets")?);
        let (rr, sr, mr, or, median) = (
            f("response_rate")?,
            f("resolution_rate")?,
            f("satisfaction_rate")?,
            f("on_time_rate")?,
            f("median_score")?,
        );
        for k in 0..b.num_rows() {
            out.push(PeerRates {
                unit_type: ut[k].clone().unwrap_or_default(),
                unit_group: group[k].clone().unwrap_or_default(),
                units: units[k].unwrap_or(0),
                ranked: ranked[k].unwrap_or(0),
                tickets: tickets[k].unwrap_or(0),
                scored_tickets: scored[k].unwrap_or(0),
                response_rate: rr[k],
                resolution_rate: sr[k],
                satisfaction_rate: mr[k],
                on_time_rate: or[k],
                median_score: median[k],
            });
        }
    }
    Ok(out)
}

pub(super) fn category_counts(batches: &[RecordBatch]) -> Result<Vec<CategoryCount>> {
    let mut out = Vec::new();
    for b in batches {
        let (ut, unit, parent) = (strings(b, "unit_type")?, strings(b, "unit")?, strings(b, "parent")?);
        let (l1, l2) = (strings(b, "category_l1")?, strings(b, "category_l2")?);
        let i = |name| ints(b, name);
        let (level, tickets, earlier, rank) =
            (i("level")?, i("tickets")?, i("tickets_year_earlier")?, i("category_rank")?);
        let (change, resolution) = (floats(b, "tickets_change_yoy")?, floats(b, "resolution_rate")?);
        for k in 0..b.num_rows() {
            let unit_type = ut[k].clone().unwrap_or_default();
            let category_rank = rank[k].unwrap_or(0);
            if unit_type != "city" && category_rank > UNIT_CATEGORIES_KEPT {
                continue;
            }
            out.push(CategoryCount {
                unit_type,
                unit: unit[k].clone(),
                parent: parent[k].clone(),
                level: level[k].unwrap_or(2),
                category_l1: l1[k].clone().unwrap_or_default(),
                category_l2: l2[k].clone(),
                tickets: tickets[k].unwrap_or(0),
                tickets_year_earlier: earlier[k].unwrap_or(0),
                tickets_change_yoy: change[k],
                resolution_rate: resolution[k],
                category_rank,
            });
        }
    }
    Ok(out)
}
