//! Numbers, percentages and changes formatted for a report locale.

use std::collections::HashMap;

use anyhow::{Context, Result};

use crate::args::Lang;

/// Labels and sentence templates of one locale (report-templates/locales/*.json).
#[derive(Debug, Clone)]
pub struct Locale {
    pub lang: Lang,
    pub labels: HashMap<String, String>,
}

pub const ZH: &str = include_str!("../../report-templates/locales/zh.json");
pub const EN: &str = include_str!("../../report-templates/locales/en.json");

impl Locale {
    pub fn load(lang: Lang) -> Result<Self> {
        let text = match lang {
            Lang::Zh => ZH,
            Lang::En => EN,
        };
        let labels = serde_json::from_str(text).context("parsing the locale file")?;
        Ok(Locale { lang, labels })
    }

    /// The label `key`; a missing key is a bug in the locale file and shows as `[key]`.
    /// Label the on-time closing rate as a proxy everywhere it is named: `tickets` scored tickets
    /// were judged against a due time from the source system (data_quality.sql source:due_at).
    pub fn mark_on_time_proxy(&mut self, tickets: i64) {
        let mark = self.get("proxy_mark");
        for key in ["kpi_on_time", "col_on_time"] {
            let v = format!("{}{mark}", self.get(key));
            self.labels.insert(key.to_string(), v);
        }
        let def = self.fill("def_on_time_proxy", &[("n", self.int(tickets))]);
        self.labels.insert("def_on_time".to_string(), def);
        let phrase = self.get("on_time_phrase");
        let text = self.get("rates_text").replacen(&phrase, &format!("{phrase}{mark}"), 1);
        self.labels.insert("rates_text".to_string(), text);
    }

    pub fn get(&self, key: &str) -> String {
        self.labels.get(key).cloned().unwrap_or_else(|| format!("[{key}]"))
    }

    /// The label `key` with `{name}` placeholders filled.
    pub fn fill(&self, key: &str, values: &[(&str, String)]) -> String {
        let mut s = self.get(key);
        for (k, v) in values {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// `1,234,567`
    pub fn int(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if n < 0 { format!("-{out}") } else { out }
    }

    /// `97.53%`, or `—` when the rate does not exist (empty denominator).
    pub fn pct(&self, rate: Option<f64>) -> String {
        match rate {
            Some(r) => format!("{:.2}%", r * 100.0),
            None => "—".to_string(),
        }
    }

    pub fn score(&self, score: Option<f64>) -> String {
        match score {
            Some(s) => format!("{s:.2}"),
            None => "—".to_string(),
        }
    }

    /// Year-over-year change of a count: `同比增长7.0%` / `up 7.0% year over year`.
    pub fn change(&self, current: i64, previous: i64) -> String {
        self.change_as("yoy", current, previous)
    }

    /// Change of a count against the previous period (环比): `环比增长3.1%`.
    pub fn change_prev(&self, current: i64, previous: i64) -> String {
        self.change_as("qoq", current, previous)
    }

    fn change_as(&self, kind: &str, current: i64, previous: i64) -> String {
        if previous <= 0 {
            return self.get(if kind == "yoy" { "no_previous" } else { "no_previous_period" });
        }
        let pct = (current as f64 - previous as f64) / previous as f64 * 100.0;
        let text = format!("{:.1}%", pct.abs());
        if text == "0.0%" {
            self.get(&format!("{kind}_flat"))
        } else if pct > 0.0 {
            self.fill(&format!("{kind}_up"), &[("pct", text)])
        } else {
            self.fill(&format!("{kind}_down"), &[("pct", text)])
        }
    }

    /// `2025年3月` / `Mar 2025`
    pub fn month(&self, d: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        match self.lang {
            Lang::Zh => format!("{}年{}月", d.year(), d.month()),
            Lang::En => d.format("%b %Y").to_string(),
        }
    }

    /// Change of a rate in percentage points: `提高0.35个百分点`.
    pub fn pp_change(&self, current: Option<f64>, previous: Option<f64>) -> String {
        self.pp_phrase("pp", "no_previous", current, previous)
    }

    /// The difference `a − b` of two rates in points, in the sentence `<kind>_up`, `<kind>_down`
    /// or `<kind>_flat` (two decimals), or the label `none` when either rate is missing.
    pub fn pp_phrase(&self, kind: &str, none: &str, a: Option<f64>, b: Option<f64>) -> String {
        match (a, b) {
            (Some(a), Some(b)) => {
                let pp = (a - b) * 100.0;
                let text = format!("{:.2}", pp.abs());
                if text == "0.00" {
                    self.get(&format!("{kind}_flat"))
                } else if pp > 0.0 {
                    self.fill(&format!("{kind}_up"), &[("pp", text)])
                } else {
                    self.fill(&format!("{kind}_down"), &[("pp", text)])
                }
            }
            _ => self.get(none),
        }
    }

    pub fn date(&self, d: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        match self.lang {
            Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Lang::En => d.format("%-d %B %Y").to_string(),
        }
    }
}

/// A relative change as `+7.0%`, or `—`.
pub fn change_pct(c: Option<f64>) -> String {
    match c {
        Some(c) => format!("{:+.1}%", c * 100.0),
        None => "—".into(),
    }
}

/// `a / b`, none when `b` is not positive.
pub fn share(a: i64, b: i64) -> Option<f64> {
    if b > 0 { Some(a as f64 / b as f64) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_for_the_locale() {
        let zh = Locale::load(Lang::Zh).unwrap();
        assert_eq!(zh.int(1234567), "1,234,567");
        assert_eq!(zh.int(999), "999");
        assert_eq!(zh.int(-1000), "-1,000");
        assert_eq!(zh.pct(Some(0.975312)), "97.53%");
        assert_eq!(zh.pct(None), "—");
        assert_eq!(zh.change(107, 100), "同比增长7.0%");
        assert_eq!(zh.change(90, 100), "同比下降10.0%");
        assert_eq!(zh.change(5, 0), "上年同期无数据");
        assert_eq!(zh.pp_change(Some(0.9735), Some(0.97)), "提高0.35个百分点");
        assert_eq!(zh.date(chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()), "2026年1月5日");
        let en = Locale::load(Lang::En).unwrap();
        assert_eq!(en.change(90, 100), "down 10.0% year over year");
        assert_eq!(en.pp_change(Some(0.96), Some(0.97)), "fell 1.00 percentage points");
    }

    #[test]
    fn both_locales_have_the_same_keys() {
        let zh = Locale::load(Lang::Zh).unwrap();
        let en = Locale::load(Lang::En).unwrap();
        let mut a: Vec<_> = zh.labels.keys().collect();
        let mut b: Vec<_> = en.labels.keys().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}
