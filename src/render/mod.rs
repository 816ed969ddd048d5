//! From typed metrics to a PDF: the report's data (JSON, read by Typst as data), the Typst
//! source (a Tera template), and `typst compile`.

pub mod charts;
pub mod city;
pub mod format;
pub mod typst;
pub mod units;

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::Lang;
use crate::config::MetricSettings;
use crate::engine::Archive;
use crate::metrics::{Metrics, UnitScore};
use crate::period::{Granularity, Period};
use crate::queries;
pub use format::Locale;

pub const REPORT_TEMPLATE: &str = include_str!("../../report-templates/report.typ");

/// Everything the report template needs besides the metrics.
pub struct ReportInput<'a> {
    pub metrics: &'a Metrics,
    pub period: &'a Period,
    pub settings: &'a MetricSettings,
    pub archive: &'a Archive,
    pub locale: &'a Locale,
    pub city: &'a str,
    /// Each archive file with path, size, rows and SHA-256 (as in the manifest).
    pub inputs: &'a [Value],
}

/// Write `s` as a Typst string literal: the escape function Tera applies to every value it
/// inserts into a `.typ` template, so a value can never become markup or code.
pub fn typst_string(s: &str, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    for ch in s.chars() {
        match ch {
            '\\' => out.write_all(b"\\\\")?,
            '"' => out.write_all(b"\\\"")?,
            '\n' => out.write_all(b"\\n")?,
            '\r' => out.write_all(b"\\r")?,
            '\t' => out.write_all(b"\\t")?,
            c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32)?,
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

/// The Typst source of the city-wide report.
pub fn typst_source(lang: Lang, sections: &[&str]) -> Result<String> {
    let mut tera = tera::Tera::new();
    tera.set_escape_fn(typst_string);
    tera.autoescape_on([".typ"]);
    tera.add_raw_template("report.typ", REPORT_TEMPLATE).context("parsing report-templates/report.typ")?;
    let mut ctx = tera::Context::new();
    ctx.insert("lang", if lang == Lang::Zh { "zh" } else { "en" });
    ctx.insert("sections", sections);
    tera.render("report.typ", &ctx).context("rendering report-templates/report.typ")
}

pub const SECTIONS: &[&str] = &["overview", "hotspots", "handling", "rankings", "difficult", "appendix"];

#[derive(Serialize)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Rank movement against the previous period (unit_report.sql): ↑n, ↓n, –, or "new".
fn rank_change(unit: &UnitScore, l: &Locale) -> String {
    match unit.rank_movement {
        Some(n) if n > 0 => format!("↑{n}"),
        Some(n) if n < 0 => format!("↓{}", -n),
        Some(_) => "–".to_string(),
        None if unit.rank.is_some() && unit.tickets_previous.is_none() => l.get("new_unit"),
        None => "–".to_string(),
    }
}

fn score_cell(u: &UnitScore, l: &Locale) -> String {
    let s = l.score(u.score);
    if u.score_reweighted { format!("{s}*") } else { s }
}

fn rank_cell(u: &UnitScore, l: &Locale) -> String {
    u.rank.map(|r| r.to_string()).unwrap_or_else(|| l.get("not_ranked"))
}

fn unit_table(units: &[&UnitScore], l: &Locale, name_col: &str, with_parent: bool) -> Table {
    let english = city::district_names_en();
    let mut header = vec![l.get("col_rank"), l.get(name_col)];
    if with_parent {
        header.push(l.get("col_parent"));
    }
    header.extend(
        ["col_scored", "col_response", "col_resolution", "col_satisfaction", "col_on_time", "col_score", "col_change"]
            .iter()
            .map(|k| l.get(k)),
    );
    let rows = units
        .iter()
        .map(|u| {
            let mut row = vec![rank_cell(u, l), city::display_name(l, &u.unit_type, &u.unit, english)];
            if with_parent {
                row.push(
                    u.parent.as_deref().map(|p| city::display_name(l, "district", p, english)).unwrap_or_default(),
                );
            }
            row.extend([
                l.int(u.scored_tickets),
                l.pct(u.response_rate),
                l.pct(u.resolution_rate),
                l.pct(u.satisfaction_rate),
                l.pct(u.on_time_rate),
                score_cell(u, l),
                rank_change(u, l),
            ]);
            row
        })
        .collect();
    Table { header, rows }
}

fn reweighted_note(units: &[&UnitScore], l: &Locale) -> String {
    if units.iter().any(|u| u.score_reweighted) { l.get("reweighted_note") } else { String::new() }
}

pub(crate) fn period_name(p: &Period, l: &Locale) -> String {
    let year = p.year.to_string();
    match p.granularity {
        Granularity::Year => l.fill("period_year", &[("year", year)]),
        Granularity::Quarter => l.fill("period_quarter", &[("year", year), ("q", p.index.to_string())]),
        Granularity::Month => {
            let month_name = p.start.format("%B").to_string();
            l.fill("period_month", &[("year", year), ("m", p.index.to_string()), ("month_name", month_name)])
        }
    }
}

fn title(p: &Period, l: &Locale) -> String {
    l.get(match p.granularity {
        Granularity::Year => "title_annual",
        Granularity::Quarter => "title_quarter",
        Granularity::Month => "title_month",
    })
}

/// The report's data: every string the PDF shows, already formatted for the locale.
pub fn report_data(input: &ReportInput) -> Result<Value> {
    let (m, l, p) = (input.metrics, input.locale, input.period);
    let city = input.city.to_string();
    let c = &m.city;
    let prev = &m.city_year_earlier;
    let period = period_name(p, l);
    let direct = c.tickets - c.dispatched;
    let share = format::share;
    let daily = if m.days_with_tickets > 0 { c.tickets / m.days_with_tickets } else { 0 };
    let (peak_day, peak_count) = match m.peak_day {
        Some((d, n)) => (l.date(d), l.int(n)),
        None => ("—".into(), "0".into()),
    };

    let overview_text = l.fill(
        "overview_text",
        &[
            ("period", period.clone()),
            ("city", city.clone()),
            ("tickets", l.int(c.tickets)),
            ("yoy_tickets", l.change(c.tickets, prev.tickets)),
            ("daily", l.int(daily)),
            ("peak_day", peak_day),
            ("peak_count", peak_count),
            ("direct", l.int(direct)),
            ("direct_share", l.pct(share(direct, c.tickets))),
            ("dispatched", l.int(c.dispatched)),
            ("scored", l.int(c.scored_tickets)),
        ],
    );
    let overview_prev = match p.granularity {
        Granularity::Year => String::new(),
        _ => l.fill(
            "overview_prev_text",
            &[
                ("prev", period_name(&p.previous(), l)),
                ("chg", l.change_prev(c.tickets, m.city_previous.tickets)),
                ("d_resolution", l.pp_change(c.resolution_rate, m.city_previous.resolution_rate)),
                ("d_satisfaction", l.pp_change(c.satisfaction_rate, m.city_previous.satisfaction_rate)),
            ],
        ),
    };
    let rates_text = l.fill(
        "rates_text",
        &[
            ("response", l.pct(c.response_rate)),
            ("resolution", l.pct(c.resolution_rate)),
            ("satisfaction", l.pct(c.satisfaction_rate)),
            ("on_time", l.pct(c.on_time_rate)),
            ("d_resolution", l.pp_change(c.resolution_rate, prev.resolution_rate)),
            ("d_satisfaction", l.pp_change(c.satisfaction_rate, prev.satisfaction_rate)),
        ],
    );
    let pieces = l.get("kpi_unit_pieces");
    let kpi = |label: &str, value: String, note: String| json!({"label": l.get(label), "value": value, "note": note});
    let kpis = vec![
        kpi("kpi_tickets", format!("{}{pieces}", l.int(c.tickets)), l.change(c.tickets, prev.tickets)),
        kpi("kpi_dispatched", format!("{}{pieces}", l.int(c.dispatched)), l.change(c.dispatched, prev.dispatched)),
        kpi(
            "kpi_scored",
            format!("{}{pieces}", l.int(c.scored_tickets)),
            l.change(c.scored_tickets, prev.scored_tickets),
        ),
        kpi(
            "kpi_direct_share",
            l.pct(share(direct, c.tickets)),
            l.pp_change(share(direct, c.tickets), share(prev.tickets - prev.dispatched, prev.tickets)),
        ),
        kpi("kpi_response", l.pct(c.response_rate), l.pp_change(c.response_rate, prev.response_rate)),
        kpi("kpi_resolution", l.pct(c.resolution_rate), l.pp_change(c.resolution_rate, prev.resolution_rate)),
        kpi("kpi_satisfaction", l.pct(c.satisfaction_rate), l.pp_change(c.satisfaction_rate, prev.satisfaction_rate)),
        kpi("kpi_on_time", l.pct(c.on_time_rate), l.pp_change(c.on_time_rate, prev.on_time_rate)),
    ];

    let districts: Vec<&UnitScore> = m.of_type("district").collect();
    let w = &input.settings.weights[0];
    let scores: Vec<f64> = districts.iter().filter_map(|u| u.score).collect();
    let lo = scores.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let (bar_lo, bar_hi) =
        if scores.is_empty() { (0.0, 100.0) } else { ((lo - 1.0).floor().max(0.0), hi.ceil().min(100.0)) };
    let best = districts.iter().filter_map(|u| u.rank).min();
    let english = city::district_names_en();
    let bars: Vec<Value> = districts
        .iter()
        .filter(|u| u.score.is_some())
        .map(|u| {
            json!({"label": city::display_name(l, "district", &u.unit, english), "value": u.score, "text": l.score(u.score), "highlight": u.rank.is_some() && u.rank == best})
        })
        .collect();

    let municipal: Vec<&UnitScore> = m.of_group("municipal").collect();
    let enterprises: Vec<&UnitScore> = m.of_group("enterprise").collect();
    let streets: Vec<&UnitScore> = m.of_type("street").collect();
    let ranked_streets: Vec<&UnitScore> = streets.iter().copied().filter(|u| u.rank.is_some()).collect();
    let top: Vec<&UnitScore> = ranked_streets.iter().take(10).copied().collect();
    let bottom: Vec<&UnitScore> = ranked_streets.iter().rev().take(10).rev().copied().collect();
    let min = input.settings.min_scored_tickets.to_string();

    let files: Vec<String> = queries::FILES.iter().map(|(n, _)| format!("queries/{n}.sql")).collect();
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let query_table = Table {
        header: vec![l.get("col_file"), l.get("col_sha256")],
        rows: queries::FILES
            .iter()
            .map(|(n, t)| vec![format!("queries/{n}.sql"), short(&crate::hash::sha256_hex(t.as_bytes()))])
            .collect(),
    };
    let input_table = Table {
        header: vec![l.get("col_file"), l.get("col_rows"), l.get("col_sha256")],
        rows: input
            .inputs
            .iter()
            .map(|f| {
                vec![
                    f["path"].as_str().unwrap_or("").to_string(),
                    l.int(f["rows"].as_i64().unwrap_or(0)),
                    short(f["sha256"].as_str().unwrap_or("")),
                ]
            })
            .collect(),
    };
    let def = |k: &str| l.fill(k, &[("min", min.clone())]);
    // "术语：定义" → {term, text}, so the template can set the term in bold
    let items: Vec<Value> =
        ["def_scored", "def_response", "def_resolution", "def_satisfaction", "def_on_time", "def_score"]
            .iter()
            .map(|k| {
                let full = def(k);
                let (term, text) = full
                    .split_once('：')
                    .or_else(|| full.split_once(": "))
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap_or((String::new(), full.clone()));
                json!({"term": term, "text": text})
            })
            .collect();
    let appendix = json!({
        "intro": l.get("def_intro"),
        "items": items,
        "sources": l.fill("def_sources", &[("files", files.join(", "))]),
        "archive": l.fill("def_archive", &[("files", l.int(input.archive.files.len() as i64)), ("rows", l.int(input.archive.rows() as i64))]),
        "queries": query_table,
        "inputs": input_table,
        "evidence": l.get("def_evidence"),
        "quality": city::quality(input),
    });

    let labels: serde_json::Map<String, Value> =
        l.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let end_inclusive = p.end.pred_opt().unwrap_or(p.end);
    Ok(json!({
        "t": labels,
        "meta": {
            "org": l.fill("org", &[("city", city.clone())]),
            "title": title(p, l),
            "period": period,
            "issuer": l.fill("issuer", &[("city", city.clone())]),
            "date": l.date(p.end),
            "data_range": l.fill("data_range", &[("start", l.date(p.start)), ("end", l.date(end_inclusive))]),
            "generated_by": l.fill("generated_by", &[("version", env!("CARGO_PKG_VERSION").to_string())]),
        },
        "overview": {"text": overview_text, "prev_text": overview_prev, "rates_text": rates_text, "kpis": kpis, "mix": city::overview_mix(input)},
        "hotspots": city::hotspots(input),
        "handling": city::handling(input),
        "watch": city::watch_list(input),
        "difficult": city::difficult(input),
        "districts": {
            "text": l.fill("districts_text", &[("w_response", format!("{}", w.response)), ("w_resolution", format!("{}", w.resolution)), ("w_satisfaction", format!("{}", w.satisfaction))]),
            "table": unit_table(&districts, l, "col_district", false),
            "note": reweighted_note(&districts, l),
            "bars": bars, "bar_lo": bar_lo, "bar_hi": bar_hi,
        },
        "departments": {
            "text": l.get("departments_text"),
            "groups": [
                {"title": l.get("dept_municipal"), "table": unit_table(&municipal, l, "col_department", false), "note": reweighted_note(&municipal, l)},
                {"title": l.get("dept_enterprise"), "table": unit_table(&enterprises, l, "col_department", false), "note": reweighted_note(&enterprises, l)},
            ],
        },
        "streets": {
            "text": l.fill("streets_text", &[("count", l.int(streets.len() as i64)), ("ranked", l.int(ranked_streets.len() as i64)), ("min", min.clone())]),
            "top": unit_table(&top, l, "col_street", true),
            "bottom": unit_table(&bottom, l, "col_street", true),
        },
        "appendix": appendix,
        // The figures the PDF prints, as numbers, for `typst eval 'query(<kpi>)'` read-back.
        "kpi": {
            "period": m.period,
            "tickets": c.tickets,
            "dispatched": c.dispatched,
            "scored_tickets": c.scored_tickets,
            "response_rate": c.response_rate,
            "resolution_rate": c.resolution_rate,
            "satisfaction_rate": c.satisfaction_rate,
            "on_time_rate": c.on_time_rate,
            "districts": districts.iter().map(|u| json!({"unit": u.unit, "rank": u.rank, "score": u.score, "resolution_rate": u.resolution_rate})).collect::<Vec<_>>(),
        },
    }))
}

/// Page count from the PDF's page tree (`/Type /Pages ... /Count N`), for summaries.
pub fn pdf_pages(path: &std::path::Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let at = text.find("/Type /Pages").or_else(|| text.find("/Type/Pages"))?;
    let rest = &text[at..];
    let count = rest.find("/Count")?;
    rest[count + 6..].trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        typst_string(s, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn typst_strings_escape_everything_that_could_end_them() {
        assert_eq!(escaped(r#"#read("/etc/passwd")"#), r##""#read(\"/etc/passwd\")""##);
        assert_eq!(escaped("a\\b\n\u{1}"), r##""a\\b\n\u{1}""##);
        assert_eq!(escaped("*bold* $x$ <a> @b"), "\"*bold* $x$ <a> @b\"");
    }

    #[test]
    fn tera_emits_only_the_chosen_sections() {
        let src = typst_source(Lang::Zh, &["overview"]).unwrap();
        assert!(src.contains("= #t.s_overview"));
        assert!(!src.contains("= #t.s_districts"));
        assert!(src.contains("numbering(\"一、\""));
        let en = typst_source(Lang::En, SECTIONS).unwrap();
        assert!(en.contains("= #t.s_appendix") && en.contains("numbering: \"1.1\""));
    }
}
