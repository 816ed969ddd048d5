//! One short report per unit (`report --units district,department,street`): the unit's data
//! for report-templates/unit.typ, file names safe on any file system, and rendering in
//! parallel chunks with progress, where one failing unit does not stop the others.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde_json::{Value, json};

use super::charts::{self, Axis};
use super::format::{change_pct, share};
use super::{Locale, Table, period_name};
use crate::config::UNIT_TYPES;
use crate::metrics::{CategoryCount, UnitMonth, UnitScore};

pub const UNIT_TEMPLATE: &str = include_str!("../../../report-templates/unit.typ");
pub const CHARTS_TEMPLATE: &str = include_str!("../../../report-templates/charts.typ");

/// Units per typst process: big enough that font loading is paid rarely, small enough that
/// both cores stay busy and a failing chunk is cheap to retry unit by unit. Fixed, so the
/// chunks (and the bytes) do not depend on the machine.
const CHUNK: usize = 16;
/// Level-2 categories shown per unit.
const TOP_CATEGORIES: usize = 8;
/// Best and worst streets shown in a district's report.
const STREETS_SHOWN: usize = 5;

/// Which unit types `--units` asks for, in a fixed order (district, street, department).
pub fn parse_unit_types(spec: &str) -> std::result::Result<Vec<String>, String> {
    let mut want = HashSet::new();
    for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match part {
            "all" => want.extend(UNIT_TYPES.iter().map(|s| s.to_string())),
            t if UNIT_TYPES.contains(&t) => {
                want.insert(t.to_string());
            }
            "districts" | "streets" | "departments" => {
                want.insert(part.trim_end_matches('s').to_string());
            }
            other => {
                return Err(format!("unknown unit type `{other}` (use district, street, department or all)"));
            }
        }
    }
    if want.is_empty() {
        return Err("no unit type given (use district, street, department or all)".into());
    }
    Ok(UNIT_TYPES.iter().filter(|t| want.contains(**t)).map(|t| t.to_string()).collect())
}

/// A file-name stem safe on Linux, macOS and Windows: no path separators, reserved characters
/// or control characters, no leading dot, no trailing dot or space, not a reserved device name,
/// at most 120 bytes. Chinese and other letters are kept.
pub fn safe_stem(name: &str) -> String {
    let mut s: String =
        name.chars()
            .map(|c| {
                if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
    s = s.trim().trim_end_matches(['.', ' ']).to_string();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s = s.trim_end_matches(['.', ' ']).to_string();
    }
    let upper = s.to_ascii_uppercase();
    let base = upper.split('.').next().unwrap_or("");
    let reserved = matches!(base, "CON" | "PRN" | "AUX" | "NUL")
        || ((base.starts_with("COM") || base.starts_with("LPT"))
            && base.len() == 4
            && base.as_bytes()[3].is_ascii_digit());
    if s.is_empty() || reserved {
        s.insert(0, '_');
    }
    s
}

/// File names for units, `<type>/<stem>.pdf`; a street is `<district>_<street>` (street names
/// repeat across districts). Two units whose stems collide (also case-insensitively) are told
/// apart by a short hash of the full name, so no report overwrites another.
pub fn file_names(units: &[(&str, &str, Option<&str>)]) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    units
        .iter()
        .map(|(unit_type, unit, parent)| {
            let full = match parent {
                Some(p) => format!("{p}_{unit}"),
                None => unit.to_string(),
            };
            let mut stem = safe_stem(&full);
            if used.contains(&format!("{unit_type}/{}", stem.to_lowercase())) {
                let h =
                    crate::hash::sha256_hex(format!("{unit_type}\u{0}{}\u{0}{unit}", parent.unwrap_or("")).as_bytes());
                stem = format!("{stem}~{}", &h[..8]);
            }
            used.insert(format!("{unit_type}/{}", stem.to_lowercase()));
            format!("{unit_type}/{stem}.pdf")
        })
        .collect()
}

/// One unit's report: where it goes and what it shows.
pub struct UnitDoc {
    pub unit_type: String,
    pub unit: String,
    pub parent: Option<String>,
    /// Relative to the report folder: `district/东城区.pdf`.
    pub file: String,
    pub data: Value,
}

/// What happened to one unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Written {
        pages: Option<usize>,
    },
    /// Deliberately not rendered (e.g. no tickets in the period), with the reason.
    Skipped(String),
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub unit_type: String,
    pub unit: String,
    pub parent: Option<String>,
    pub file: Option<String>,
    pub status: Status,
}

/// Everything the unit reports share: the city report's input.
pub type UnitContext<'a> = super::ReportInput<'a>;

/// The metadata every unit report shows: the city report's, plus the unit report's name and
/// its footnote.
pub fn meta(cx: &UnitContext, city_meta: &Value) -> Value {
    let mut meta = city_meta.clone();
    let l = cx.locale;
    meta["report_name"] = json!(l.fill(
        "u_report_name",
        &[("city", cx.city.to_string()), ("title", city_meta["title"].as_str().unwrap_or("").to_string())]
    ));
    meta["note"] = json!(l.fill("u_note", &[("min", cx.settings.min_scored_tickets.to_string())]));
    meta
}

type Key<'a> = (&'a str, &'a str, Option<&'a str>);

fn key(u: &UnitScore) -> Key<'_> {
    (u.unit_type.as_str(), u.unit.as_str(), u.parent.as_deref())
}

/// The reports to render for `types`, and the units deliberately skipped: a unit the archive
/// knows (tickets in the year before the period) with no tickets in the period gets no PDF.
pub fn plan(cx: &UnitContext, types: &[String]) -> (Vec<UnitDoc>, Vec<Outcome>) {
    let m = cx.metrics;
    let l = cx.locale;
    let months = super::city::trend_months(cx.period);
    let mut by_unit: HashMap<Key, Vec<&UnitMonth>> = HashMap::new();
    for um in &m.unit_months {
        by_unit.entry((um.unit_type.as_str(), um.unit.as_str(), um.parent.as_deref())).or_default().push(um);
    }
    let mut cats: HashMap<Key, Vec<&CategoryCount>> = HashMap::new();
    for c in m.categories.iter().filter(|c| c.unit_type != "city") {
        let unit = c.unit.as_deref().unwrap_or("");
        cats.entry((c.unit_type.as_str(), unit, c.parent.as_deref())).or_default().push(c);
    }
    let city_months: HashMap<NaiveDate, &crate::metrics::CitySummary> =
        m.city_months.iter().map(|(d, c)| (*d, c)).collect();

    let chosen: Vec<&UnitScore> = m.scores.iter().filter(|u| types.contains(&u.unit_type)).collect();
    let names = file_names(&chosen.iter().map(|u| key(u)).collect::<Vec<_>>());
    let docs = chosen
        .iter()
        .zip(names)
        .map(|(u, file)| {
            let data = unit_data(cx, u, &months, by_unit.get(&key(u)), cats.get(&key(u)), &city_months);
            UnitDoc { unit_type: u.unit_type.clone(), unit: u.unit.clone(), parent: u.parent.clone(), file, data }
        })
        .collect();

    let present: HashSet<Key> = m.scores.iter().map(key).collect();
    let skipped = m
        .known_units
        .iter()
        .filter(|(t, u, p)| types.contains(t) && !present.contains(&(t.as_str(), u.as_str(), p.as_deref())))
        .map(|(t, u, p)| Outcome {
            unit_type: t.clone(),
            unit: u.clone(),
            parent: p.clone(),
            file: None,
            status: Status::Skipped(l.get("u_skip_no_tickets")),
        })
        .collect();
    (docs, skipped)
}

fn group_label(l: &Locale, group: &str) -> String {
    l.get(&format!("group_{group}"))
}

fn signed_pp(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => {
            let pp = (a - b) * 100.0;
            let s = format!("{:+.2}", pp);
            if s == "+0.00" || s == "-0.00" { "0.00".into() } else { s }
        }
        _ => "—".into(),
    }
}

fn vs_city(l: &Locale, a: Option<f64>, b: Option<f64>) -> String {
    l.pp_phrase("u_vs_city", "u_vs_city_none", a, b)
}

fn hours(l: &Locale, h: Option<f64>) -> String {
    match h {
        Some(h) => l.fill("u_hours", &[("h", format!("{h:.1}"))]),
        None => "—".into(),
    }
}

fn unit_data(
    cx: &UnitContext,
    u: &UnitScore,
    months: &[NaiveDate],
    history: Option<&Vec<&UnitMonth>>,
    cats: Option<&Vec<&CategoryCount>>,
    city_months: &HashMap<NaiveDate, &crate::metrics::CitySummary>,
) -> Value {
    let (m, l) = (cx.metrics, cx.locale);
    let c = &m.city;
    let period = period_name(cx.period, l);
    let english = super::city::district_names_en();
    let name = super::city::display_name(l, &u.unit_type, &u.unit, english);
    let peer = m.peer(&u.unit_type, &u.unit_group);
    let group = group_label(l, &u.unit_group);
    let ranked_in_group = peer.map(|p| p.ranked).unwrap_or(0);
    let min = cx.settings.min_scored_tickets;

    let movement = match u.rank_movement {
        Some(n) if n > 0 => l.fill("u_moved_up", &[("n", n.to_string())]),
        Some(n) if n < 0 => l.fill("u_moved_down", &[("n", (-n).to_string())]),
        Some(_) => l.get("u_moved_flat"),
        None => String::new(),
    };
    let rank_text = match u.rank {
        Some(r) => l.fill(
            "u_rank_text",
            &[
                ("group", group.clone()),
                ("rank", r.to_string()),
                ("ranked", ranked_in_group.to_string()),
                ("movement", movement.clone()),
            ],
        ),
        None => l.fill("u_not_ranked_text", &[("min", min.to_string())]),
    };
    let yoy = match u.tickets_year_earlier {
        Some(prev) => l.change(u.tickets, prev),
        None => l.get("no_previous"),
    };
    let summary = l.fill(
        "u_summary",
        &[
            ("period", period.clone()),
            ("unit", name.clone()),
            ("tickets", l.int(u.tickets)),
            ("yoy", yoy.clone()),
            ("scored", l.int(u.scored_tickets)),
            ("score", l.score(u.score)),
            ("rank_text", rank_text),
            ("resolution", l.pct(u.resolution_rate)),
            ("resolution_vs", vs_city(l, u.resolution_rate, c.resolution_rate)),
            ("satisfaction", l.pct(u.satisfaction_rate)),
            ("satisfaction_vs", vs_city(l, u.satisfaction_rate, c.satisfaction_rate)),
        ],
    );
    let per_1000 = match (u.tickets_per_1000, c.tickets_per_1000) {
        (Some(a), Some(b)) if u.unit_type == "district" => {
            format!(" {}", l.fill("u_per_1000", &[("v", format!("{a:.1}")), ("city", format!("{b:.1}"))]))
        }
        (Some(a), _) => format!(" {}", l.fill("u_per_1000_alone", &[("v", format!("{a:.1}"))])),
        _ => String::new(),
    };
    let summary = format!("{summary}{per_1000}");

    let pieces = l.get("kpi_unit_pieces");
    let kpi = |label: &str, value: String, note: String| json!({"label": l.get(label), "value": value, "note": note});
    let city_share = share(u.scored_tickets, c.scored_tickets);
    let score_note = match u.score_change_prev {
        Some(d) => l.fill("u_score_change", &[("d", format!("{d:+.2}"))]),
        None => l.get("u_no_previous_score"),
    };
    let kpis = vec![
        kpi("kpi_tickets", format!("{}{pieces}", l.int(u.tickets)), yoy),
        kpi(
            "kpi_scored",
            format!("{}{pieces}", l.int(u.scored_tickets)),
            l.fill("u_city_share", &[("share", l.pct(city_share))]),
        ),
        kpi("col_score", l.score(u.score) + if u.score_reweighted { "*" } else { "" }, score_note),
        kpi(
            "col_rank",
            match u.rank {
                Some(r) => format!("{r} / {ranked_in_group}"),
                None => l.get("not_ranked"),
            },
            match u.rank_movement {
                Some(n) if n > 0 => l.fill("u_kpi_up", &[("n", n.to_string())]),
                Some(n) if n < 0 => l.fill("u_kpi_down", &[("n", (-n).to_string())]),
                Some(_) => l.get("u_kpi_flat"),
                None => group.clone(),
            },
        ),
    ];

    // The four rates: unit, its peers, the city.
    let rate_rows = [
        ("col_response", u.response_rate, peer.and_then(|p| p.response_rate), c.response_rate),
        ("col_resolution", u.resolution_rate, peer.and_then(|p| p.resolution_rate), c.resolution_rate),
        ("col_satisfaction", u.satisfaction_rate, peer.and_then(|p| p.satisfaction_rate), c.satisfaction_rate),
        ("col_on_time", u.on_time_rate, peer.and_then(|p| p.on_time_rate), c.on_time_rate),
    ];
    let all_rates: Vec<f64> = rate_rows.iter().flat_map(|(_, a, b, c)| [*a, *b, *c]).flatten().collect();
    let axis = Axis::covering(all_rates, 0.0, 1.0, false);
    let compare = json!({
        "names": [name.clone(), group.clone(), l.get("u_city")],
        "lo": axis.lo, "hi": axis.hi,
        "note": l.fill("u_bars_from", &[("lo", charts::pct_tick(axis.lo)), ("hi", charts::pct_tick(axis.hi))]),
        "rows": rate_rows.iter().map(|(k, a, b, c)| json!({
            "label": l.get(k),
            "values": [a, b, c],
            "texts": [l.pct(*a), l.pct(*b), l.pct(*c)],
        })).collect::<Vec<_>>(),
    });
    let rates = Table {
        header: vec![
            l.get("u_col_metric"),
            l.get("u_col_unit"),
            l.get("u_col_peers"),
            l.get("u_city"),
            l.get("u_col_vs_city"),
        ],
        rows: rate_rows
            .iter()
            .map(|(k, a, b, c)| vec![l.get(k), l.pct(*a), l.pct(*b), l.pct(*c), signed_pp(*a, *c)])
            .chain(std::iter::once(vec![
                l.get("col_score"),
                l.score(u.score),
                l.score(peer.and_then(|p| p.median_score)),
                "—".into(),
                "—".into(),
            ]))
            .collect(),
    };
    let d = &m.city_durations;
    let times = Table {
        header: vec![
            l.get("u_col_times"),
            l.get("u_respond_median"),
            l.get("u_respond_p90"),
            l.get("u_close_median"),
            l.get("u_close_p90"),
        ],
        rows: vec![
            vec![
                name.clone(),
                hours(l, u.respond_hours_median),
                hours(l, u.respond_hours_p90),
                hours(l, u.close_hours_median),
                hours(l, u.close_hours_p90),
            ],
            vec![
                l.get("u_city"),
                hours(l, d.respond_hours_median),
                hours(l, d.respond_hours_p90),
                hours(l, d.close_hours_median),
                hours(l, d.close_hours_p90),
            ],
        ],
    };

    // Monthly trend over the 12 months ending with the period.
    let by_month: HashMap<NaiveDate, &&UnitMonth> =
        history.map(|h| h.iter().map(|x| (x.month, x)).collect()).unwrap_or_default();
    let x = charts::month_labels(l, months);
    let volumes: Vec<Option<f64>> =
        months.iter().map(|mo| Some(by_month.get(mo).map(|x| x.tickets).unwrap_or(0) as f64)).collect();
    let vol_axis = Axis::covering(volumes.iter().flatten().cloned(), 0.0, f64::INFINITY, true);
    let res: Vec<Option<f64>> = months.iter().map(|mo| by_month.get(mo).and_then(|x| x.resolution_rate)).collect();
    let sat: Vec<Option<f64>> = months.iter().map(|mo| by_month.get(mo).and_then(|x| x.satisfaction_rate)).collect();
    let city_res: Vec<Option<f64>> =
        months.iter().map(|mo| city_months.get(mo).and_then(|c| c.resolution_rate)).collect();
    let rate_axis = Axis::covering(res.iter().chain(&sat).chain(&city_res).flatten().cloned(), 0.0, 1.0, false);
    let trend_volume = json!({
        "x": x, "y": vol_axis.spec(|v| charts::count_tick(l, v)),
        "bars": {"name": l.get("kpi_tickets"), "values": volumes},
    });
    let trend_rates = json!({
        "x": x, "y": rate_axis.spec(charts::pct_tick), "legend": true,
        "lines": [
            {"name": l.get("col_resolution"), "values": res},
            {"name": l.get("col_satisfaction"), "values": sat},
            {"name": l.get("u_city_resolution"), "values": city_res},
        ],
    });

    // Top categories and their change.
    let top: Vec<&&CategoryCount> =
        cats.map(|v| v.iter().filter(|c| c.tickets > 0).take(TOP_CATEGORIES).collect()).unwrap_or_default();
    let categories = Table {
        header: vec![
            l.get("col_rank"),
            l.get("u_col_category"),
            l.get("kpi_tickets"),
            l.get("u_col_share"),
            l.get("u_col_yoy"),
            l.get("col_resolution"),
        ],
        rows: top
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let share = share(c.tickets, u.tickets);
                vec![
                    (i + 1).to_string(),
                    format!("{} · {}", c.category_l1, c.name()),
                    l.int(c.tickets),
                    l.pct(share),
                    change_pct(c.tickets_change_yoy),
                    l.pct(c.resolution_rate),
                ]
            })
            .collect(),
    };
    let categories_text = match top.first() {
        Some(first) => {
            let top_share: i64 = top.iter().map(|c| c.tickets).sum();
            let riser = top.iter().filter(|c| c.tickets_year_earlier > 0).max_by(|a, b| {
                a.tickets_change_yoy.partial_cmp(&b.tickets_change_yoy).unwrap_or(std::cmp::Ordering::Equal)
            });
            let mut s = l.fill(
                "u_categories_text",
                &[
                    ("first", first.name().to_string()),
                    ("first_n", l.int(first.tickets)),
                    ("n", top.len().to_string()),
                    ("share", l.pct(if u.tickets > 0 { Some(top_share as f64 / u.tickets as f64) } else { None })),
                ],
            );
            if let Some(r) = riser.filter(|r| r.tickets_change_yoy.unwrap_or(0.0) > 0.0) {
                s.push_str(&l.fill(
                    "u_categories_riser",
                    &[("cat", r.name().to_string()), ("chg", change_pct(r.tickets_change_yoy))],
                ));
            }
            s
        }
        None => l.get("u_no_categories"),
    };

    // A district's best and worst streets (their rank among all streets of the city).
    let streets = if u.unit_type == "district" {
        // ranked streets by rank, then the unranked ones (scores are sorted that way)
        let mine: Vec<&UnitScore> = m.of_type("street").filter(|s| s.parent.as_deref() == Some(&u.unit)).collect();
        let ranked = mine.iter().filter(|s| s.rank.is_some()).count();
        let street_peer = m.peer("street", "street").map(|p| p.ranked).unwrap_or(0);
        let table = |rows: &[&UnitScore]| Table {
            header: vec![
                l.get("col_street"),
                l.get("col_scored"),
                l.get("col_resolution"),
                l.get("col_satisfaction"),
                l.get("col_score"),
                l.fill("u_col_city_rank", &[("n", street_peer.to_string())]),
            ],
            rows: rows
                .iter()
                .map(|s| {
                    vec![
                        s.unit.clone(),
                        l.int(s.scored_tickets),
                        l.pct(s.resolution_rate),
                        l.pct(s.satisfaction_rate),
                        l.score(s.score),
                        s.rank.map(|r| r.to_string()).unwrap_or_else(|| l.get("not_ranked")),
                    ]
                })
                .collect(),
        };
        let text = if mine.is_empty() {
            l.get("u_no_streets")
        } else {
            l.fill("u_streets_text", &[("n", mine.len().to_string()), ("ranked", ranked.to_string())])
        };
        let groups = if mine.is_empty() {
            vec![]
        } else if mine.len() <= 2 * STREETS_SHOWN || ranked < 2 * STREETS_SHOWN {
            vec![json!({"title": l.get("u_streets_all"), "table": table(&mine)})]
        } else {
            let best: Vec<&UnitScore> = mine.iter().take(STREETS_SHOWN).copied().collect();
            let ranked_list: Vec<&UnitScore> = mine.iter().filter(|s| s.rank.is_some()).copied().collect();
            let worst = ranked_list[ranked_list.len() - STREETS_SHOWN..].to_vec();
            vec![
                json!({"title": l.fill("u_streets_best", &[("n", STREETS_SHOWN.to_string())]), "table": table(&best)}),
                json!({"title": l.fill("u_streets_worst", &[("n", STREETS_SHOWN.to_string())]), "table": table(&worst)}),
            ]
        };
        json!({"text": text, "groups": groups})
    } else {
        Value::Null
    };

    let kind = match &u.parent {
        Some(p) => {
            format!("{} · {}", super::city::display_name(l, "district", p, english), group_label(l, &u.unit_group))
        }
        None => group_label(l, &u.unit_group),
    };
    json!({
        "name": name,
        "kind": kind,
        "title": l.fill("u_title", &[("unit", name.clone())]),
        "trend_title": l.fill("u_s_trend", &[("range", charts::month_range(l, months))]),
        "summary": summary,
        "kpis": kpis,
        "compare": compare,
        "rates": rates,
        "times": times,
        "trend_volume": trend_volume,
        "trend_rates": trend_rates,
        "categories": categories,
        "categories_text": categories_text,
        "streets": streets,
        // what the PDF printed, for read-back tests
        "kpi": {"unit_type": u.unit_type, "unit": u.unit, "parent": u.parent, "tickets": u.tickets, "score": u.score, "rank": u.rank},
    })
}

/// Progress of the unit reports: a bar on a terminal, plain lines (every 10%) otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: AtomicUsize,
    last_decile: AtomicUsize,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "unit reports {bar:40.cyan/blue} {pos}/{len} {elapsed} (eta {eta})",
                )
                .expect("valid template"),
            );
            b
        });
        Progress { bar, total, done: AtomicUsize::new(0), last_decile: AtomicUsize::new(0) }
    }

    fn advance(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::SeqCst) + n;
        match &self.bar {
            Some(b) => b.inc(n as u64),
            None => {
                let decile = done * 10 / self.total.max(1);
                if self.last_decile.fetch_max(decile, Ordering::SeqCst) < decile {
                    crate::commands::say(&format!("unit reports: {done}/{} rendered", self.total));
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Render `docs` into `out_dir/<doc.file>`, in chunks of CHUNK units per typst process, on
/// `jobs` threads. A chunk that fails is retried unit by unit with the stable single-PDF export,
/// so a unit that cannot be rendered fails alone. `common` holds the labels and metadata.
pub fn render(
    docs: Vec<UnitDoc>,
    common: &Value,
    build: &Path,
    out_dir: &Path,
    timestamp: i64,
    jobs: usize,
) -> Result<Vec<Outcome>> {
    std::fs::write(build.join("unit.typ"), UNIT_TEMPLATE)?;
    std::fs::write(build.join("charts.typ"), CHARTS_TEMPLATE)?;
    for t in UNIT_TYPES {
        if docs.iter().any(|d| d.unit_type == *t) {
            std::fs::create_dir_all(out_dir.join(t))?;
        }
    }
    let progress = Progress::new(docs.len());
    let results = Mutex::new(Vec::new());
    let chunks: Vec<(usize, &[UnitDoc])> = docs.chunks(CHUNK).enumerate().collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build()?;
    pool.install(|| {
        chunks.par_iter().for_each(|(n, chunk)| {
            let outcomes = render_chunk(*n, chunk, common, build, out_dir, timestamp);
            progress.advance(chunk.len());
            results.lock().expect("no panics while holding the lock").push((*n, outcomes));
        })
    });
    progress.finish();
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|(n, _)| *n);
    Ok(results.into_iter().flat_map(|(_, o)| o).collect())
}

fn outcome(doc: &UnitDoc, status: Status) -> Outcome {
    Outcome {
        unit_type: doc.unit_type.clone(),
        unit: doc.unit.clone(),
        parent: doc.parent.clone(),
        file: Some(doc.file.clone()),
        status,
    }
}

/// Test hook: the unit of this name gets data its template cannot render, to show that one
/// failing unit fails alone and that a failed run publishes nothing.
const FAIL_HOOK: &str = "HOTLINE_TEST_FAIL_UNIT";

fn unit_value(d: &UnitDoc) -> Value {
    let mut v = d.data.clone();
    if std::env::var(FAIL_HOOK).is_ok_and(|u| u == d.unit) {
        v["kpis"] = json!("not a list");
    }
    v
}

fn chunk_data(common: &Value, units: Vec<Value>) -> Value {
    let mut data = common.clone();
    data["units"] = Value::Array(units);
    data
}

fn render_chunk(
    n: usize,
    chunk: &[UnitDoc],
    common: &Value,
    build: &Path,
    out_dir: &Path,
    timestamp: i64,
) -> Vec<Outcome> {
    let name = format!("chunk-{n:04}");
    let attempt = || -> Result<Vec<Outcome>> {
        let units: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut v = unit_value(d);
                v["out"] = json!(format!("u{i:02}.pdf"));
                v
            })
            .collect();
        let json_name = format!("{name}.json");
        std::fs::write(build.join(&json_name), serde_json::to_vec(&chunk_data(common, units))?)?;
        let out = build.join(format!("{name}.out"));
        super::typst::compile_unit(build, "unit.typ", &out, timestamp, &json_name, true)?;
        let mut outcomes = Vec::new();
        for (i, d) in chunk.iter().enumerate() {
            let made = out.join(format!("u{i:02}.pdf"));
            let pages = super::pdf_pages(&made);
            let dest = out_dir.join(&d.file);
            std::fs::rename(&made, &dest)
                .with_context(|| format!("moving {} to {}", made.display(), dest.display()))?;
            outcomes.push(outcome(d, Status::Written { pages }));
        }
        Ok(outcomes)
    };
    // after a stop signal nothing more is written or started (src/cleanup.rs)
    let stopped = || chunk.iter().map(|d| outcome(d, Status::Failed("stopped by a signal".into()))).collect();
    if crate::cleanup::stopping() {
        return stopped();
    }
    match attempt() {
        Ok(o) => o,
        Err(_) if crate::cleanup::stopping() => stopped(),
        Err(_) => chunk
            .iter()
            .enumerate()
            .map(|(i, d)| render_one(&format!("{name}-{i:02}"), d, common, build, out_dir, timestamp))
            .collect(),
    }
}

fn render_one(name: &str, d: &UnitDoc, common: &Value, build: &Path, out_dir: &Path, timestamp: i64) -> Outcome {
    let attempt = || -> Result<Option<usize>> {
        let json_name = format!("{name}.json");
        std::fs::write(build.join(&json_name), serde_json::to_vec(&chunk_data(common, vec![unit_value(d)]))?)?;
        let dest = out_dir.join(&d.file);
        super::typst::compile_unit(build, "unit.typ", &dest, timestamp, &json_name, false)?;
        Ok(super::pdf_pages(&dest))
    };
    match attempt() {
        Ok(pages) => outcome(d, Status::Written { pages }),
        Err(e) => outcome(d, Status::Failed(format!("{e:#}"))),
    }
}

/// `units.csv`: one row per unit asked for, with its file and what happened.
pub fn write_index(path: &Path, outcomes: &[Outcome]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["unit_type", "unit", "parent", "file", "status", "pages", "reason"])?;
    for o in outcomes {
        let (status, pages, reason) = match &o.status {
            Status::Written { pages } => ("written", pages.map(|p| p.to_string()).unwrap_or_default(), String::new()),
            Status::Skipped(r) => ("skipped", String::new(), r.clone()),
            Status::Failed(r) => ("failed", String::new(), r.lines().next().unwrap_or("").to_string()),
        };
        w.write_record([
            o.unit_type.as_str(),
            o.unit.as_str(),
            o.parent.as_deref().unwrap_or(""),
            o.file.as_deref().unwrap_or(""),
            status,
            pages.as_str(),
            reason.as_str(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests;
