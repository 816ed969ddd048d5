//! Reporting periods: `2025`, `2025Q3`, `2025-07`, `last-year`, `last-quarter`, `last-month`,
//! each a half-open range of local dates `[start, end)`.

use chrono::{Datelike, NaiveDate};

use crate::error::{self, UserError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Year,
    Quarter,
    Month,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub granularity: Granularity,
    pub year: i32,
    /// Quarter 1–4 or month 1–12; 0 for a year.
    pub index: u32,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn year(year: i32) -> Self {
        Self::make(Granularity::Year, year, 0)
    }

    pub fn quarter(year: i32, q: u32) -> Self {
        Self::make(Granularity::Quarter, year, q)
    }

    pub fn month(year: i32, m: u32) -> Self {
        Self::make(Granularity::Month, year, m)
    }

    fn make(granularity: Granularity, year: i32, index: u32) -> Self {
        let (first_month, months) = match granularity {
            Granularity::Year => (1, 12),
            Granularity::Quarter => (3 * (index - 1) + 1, 3),
            Granularity::Month => (index, 1),
        };
        let start = NaiveDate::from_ymd_opt(year, first_month, 1).expect("valid period start");
        let end = add_months(start, months);
        Period { granularity, year, index, start, end }
    }

    /// Parse a period; `today` resolves the relative forms.
    pub fn parse(text: &str, today: NaiveDate) -> Result<Self, UserError> {
        let t = text.trim();
        let bad = || {
            error::usage(format!("invalid period `{t}`")).hint(
                "use a year (2025), a quarter (2025Q3), a month (2025-07), or last-year, last-quarter, last-month",
            )
        };
        match t {
            "last-year" => return Ok(Period::year(today.year() - 1)),
            "last-quarter" => {
                let q = (today.month() - 1) / 3 + 1;
                return Ok(if q == 1 {
                    Period::quarter(today.year() - 1, 4)
                } else {
                    Period::quarter(today.year(), q - 1)
                });
            }
            "last-month" => {
                let m = today.month();
                return Ok(if m == 1 {
                    Period::month(today.year() - 1, 12)
                } else {
                    Period::month(today.year(), m - 1)
                });
            }
            _ => {}
        }
        let year = |s: &str| -> Result<i32, UserError> {
            if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                let y: i32 = s.parse().map_err(|_| bad())?;
                if (1900..=2999).contains(&y) {
                    return Ok(y);
                }
            }
            Err(bad())
        };
        if let Some((y, q)) = t.split_once(['Q', 'q']) {
            let q: u32 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) {
                return Err(bad());
            }
            return Ok(Period::quarter(year(y)?, q));
        }
        if let Some((y, m)) = t.split_once('-') {
            if m.len() != 2 {
                return Err(bad());
            }
            let m: u32 = m.parse().map_err(|_| bad())?;
            if !(1..=12).contains(&m) {
                return Err(bad());
            }
            return Ok(Period::month(year(y)?, m));
        }
        Ok(Period::year(year(t)?))
    }

    /// Canonical label, also the output folder name: `2025`, `2025Q3`, `2025-07`.
    pub fn label(&self) -> String {
        match self.granularity {
            Granularity::Year => format!("{}", self.year),
            Granularity::Quarter => format!("{}Q{}", self.year, self.index),
            Granularity::Month => format!("{}-{:02}", self.year, self.index),
        }
    }

    /// The same period one year earlier (同比).
    pub fn year_earlier(&self) -> Self {
        Self::make(self.granularity, self.year - 1, self.index)
    }

    /// The period just before this one (环比): the previous month or quarter, or the previous
    /// year for a year (then the same as [`Period::year_earlier`]).
    pub fn previous(&self) -> Self {
        match self.granularity {
            Granularity::Year => Self::year(self.year - 1),
            Granularity::Quarter if self.index == 1 => Self::quarter(self.year - 1, 4),
            Granularity::Quarter => Self::quarter(self.year, self.index - 1),
            Granularity::Month if self.index == 1 => Self::month(self.year - 1, 12),
            Granularity::Month => Self::month(self.year, self.index - 1),
        }
    }

    /// First day of every month in the period.
    pub fn months(&self) -> Vec<NaiveDate> {
        month_starts(self.start, self.end)
    }
}

/// First day of every month from `start` (a first of the month) up to, not including, `end`.
pub fn month_starts(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = start;
    while m < end {
        out.push(m);
        m = add_months(m, 1);
    }
    out
}

/// Microseconds since 1970-01-01 00:00 of `d`'s midnight: how the archive's wall-clock
/// timestamps (no time zone) count.
pub fn micros(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros()
}

/// First of the month `n` months after (negative: before) the first of `d`'s month.
pub fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).expect("valid month")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_absolute_periods() {
        let today = d(2026, 11, 25);
        let y = Period::parse("2025", today).unwrap();
        assert_eq!((y.start, y.end, y.label()), (d(2025, 1, 1), d(2026, 1, 1), "2025".to_string()));
        let q = Period::parse("2025Q3", today).unwrap();
        assert_eq!((q.start, q.end, q.label()), (d(2025, 7, 1), d(2025, 10, 1), "2025Q3".to_string()));
        let q4 = Period::parse("2025q4", today).unwrap();
        assert_eq!((q4.start, q4.end), (d(2025, 10, 1), d(2026, 1, 1)));
        let m = Period::parse("2025-12", today).unwrap();
        assert_eq!((m.start, m.end, m.label()), (d(2025, 12, 1), d(2026, 1, 1), "2025-12".to_string()));
        assert_eq!(m.months(), vec![d(2025, 12, 1)]);
        assert_eq!(q.months().len(), 3);
        assert_eq!(y.months().len(), 12);
    }

    #[test]
    fn resolves_relative_periods() {
        assert_eq!(Period::parse("last-year", d(2026, 11, 25)).unwrap().label(), "2025");
        assert_eq!(Period::parse("last-quarter", d(2026, 11, 25)).unwrap().label(), "2026Q3");
        assert_eq!(Period::parse("last-quarter", d(2026, 2, 1)).unwrap().label(), "2025Q4");
        assert_eq!(Period::parse("last-month", d(2026, 1, 31)).unwrap().label(), "2025-12");
        assert_eq!(Period::parse("last-month", d(2026, 11, 25)).unwrap().label(), "2026-10");
    }

    #[test]
    fn rejects_bad_periods_with_a_hint() {
        for bad in ["", "25", "2025Q5", "2025Q0", "2025-13", "2025-7", "20255", "next-year", "2025-00"] {
            let err = Period::parse(bad, d(2026, 1, 1)).unwrap_err();
            assert!(err.message.contains("invalid period"), "{bad}");
            assert!(err.hint.is_some());
        }
    }

    #[test]
    fn year_earlier_keeps_granularity() {
        let q = Period::quarter(2025, 3).year_earlier();
        assert_eq!(q.label(), "2024Q3");
    }

    #[test]
    fn previous_period_steps_back_one_unit() {
        assert_eq!(Period::year(2025).previous().label(), "2024");
        assert_eq!(Period::quarter(2025, 3).previous().label(), "2025Q2");
        assert_eq!(Period::quarter(2025, 1).previous().label(), "2024Q4");
        assert_eq!(Period::month(2025, 1).previous().label(), "2024-12");
        assert_eq!(Period::month(2025, 7).previous().label(), "2025-06");
        let q = Period::quarter(2025, 1).previous();
        assert_eq!((q.start, q.end), (d(2024, 10, 1), d(2025, 1, 1)));
    }
}
