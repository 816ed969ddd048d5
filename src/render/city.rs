//! The city-wide report's analytic sections: hot spots (categories, risers and fallers, monthly
//! and hourly curves, district × month heatmap, per-capita volume), handling (rates by month,
//! district and department, times), the watch list, frequent-and-hard categories (quadrant,
//! proposed topics, configured topics before/after) and the data-quality appendix. Every
//! number comes from the metrics (queries/*.sql); this module only selects and formats.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::charts::{self, Axis};
use super::format::{change_pct, share};
use super::{Locale, ReportInput, Table};
use crate::metrics::{CategoryCount, MixRow, UnitScore};
use crate::period::add_months;

/// Categories shown in the top lists and the risers / fallers tables.
const TOP: usize = 10;
const MOVERS: usize = 5;
/// A category needs this many contacts a year earlier to count as a riser or faller (a change
/// from 3 to 12 is not news).
const MOVER_MIN_EARLIER: i64 = 50;
/// Proposed topics for next year.
const PROPOSED: usize = 5;

/// The 12 months ending with `period` (the city's curves and every unit's trend).
pub fn trend_months(period: &crate::period::Period) -> Vec<NaiveDate> {
    let first = period.year_earlier().end;
    (0..12).map(|k| add_months(first, k)).collect()
}

/// A district's display name: its English name in English reports when the reference table
/// knows it (streets and departments have no official English names and stay as they are).
pub fn display_name(l: &Locale, unit_type: &str, name: &str, english: &HashMap<String, String>) -> String {
    match (l.lang, unit_type) {
        (crate::args::Lang::En, "district") => english.get(name).cloned().unwrap_or_else(|| name.to_string()),
        _ => name.to_string(),
    }
}

/// Chinese → English district names from the reference table, read once.
pub fn district_names_en() -> &'static HashMap<String, String> {
    static NAMES: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| crate::reference::districts().into_iter().map(|d| (d.name, d.name_en)).collect())
}

/// Label of a value of the channel or request_type column.
fn mix_label(l: &Locale, dimension: &str, value: &str) -> String {
    let key = format!("{dimension}_{value}");
    if l.labels.contains_key(&key) { l.get(&key) } else { value.to_string() }
}

fn mix_bars(l: &Locale, rows: &[&MixRow], total: i64) -> Value {
    let max = rows.iter().map(|r| r.tickets).max().unwrap_or(0) as f64;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let label = mix_label(l, &r.dimension, r.value.as_deref().unwrap_or(""));
            json!({
                "label": label,
                "value": r.tickets as f64,
                "text": format!("{} · {}", l.pct(share(r.tickets, total)), change_pct(share(r.tickets, r.tickets_year_earlier).map(|x| x - 1.0))),
            })
        })
        .collect();
    json!({"items": items, "lo": 0.0, "hi": max.max(1.0)})
}

pub fn overview_mix(input: &ReportInput) -> Value {
    let (m, l) = (input.metrics, input.locale);
    let total = m.city.tickets;
    let of = |dim: &str| -> Vec<&MixRow> {
        let mut v: Vec<&MixRow> = m.mix.iter().filter(|r| r.dimension == dim && r.tickets > 0).collect();
        v.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.value.cmp(&b.value)));
        v
    };
    let channels = of("channel");
    let types = of("request_type");
    let top_channel =
        channels.first().map(|r| mix_label(l, "channel", r.value.as_deref().unwrap_or(""))).unwrap_or_default();
    let text = l.fill(
        "mix_text",
        &[
            ("channel", top_channel),
            ("channel_share", l.pct(channels.first().and_then(|r| share(r.tickets, total)))),
            (
                "types",
                types
                    .iter()
                    .take(3)
                    .map(|r| {
                        l.fill(
                            "mix_item",
                            &[
                                ("name", mix_label(l, "request_type", r.value.as_deref().unwrap_or(""))),
                                ("pct", l.pct(share(r.tickets, total))),
                            ],
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(l.get("list_sep").as_str()),
            ),
        ],
    );
    json!({"text": text, "channels": mix_bars(l, &channels, total), "types": mix_bars(l, &types, total)})
}

fn category_row(l: &Locale, c: &CategoryCount, total: i64, rank: usize) -> Vec<String> {
    vec![
        rank.to_string(),
        if c.level == 1 { c.category_l1.clone() } else { format!("{} · {}", c.category_l1, c.name()) },
        l.int(c.tickets),
        l.pct(share(c.tickets, total)),
        change_pct(c.tickets_change_yoy),
        l.pct(c.resolution_rate),
    ]
}

fn category_header(l: &Locale) -> Vec<String> {
    ["col_rank", "u_col_category", "kpi_tickets", "u_col_share", "u_col_yoy", "col_resolution"]
        .iter()
        .map(|k| l.get(k))
        .collect()
}

pub fn hotspots(input: &ReportInput) -> Value {
    let (m, l) = (input.metrics, input.locale);
    let total = m.city.tickets;
    let city: Vec<&CategoryCount> = m.categories.iter().filter(|c| c.unit_type == "city").collect();
    let l1: Vec<&CategoryCount> = city.iter().copied().filter(|c| c.level == 1 && c.tickets > 0).collect();
    let l2: Vec<&CategoryCount> = city.iter().copied().filter(|c| c.level == 2).collect();
    let mut l1_header = category_header(l);
    l1_header[1] = l.get("col_category_l1");
    let l1_table = Table {
        header: l1_header,
        rows: l1.iter().take(TOP).enumerate().map(|(i, c)| category_row(l, c, total, i + 1)).collect(),
    };
    let top_l2: Vec<&CategoryCount> = l2.iter().copied().filter(|c| c.tickets > 0).take(TOP).collect();
    let max = top_l2.first().map(|c| c.tickets).unwrap_or(1) as f64;
    let l2_bars = json!({
        "items": top_l2.iter().map(|c| json!({"label": c.name(), "value": c.tickets as f64, "text": format!("{} ({})", l.int(c.tickets), change_pct(c.tickets_change_yoy))})).collect::<Vec<_>>(),
        "lo": 0.0, "hi": max,
    });
    // risers and fallers: by the change in contacts, among categories big enough a year earlier
    let mut movers: Vec<&CategoryCount> =
        l2.iter().copied().filter(|c| c.tickets_year_earlier >= MOVER_MIN_EARLIER).collect();
    movers.sort_by(|a, b| {
        (b.tickets - b.tickets_year_earlier).cmp(&(a.tickets - a.tickets_year_earlier)).then(a.name().cmp(b.name()))
    });
    let mover_table = |rows: Vec<&CategoryCount>| Table {
        header: vec![
            l.get("u_col_category"),
            l.get("col_year_earlier"),
            l.get("kpi_tickets"),
            l.get("col_change_n"),
            l.get("u_col_yoy"),
        ],
        rows: rows
            .iter()
            .map(|c| {
                vec![
                    format!("{} · {}", c.category_l1, c.name()),
                    l.int(c.tickets_year_earlier),
                    l.int(c.tickets),
                    format!("{:+}", c.tickets - c.tickets_year_earlier),
                    change_pct(c.tickets_change_yoy),
                ]
            })
            .collect(),
    };
    let risers: Vec<&CategoryCount> =
        movers.iter().copied().filter(|c| c.tickets > c.tickets_year_earlier).take(MOVERS).collect();
    let fallers: Vec<&CategoryCount> =
        movers.iter().rev().copied().filter(|c| c.tickets < c.tickets_year_earlier).take(MOVERS).collect();
    let text = l.fill(
        "hot_text",
        &[
            ("l1", l1.first().map(|c| c.category_l1.clone()).unwrap_or_default()),
            ("l1_share", l.pct(l1.first().and_then(|c| share(c.tickets, total)))),
            ("l2", top_l2.first().map(|c| c.name().to_string()).unwrap_or_default()),
            ("l2_n", l.int(top_l2.first().map(|c| c.tickets).unwrap_or(0))),
            (
                "riser",
                risers
                    .first()
                    .map(|c| {
                        l.fill("name_with", &[("name", c.name().to_string()), ("x", change_pct(c.tickets_change_yoy))])
                    })
                    .unwrap_or_else(|| "—".into()),
            ),
            (
                "faller",
                fallers
                    .first()
                    .map(|c| {
                        l.fill("name_with", &[("name", c.name().to_string()), ("x", change_pct(c.tickets_change_yoy))])
                    })
                    .unwrap_or_else(|| "—".into()),
            ),
        ],
    );

    // monthly curve: the 12 months ending with the period, and the same months a year before
    let months = trend_months(input.period);
    let city_month: HashMap<NaiveDate, i64> = m.city_months.iter().map(|(d, c)| (*d, c.tickets)).collect();
    let volumes: Vec<Option<f64>> = months.iter().map(|d| Some(*city_month.get(d).unwrap_or(&0) as f64)).collect();
    let before: Vec<Option<f64>> =
        months.iter().map(|d| city_month.get(&add_months(*d, -12)).map(|n| *n as f64)).collect();
    let axis = Axis::covering(volumes.iter().chain(&before).flatten().cloned(), 0.0, f64::INFINITY, true);
    let monthly = json!({
        "x": charts::month_labels(l, &months),
        "y": axis.spec(|v| charts::count_tick(l, v)),
        "bars": {"name": charts::month_range(l, &months), "values": volumes},
        "lines": [{"name": l.get("chart_a_year_before"), "values": before}],
    });

    // hour of the day
    let mut hours = vec![(0i64, 0i64); 24];
    for r in m.mix.iter().filter(|r| r.dimension == "hour") {
        if let Some(h) = r.hour.filter(|h| (0..24).contains(h)) {
            hours[h as usize] = (r.tickets, r.tickets_year_earlier);
        }
    }
    let cur: Vec<Option<f64>> = hours.iter().map(|(a, _)| Some(*a as f64)).collect();
    let prev: Vec<Option<f64>> = hours.iter().map(|(_, b)| Some(*b as f64)).collect();
    let axis = Axis::covering(cur.iter().chain(&prev).flatten().cloned(), 0.0, f64::INFINITY, true);
    let peak_hour = hours.iter().enumerate().max_by_key(|(i, (n, _))| (*n, -(*i as i64))).map(|(i, _)| i).unwrap_or(0);
    let hourly = json!({
        "x": (0..24).map(|h| h.to_string()).collect::<Vec<_>>(),
        "y": axis.spec(|v| charts::count_tick(l, v)),
        "lines": [{"name": super::period_name(input.period, l), "values": cur}, {"name": l.get("chart_a_year_before"), "values": prev}],
    });

    // district × month heatmap: contacts per 10,000 residents (or contacts without a population)
    let english = district_names_en();
    let districts: Vec<&UnitScore> = m.of_type("district").collect();
    let mut by: HashMap<(&str, NaiveDate), i64> = HashMap::new();
    for um in m.unit_months.iter().filter(|u| u.unit_type == "district") {
        by.insert((um.unit.as_str(), um.month), um.tickets);
    }
    let per = |u: &UnitScore, d: &NaiveDate| -> Option<f64> {
        let n = *by.get(&(u.unit.as_str(), *d)).unwrap_or(&0) as f64;
        match u.population {
            Some(p) if p > 0 => Some(n / p as f64 * 10_000.0),
            _ => Some(n),
        }
    };
    let mut ordered = districts.clone();
    ordered.sort_by(|a, b| {
        b.tickets_per_1000
            .partial_cmp(&a.tickets_per_1000)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.unit.cmp(&b.unit))
    });
    let values: Vec<f64> =
        ordered.iter().flat_map(|u| months.iter().filter_map(|d| per(u, d)).collect::<Vec<_>>()).collect();
    let (lo, hi) = (
        values.iter().cloned().fold(f64::INFINITY, f64::min),
        values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    );
    let per_capita = districts.iter().any(|u| u.population.is_some());
    let heat = json!({
        "x": charts::month_labels(l, &months),
        "rows": ordered.iter().map(|u| json!({
            "label": display_name(l, "district", &u.unit, english),
            "cells": months.iter().map(|d| {
                let v = per(u, d);
                json!({"shade": v.map(|v| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 }), "text": v.map(|v| if per_capita { format!("{v:.1}") } else { l.int(v as i64) }).unwrap_or_default()})
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "legend": {"lo": if lo.is_finite() { format!("{lo:.1}") } else { String::new() }, "hi": if hi.is_finite() { format!("{hi:.1}") } else { String::new() }},
        "title": l.get(if per_capita { "chart_heat_per_capita" } else { "chart_heat_counts" }),
    });

    // per-capita volume by district
    let pc: Vec<&UnitScore> = ordered.iter().copied().filter(|u| u.tickets_per_1000.is_some()).collect();
    let pc_max = pc.iter().filter_map(|u| u.tickets_per_1000).fold(0.0, f64::max);
    let per_1000 = json!({
        "items": pc.iter().map(|u| json!({
            "label": display_name(l, "district", &u.unit, english),
            "value": u.tickets_per_1000,
            "text": format!("{:.1}", u.tickets_per_1000.unwrap_or(0.0)),
            "highlight": false,
        })).collect::<Vec<_>>(),
        "lo": 0.0, "hi": if pc_max > 0.0 { pc_max } else { 1.0 },
        "city": m.city.tickets_per_1000.map(|v| l.fill("per_1000_city", &[("v", format!("{v:.1}"))])).unwrap_or_default(),
    });

    json!({
        "text": text,
        "l1": l1_table,
        "l2_bars": l2_bars,
        "risers": mover_table(risers),
        "fallers": mover_table(fallers),
        "movers_note": l.fill("movers_note", &[("min", MOVER_MIN_EARLIER.to_string())]),
        "monthly": monthly,
        "hourly": hourly,
        "hourly_text": l.fill("hourly_text", &[("h", peak_hour.to_string()), ("h2", (peak_hour + 1).to_string())]),
        "heat": heat,
        "per_1000": per_1000,
    })
}

fn hours(l: &Locale, h: Option<f64>) -> String {
    match h {
        Some(h) => format!("{h:.1}"),
        None => l.pct(None),
    }
}

pub fn handling(input: &ReportInput) -> Value {
    let (m, l) = (input.metrics, input.locale);
    let english = district_names_en();
    let months = trend_months(input.period);
    let cm: HashMap<NaiveDate, &crate::metrics::CitySummary> = m.city_months.iter().map(|(d, c)| (*d, c)).collect();
    let series = |f: fn(&crate::metrics::CitySummary) -> Option<f64>| -> Vec<Option<f64>> {
        months.iter().map(|d| cm.get(d).and_then(|c| f(c))).collect()
    };
    let lines = [
        ("col_response", series(|c| c.response_rate)),
        ("col_resolution", series(|c| c.resolution_rate)),
        ("col_satisfaction", series(|c| c.satisfaction_rate)),
        ("col_on_time", series(|c| c.on_time_rate)),
    ];
    let axis = Axis::covering(lines.iter().flat_map(|(_, v)| v.iter().flatten().cloned()), 0.0, 1.0, false);
    let rates_chart = json!({
        "x": charts::month_labels(l, &months),
        "y": axis.spec(charts::pct_tick),
        "legend": true,
        "lines": lines.iter().map(|(k, v)| json!({"name": l.get(k), "values": v})).collect::<Vec<_>>(),
    });
    let d = &m.city_durations;
    let times_text = l.fill(
        "times_text",
        &[
            ("rm", hours(l, d.respond_hours_median)),
            ("rp", hours(l, d.respond_hours_p90)),
            ("cm", hours(l, d.close_hours_median)),
            ("cp", hours(l, d.close_hours_p90)),
        ],
    );
    let mut districts: Vec<&UnitScore> = m.of_type("district").collect();
    districts.sort_by(|a, b| a.unit.cmp(&b.unit));
    // name, scored tickets, the four rates, median response and closing hours, P90 closing hours
    let cells = |name: String, scored: i64, rates: [Option<f64>; 4], times: [Option<f64>; 3]| {
        let mut v = vec![name, l.int(scored)];
        v.extend(rates.iter().map(|r| l.pct(*r)));
        v.extend(times.iter().map(|t| hours(l, *t)));
        v
    };
    let row = |u: &UnitScore, name: String| {
        cells(
            name,
            u.scored_tickets,
            [u.response_rate, u.resolution_rate, u.satisfaction_rate, u.on_time_rate],
            [u.respond_hours_median, u.close_hours_median, u.close_hours_p90],
        )
    };
    let header = |first: &str| -> Vec<String> {
        [
            first,
            "col_scored",
            "col_response",
            "col_resolution",
            "col_satisfaction",
            "col_on_time",
            "col_respond_h",
            "col_close_h",
            "col_close_p90_h",
        ]
        .iter()
        .map(|k| l.get(k))
        .collect()
    };
    let c = &m.city;
    let city_row = cells(
        l.get("u_city"),
        c.scored_tickets,
        [c.response_rate, c.resolution_rate, c.satisfaction_rate, c.on_time_rate],
        [d.respond_hours_median, d.close_hours_median, d.close_hours_p90],
    );
    let district_table = Table {
        header: header("col_district"),
        rows: districts
            .iter()
            .map(|u| row(u, display_name(l, "district", &u.unit, english)))
            .chain(std::iter::once(city_row))
            .collect(),
    };
    let group_table = |g: &str| {
        let mut v: Vec<&UnitScore> = m.of_group(g).collect();
        v.sort_by(|a, b| b.scored_tickets.cmp(&a.scored_tickets).then(a.unit.cmp(&b.unit)));
        Table { header: header("col_department"), rows: v.iter().map(|u| row(u, u.unit.clone())).collect() }
    };
    json!({
        "text": l.fill("handling_text", &[("range", charts::month_range(l, &months))]),
        "rates_chart": rates_chart,
        "times_text": times_text,
        "districts": district_table,
        "municipal": group_table("municipal"),
        "enterprise": group_table("enterprise"),
    })
}

pub fn watch_list(input: &ReportInput) -> Value {
    let (m, l) = (input.metrics, input.locale);
    let w = &input.settings.watch_list;
    let english = district_names_en();
    let units: Vec<&UnitScore> = m.scores.iter().filter(|u| u.watch_list).collect();
    let table = Table {
        header: ["col_unit", "col_parent", "col_bottom_months", "col_longest_run", "col_score", "col_rank"]
            .iter()
            .map(|k| l.get(k))
            .collect(),
        rows: units
            .iter()
            .map(|u| {
                vec![
                    u.unit.clone(),
                    u.parent.as_deref().map(|p| display_name(l, "district", p, english)).unwrap_or_default(),
                    u.bottom_months.map(|n| n.to_string()).unwrap_or_default(),
                    u.bottom_longest_run.map(|n| n.to_string()).unwrap_or_default(),
                    l.score(u.score),
                    u.rank.map(|r| r.to_string()).unwrap_or_else(|| l.get("not_ranked")),
                ]
            })
            .collect(),
    };
    let types: Vec<String> = w.unit_types.iter().map(|t| l.get(&format!("type_{t}"))).collect();
    json!({
        "text": l.fill("watch_text", &[("types", types.join(l.get("list_sep").as_str())), ("bottom", w.bottom.to_string()), ("months", w.months.to_string()), ("n", units.len().to_string())]),
        "table": table,
        "empty": units.is_empty(),
    })
}

/// Position of `v` on a log axis from `lo` to `hi`, as a fraction.
fn log_frac(v: f64, lo: f64, hi: f64) -> f64 {
    if hi <= lo || v <= 0.0 { 0.0 } else { ((v.ln() - lo.ln()) / (hi.ln() - lo.ln())).clamp(0.0, 1.0) }
}

pub fn difficult(input: &ReportInput) -> Value {
    let (m, l) = (input.metrics, input.locale);
    let city_res = m.city.resolution_rate;
    let l2: Vec<&CategoryCount> = m
        .categories
        .iter()
        .filter(|c| c.unit_type == "city" && c.level == 2 && c.tickets > 0 && c.resolution_rate.is_some())
        .collect();
    // frequent: at least the median volume of the categories; hard: resolution below the city's
    let mut volumes: Vec<i64> = l2.iter().map(|c| c.tickets).collect();
    volumes.sort();
    let median = if volumes.is_empty() { 0 } else { volumes[volumes.len() / 2] };
    let hard = |c: &CategoryCount| c.tickets >= median && c.resolution_rate < city_res;
    let mut candidates: Vec<&CategoryCount> = l2.iter().copied().filter(|c| hard(c)).collect();
    // ordered by unresolved answers: volume × (1 − resolution rate)
    let unresolved = |c: &CategoryCount| c.tickets as f64 * (1.0 - c.resolution_rate.unwrap_or(1.0));
    candidates.sort_by(|a, b| {
        unresolved(b).partial_cmp(&unresolved(a)).unwrap_or(std::cmp::Ordering::Equal).then(a.name().cmp(b.name()))
    });
    let proposed: Vec<&CategoryCount> = candidates.iter().take(PROPOSED).copied().collect();

    // quadrant chart: volume on a log axis, resolution rate on a linear one
    let vmin = l2.iter().map(|c| c.tickets).min().unwrap_or(1).max(1) as f64;
    let vmax = l2.iter().map(|c| c.tickets).max().unwrap_or(10).max(2) as f64;
    let (xlo, xhi) = (10f64.powf(vmin.log10().floor()), 10f64.powf(vmax.log10().ceil()));
    let rates: Vec<f64> = l2.iter().filter_map(|c| c.resolution_rate).chain(city_res).collect();
    let y = Axis::covering(rates, 0.0, 1.0, false);
    let yf = |v: f64| if y.hi > y.lo { (v - y.lo) / (y.hi - y.lo) } else { 0.5 };
    let mut x_ticks = Vec::new();
    let mut t = xlo;
    while t <= xhi * 1.0001 {
        x_ticks.push(json!({"f": log_frac(t, xlo, xhi), "label": charts::count_tick(l, t)}));
        t *= 10.0;
    }
    let quadrant = json!({
        "x-ticks": x_ticks,
        "y-ticks": y.ticks.iter().map(|v| json!({"f": yf(*v), "label": charts::pct_tick(*v)})).collect::<Vec<_>>(),
        // the proposed topics are numbered as in the table below (names would overlap)
        "points": l2.iter().map(|c| {
            let at = proposed.iter().position(|p| std::ptr::eq(*p, *c));
            json!({"x": log_frac(c.tickets as f64, xlo, xhi), "y": yf(c.resolution_rate.unwrap_or(0.0)), "label": at.map(|i| (i + 1).to_string()), "highlight": at.is_some()})
        }).collect::<Vec<_>>(),
        "vline": log_frac(median.max(1) as f64, xlo, xhi),
        "hline": yf(city_res.unwrap_or(y.lo)),
        // top = resolution above the city's (easy), bottom = below (hard); left = rare, right = frequent
        "quadrants": [l.get("quad_rare_easy"), l.get("quad_frequent_easy"), l.get("quad_rare_hard"), l.get("quad_frequent_hard")],
        "x-title": l.get("quad_x"),
        "y-title": l.get("quad_y"),
    });
    // their monthly trend in the period
    let mut months: Vec<NaiveDate> =
        m.mix.iter().filter(|r| r.dimension == "category_month").filter_map(|r| r.month).collect();
    months.sort();
    months.dedup();
    let mut per: HashMap<(&str, &str, NaiveDate), i64> = HashMap::new();
    for r in m.mix.iter().filter(|r| r.dimension == "category_month") {
        if let (Some(a), Some(b), Some(d)) = (&r.category_l1, &r.category_l2, r.month) {
            per.insert((a.as_str(), b.as_str(), d), r.tickets);
        }
    }
    let trend_lines: Vec<Value> = proposed
        .iter()
        .take(4)
        .map(|c| {
            json!({"name": c.name(), "values": months.iter().map(|d| Some(*per.get(&(c.category_l1.as_str(), c.name(), *d)).unwrap_or(&0) as f64)).collect::<Vec<_>>()})
        })
        .collect();
    let tv: Vec<f64> = trend_lines
        .iter()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64())
        .collect();
    let axis = Axis::covering(tv, 0.0, f64::INFINITY, true);
    let trend = json!({
        "x": charts::month_labels(l, &months),
        "y": axis.spec(|v| charts::count_tick(l, v)),
        "legend": true,
        "lines": trend_lines,
    });
    let proposed_table = Table {
        header: ["col_rank", "u_col_category", "kpi_tickets", "u_col_yoy", "col_resolution", "col_unresolved"]
            .iter()
            .map(|k| l.get(k))
            .collect(),
        rows: proposed
            .iter()
            .enumerate()
            .map(|(i, c)| {
                vec![
                    (i + 1).to_string(),
                    format!("{} · {}", c.category_l1, c.name()),
                    l.int(c.tickets),
                    change_pct(c.tickets_change_yoy),
                    l.pct(c.resolution_rate),
                    l.int(unresolved(c).round() as i64),
                ]
            })
            .collect(),
    };

    // configured 每月一题 topics of the period's year, before and after
    let year = input.period.year;
    let topics: Vec<&crate::config::Topic> = input
        .settings
        .topics
        .iter()
        .filter(|t| chrono::Datelike::year(&t.month) == year && t.month < input.period.end)
        .collect();
    let effect = |name: &str, phase: &str| m.topics.iter().find(|e| e.topic == name && e.phase == phase);
    let topic_table = Table {
        header: [
            "col_topic",
            "col_topic_month",
            "col_per_month_before",
            "col_per_month_after",
            "u_col_yoy_change",
            "col_res_before",
            "col_res_after",
            "col_sat_before",
            "col_sat_after",
        ]
        .iter()
        .map(|k| l.get(k))
        .collect(),
        rows: topics
            .iter()
            .map(|t| {
                let (b, a) = (effect(&t.name, "before"), effect(&t.name, "after"));
                let pm = |e: Option<&crate::metrics::TopicEffect>| {
                    e.and_then(|e| e.tickets_per_month).map(|v| l.int(v.round() as i64)).unwrap_or_else(|| "—".into())
                };
                let chg = match (b.and_then(|e| e.tickets_per_month), a.and_then(|e| e.tickets_per_month)) {
                    (Some(x), Some(y)) if x > 0.0 => change_pct(Some(y / x - 1.0)),
                    _ => "—".into(),
                };
                vec![
                    l.fill(
                        "name_with",
                        &[("name", t.name.clone()), ("x", t.categories.join(l.get("list_sep").as_str()))],
                    ),
                    l.month(t.month),
                    pm(b),
                    pm(a),
                    chg,
                    l.pct(b.and_then(|e| e.resolution_rate)),
                    l.pct(a.and_then(|e| e.resolution_rate)),
                    l.pct(b.and_then(|e| e.satisfaction_rate)),
                    l.pct(a.and_then(|e| e.satisfaction_rate)),
                ]
            })
            .collect(),
    };
    let after_partial =
        topics.iter().any(|t| add_months(t.month, crate::config::TOPIC_WINDOW_MONTHS) > input.period.end);
    let topics_text = if topics.is_empty() {
        l.get("topics_none")
    } else {
        let mut s = l.fill(
            "topics_text",
            &[("n", topics.len().to_string()), ("w", crate::config::TOPIC_WINDOW_MONTHS.to_string())],
        );
        if after_partial {
            s.push_str(&l.get("topics_partial"));
        }
        s
    };
    json!({
        "text": l.fill("difficult_text", &[("n", l2.len().to_string()), ("median", l.int(median)), ("city_res", l.pct(city_res)), ("hard", candidates.len().to_string())]),
        "quadrant": quadrant,
        "proposed_text": if proposed.is_empty() { l.get("proposed_none") } else { l.fill("proposed_text", &[("list", proposed.iter().map(|c| c.name().to_string()).collect::<Vec<_>>().join(l.get("list_sep").as_str())), ("year", (year + 1).to_string())]) },
        "proposed": proposed_table,
        "trend": trend,
        "trend_title": l.get("chart_proposed_trend"),
        "topics_text": topics_text,
        "topics": topic_table,
        "has_topics": !topics.is_empty(),
    })
}

pub fn quality(input: &ReportInput) -> Value {
    let (m, l) = (input.metrics, input.locale);
    let rows = m.quality.iter().find(|(k, _)| k == "rows").map(|(_, n)| *n).unwrap_or(0);
    let table = Table {
        header: vec![l.get("col_check"), l.get("kpi_tickets"), l.get("u_col_share")],
        rows: m
            .quality
            .iter()
            .filter(|(k, n)| k == "rows" || *n > 0 || k.starts_with("order:"))
            .map(|(k, n)| {
                let label = match k.split_once(':') {
                    Some((kind, what)) => l.fill(&format!("dq_{kind}"), &[("what", what.to_string())]),
                    None => l.get("dq_rows"),
                };
                vec![label, l.int(*n), l.pct(share(*n, rows))]
            })
            .collect(),
    };
    json!({"text": l.fill("dq_text", &[("rows", l.int(input.archive.rows() as i64)), ("files", input.archive.files.len().to_string()), ("period_rows", l.int(rows))]), "table": table})
}
