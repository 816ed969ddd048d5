//! Chart specs for report-templates/charts.typ: axes with "nice" ticks and labels formatted for
//! the locale, month labels, and the series as plain numbers. Typst only draws.

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use super::Locale;
use crate::args::Lang;

/// A value axis from `lo` to `hi` with ticks at a round step (1, 2, 2.5 or 5 × 10^k), about
/// `target` of them. `lo`/`hi` are widened to the ticks around the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
}

impl Axis {
    /// An axis covering `values`; `floor`/`ceil` bound it (e.g. 0 and 1 for rates), and
    /// `from_zero` starts it at 0 (volumes).
    pub fn covering(values: impl IntoIterator<Item = f64>, floor: f64, ceil: f64, from_zero: bool) -> Axis {
        let vals: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let (mut lo, mut hi) = match (vals.iter().cloned().reduce(f64::min), vals.iter().cloned().reduce(f64::max)) {
            (Some(a), Some(b)) => (a, b),
            _ => (floor.max(0.0), if ceil.is_finite() { ceil } else { 1.0 }),
        };
        if from_zero {
            lo = lo.min(0.0);
        }
        if hi - lo < 1e-9 {
            let pad = if hi.abs() > 1e-9 { hi.abs() * 0.05 } else { 1.0 };
            lo -= pad;
            hi += pad;
        }
        let step = nice_step((hi - lo) / 4.0);
        let mut lo_t = (lo / step).floor() * step;
        let mut hi_t = (hi / step).ceil() * step;
        lo_t = lo_t.max(floor);
        hi_t = hi_t.min(ceil);
        if hi_t <= lo_t {
            hi_t = lo_t + step;
        }
        let mut ticks = Vec::new();
        let mut t = (lo_t / step).ceil() * step;
        while t <= hi_t + step * 1e-6 {
            ticks.push((t / step).round() * step);
            t += step;
        }
        Axis { lo: lo_t, hi: hi_t, ticks }
    }

    /// The spec Typst reads: lo, hi and ticks with their labels.
    pub fn spec(&self, label: impl Fn(f64) -> String) -> Value {
        json!({
            "lo": self.lo,
            "hi": self.hi,
            "ticks": self.ticks.iter().map(|t| json!({"v": t, "label": label(*t)})).collect::<Vec<_>>(),
        })
    }
}

fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Tick label of a rate axis: `92%` or `92.5%` when the step needs it.
pub fn pct_tick(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() < 1e-6 { format!("{}%", p.round() as i64) } else { format!("{p:.1}%") }
}

/// Tick label of a count axis: `12,000`, or `1.2万` / `12k` for large values.
pub fn count_tick(l: &Locale, v: f64) -> String {
    let n = v.round() as i64;
    match l.lang {
        Lang::Zh if n.abs() >= 10_000 => {
            let w = v / 10_000.0;
            if (w - w.round()).abs() < 1e-9 { format!("{}万", w.round() as i64) } else { format!("{w:.1}万") }
        }
        Lang::En if n.abs() >= 10_000 => {
            let k = v / 1000.0;
            if (k - k.round()).abs() < 1e-9 { format!("{}k", k.round() as i64) } else { format!("{k:.1}k") }
        }
        _ => l.int(n),
    }
}

/// Short month labels (`3月`, `Mar`); the chart's title carries the years (`month_range`).
pub fn month_labels(l: &Locale, months: &[NaiveDate]) -> Vec<String> {
    months
        .iter()
        .map(|m| match l.lang {
            Lang::Zh => format!("{}月", m.month()),
            Lang::En => m.format("%b").to_string(),
        })
        .collect()
}

/// `2024年10月—2025年9月` / `Oct 2024 – Sep 2025`.
pub fn month_range(l: &Locale, months: &[NaiveDate]) -> String {
    let one = |m: &NaiveDate| match l.lang {
        Lang::Zh => format!("{}年{}月", m.year(), m.month()),
        Lang::En => m.format("%b %Y").to_string(),
    };
    match (months.first(), months.last()) {
        (Some(a), Some(b)) if a != b => match l.lang {
            Lang::Zh => format!("{}—{}", one(a), one(b)),
            Lang::En => format!("{} – {}", one(a), one(b)),
        },
        (Some(a), _) => one(a),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_have_round_ticks_around_the_data() {
        let a = Axis::covering([0.913, 0.957, 0.941], 0.0, 1.0, false);
        // range 0.044 / 4 = 0.011 → step 0.02 (f = 1.1 → 2): ticks 0.90 … 0.96
        assert_eq!(a.ticks.len(), 4);
        assert!((a.lo - 0.90).abs() < 1e-12 && (a.hi - 0.96).abs() < 1e-12, "{a:?}");
        let c = Axis::covering([1200.0, 5400.0], 0.0, f64::INFINITY, true);
        // 0 … 5400: 5400 / 4 = 1350 → step 2000 (f = 1.35 → 2): 0, 2000, 4000, 6000
        assert_eq!(c.ticks, vec![0.0, 2000.0, 4000.0, 6000.0]);
        // rates never pass 100%
        let r = Axis::covering([0.97, 0.999], 0.0, 1.0, false);
        assert!(r.hi <= 1.0);
        // no data: still a usable axis
        let e = Axis::covering([], 0.0, 1.0, false);
        assert!(e.hi > e.lo && !e.ticks.is_empty());
    }

    #[test]
    fn tick_and_month_labels() {
        let zh = Locale::load(Lang::Zh).unwrap();
        let en = Locale::load(Lang::En).unwrap();
        assert_eq!(pct_tick(0.92), "92%");
        assert_eq!(pct_tick(0.925), "92.5%");
        assert_eq!(count_tick(&zh, 25_000.0), "2.5万");
        assert_eq!(count_tick(&en, 25_000.0), "25k");
        assert_eq!(count_tick(&zh, 4_000.0), "4,000");
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(month_labels(&zh, &[d(2024, 11), d(2024, 12), d(2025, 1)]), ["11月", "12月", "1月"]);
        assert_eq!(month_labels(&en, &[d(2024, 12), d(2025, 1), d(2025, 2)]), ["Dec", "Jan", "Feb"]);
        assert_eq!(month_range(&zh, &[d(2024, 10), d(2024, 11), d(2025, 9)]), "2024年10月—2025年9月");
        assert_eq!(month_range(&en, &[d(2024, 10), d(2025, 9)]), "Oct 2024 – Sep 2025");
    }
}
