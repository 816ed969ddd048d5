//! The figures around the rates, each on a hand-computed fixture: time percentiles, per-capita
//! volume, changes against the previous period and a year earlier, rank movement, the monthly
//! bottom-N and the 治理类 watch list; and a property test that months add up to their year.

use hotline::config::{MetricSettings, Population, PopulationRow, WatchList};
use hotline::metrics::Metrics;
use hotline::period::Period;
use proptest::prelude::*;

use crate::common::*;
use crate::metrics::{close, compute, settings_min, unit};

fn near(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn times_to_respond_and_close_are_exact_percentiles_of_scored_tickets() {
    // 甲区: five scored tickets responded after 1, 2, 3, 4 and 10 h and closed after 1, 2, 3,
    // 4 and 10 days; plus tickets that must not count: excluded, never dispatched, and one
    // whose response is stamped before its dispatch (closed after 20 days).
    let mut v = Vec::new();
    for (i, h) in [1, 2, 3, 4, 10].into_iter().enumerate() {
        let mut t = ticket(&format!("a{i}"), "甲区");
        t.responded_after_s = Some(h * H);
        t.closed_after_s = Some(h * DAY);
        v.push(t);
    }
    let mut excluded = ticket("x", "甲区");
    excluded.excluded = Some("duplicate");
    excluded.responded_after_s = Some(100 * H);
    let mut direct = ticket("d", "甲区");
    direct.dispatch_after_min = None;
    let mut early = ticket("e", "甲区");
    early.responded_after_s = Some(-60);
    early.closed_after_s = Some(20 * DAY);
    v.extend([excluded, direct, early]);
    let m = compute(&v, &Period::year(2025), &settings_min(1));
    let a = unit(&m, "district", "甲区", None);
    // response: values 1, 2, 3, 4, 10 (the early one is left out) → median = 3;
    // p90 at index 0.9 × (5 − 1) = 3.6 → 4 + 0.6 × (10 − 4) = 7.6
    assert!(near(a.respond_hours_median, 3.0), "{:?}", a.respond_hours_median);
    assert!(near(a.respond_hours_p90, 7.6), "{:?}", a.respond_hours_p90);
    // closing: 24, 48, 72, 96, 240 h and 480 h (the early-response ticket closed normally)
    // → six values, median at index 2.5 → (72 + 96) / 2 = 84; p90 at 4.5 → 240 + 0.5 × 240 = 360
    assert!(near(a.close_hours_median, 84.0), "{:?}", a.close_hours_median);
    assert!(near(a.close_hours_p90, 360.0), "{:?}", a.close_hours_p90);
    // one district → the city's figures are the same
    assert!(near(m.city_durations.respond_hours_median, 3.0));
    assert!(near(m.city_durations.close_hours_p90, 360.0));
}

#[test]
fn per_capita_volume_comes_from_the_population_table() {
    // 甲区: 4 tickets, 3 of them in 一街道; 乙区: 1 ticket, not in the population table
    let mut v = Vec::new();
    for i in 0..4 {
        let mut t = ticket(&format!("a{i}"), "甲区");
        t.street = (i < 3).then(|| "一街道".to_string());
        v.push(t);
    }
    v.push(ticket("b", "乙区"));
    let mut s = settings_min(1);
    s.population = Population {
        source: "test".into(),
        sha256: None,
        rows: vec![
            PopulationRow { district: "甲区".into(), street: None, population: 200_000 },
            PopulationRow { district: "甲区".into(), street: Some("一街道".into()), population: 50_000 },
            PopulationRow { district: "丙区".into(), street: None, population: 100_000 },
        ],
    };
    let m = compute(&v, &Period::year(2025), &s);
    // 4 / 200,000 × 1000 = 0.02; 3 / 50,000 × 1000 = 0.06
    let a = unit(&m, "district", "甲区", None);
    assert_eq!(a.population, Some(200_000));
    assert!(near(a.tickets_per_1000, 0.02));
    assert!(near(unit(&m, "street", "一街道", Some("甲区")).tickets_per_1000, 0.06));
    // no population row: null, never 0
    assert_eq!(unit(&m, "district", "乙区", None).tickets_per_1000, None);
    assert_eq!(unit(&m, "department", "市水务局", None).tickets_per_1000, None);
    // city: 5 tickets / (200,000 + 100,000) district residents × 1000
    assert_eq!(m.city.population, Some(300_000));
    assert!(near(m.city.tickets_per_1000, 5.0 / 300.0));
}

/// `n` tickets for `district` received on day 10 of `month`, of which `resolved` are resolved and
/// satisfied and the rest unresolved and dissatisfied: score = 10 + 90 × resolved / n.
fn batch(v: &mut Vec<T>, district: &str, street: Option<&str>, y: i32, month: u32, n: usize, resolved: usize) {
    for i in 0..n {
        let mut t = ticket(&format!("{district}{}-{y}-{month}-{i}", street.unwrap_or("")), district);
        t.received = at(y, month, 10, 9, 0, 0);
        t.street = street.map(str::to_string);
        t.resolved = Some(i < resolved);
        t.satisfaction = Some(if i < resolved { "satisfied" } else { "dissatisfied" });
        v.push(t);
    }
}

#[test]
fn changes_against_the_previous_period_and_a_year_earlier() {
    let mut v = Vec::new();
    // 2025Q1: A 2 of 2 resolved → 100; B 1 of 2 → 55; C 0 of 2 → 10 → ranks A 1, B 2, C 3
    batch(&mut v, "A区", None, 2025, 2, 2, 2);
    batch(&mut v, "B区", None, 2025, 2, 2, 1);
    batch(&mut v, "C区", None, 2025, 2, 2, 0);
    // 2025Q2: C 3 of 3 → 100; A 2 of 3 → 70; B 0 of 2 → 10 → ranks C 1, A 2, B 3
    batch(&mut v, "C区", None, 2025, 5, 3, 3);
    batch(&mut v, "A区", None, 2025, 5, 3, 2);
    batch(&mut v, "B区", None, 2025, 5, 2, 0);
    // 2024Q2: only A, 4 of 4 → 100
    batch(&mut v, "A区", None, 2024, 5, 4, 4);
    let m = compute(&v, &Period::quarter(2025, 2), &settings_min(1));
    assert_eq!(m.previous_period, "2025Q1");
    let a = unit(&m, "district", "A区", None);
    assert!(close(a.score, 10.0 + 90.0 * 2.0 / 3.0));
    assert_eq!((a.rank, a.rank_previous, a.rank_movement), (Some(2), Some(1), Some(-1)));
    assert_eq!(a.tickets_previous, Some(2));
    assert!(near(a.tickets_change_prev, 3.0 / 2.0 - 1.0)); // +50 %
    assert!(near(a.score_change_prev, 70.0 - 100.0));
    assert_eq!(a.tickets_year_earlier, Some(4));
    assert!(near(a.tickets_change_yoy, 3.0 / 4.0 - 1.0)); // −25 %
    assert!(near(a.score_change_yoy, -30.0));
    let c = unit(&m, "district", "C区", None);
    assert_eq!((c.rank, c.rank_previous, c.rank_movement), (Some(1), Some(3), Some(2)));
    assert!(near(c.score_change_prev, 90.0));
    // no row a year earlier → null, not 0
    assert_eq!((c.tickets_year_earlier, c.tickets_change_yoy, c.score_change_yoy), (None, None, None));
    let b = unit(&m, "district", "B区", None);
    assert_eq!(b.rank_movement, Some(-1));
    assert!(near(b.score_change_prev, 10.0 - 55.0));
    // the city: 8 tickets now, 6 in Q1, 4 in 2024Q2
    assert_eq!((m.city.tickets, m.city_previous.tickets, m.city_year_earlier.tickets), (8, 6, 4));
}

#[test]
fn a_year_compares_with_the_year_before() {
    let mut v = Vec::new();
    batch(&mut v, "A区", None, 2024, 3, 2, 2);
    batch(&mut v, "A区", None, 2025, 3, 4, 2);
    let m = compute(&v, &Period::year(2025), &settings_min(1));
    assert_eq!(m.previous_period, "2024");
    let a = unit(&m, "district", "A区", None);
    // previous period and year earlier are the same year: 2 tickets, score 100
    assert_eq!((a.tickets_previous, a.tickets_year_earlier), (Some(2), Some(2)));
    assert!(near(a.tickets_change_yoy, 1.0) && near(a.tickets_change_prev, 1.0));
    assert!(near(a.score_change_yoy, 55.0 - 100.0));
}

/// Streets S1–S5 of one district, one ticket each per month from January to June 2025; the
/// listed streets of a month have their ticket unresolved (score 10), the others resolved (100).
fn watch_fixture() -> Vec<T> {
    let bottom: [&[&str]; 6] = [
        &["S1", "S2"], // Jan
        &["S1", "S3"], // Feb
        &["S1", "S3"], // Mar
        &["S1", "S4"], // Apr
        &["S2", "S4"], // May
        &["S4", "S5"], // Jun
    ];
    let mut v = Vec::new();
    for (m, low) in bottom.iter().enumerate() {
        for s in ["S1", "S2", "S3", "S4", "S5"] {
            let ok = usize::from(!low.contains(&s));
            batch(&mut v, "甲区", Some(s), 2025, m as u32 + 1, 1, ok);
        }
    }
    v
}

fn watch_settings() -> MetricSettings {
    let mut s = settings_min(1);
    s.watch_list = WatchList { unit_types: vec!["street".into()], bottom: 2, months: 3 };
    s
}

#[test]
fn units_in_the_bottom_n_for_three_consecutive_months_are_watch_list_candidates() {
    let m = compute(&watch_fixture(), &Period::quarter(2025, 2), &watch_settings());
    let street = |name: &str| unit(&m, "street", name, Some("甲区"));
    // S1: bottom in Jan, Feb, Mar, Apr → a 4-month run reaching into Q2; 1 month inside Q2
    let s1 = street("S1");
    assert_eq!((s1.bottom_months, s1.bottom_longest_run, s1.watch_list), (Some(1), Some(4), true));
    // S4: Apr, May, Jun → 3 months, all in Q2
    let s4 = street("S4");
    assert_eq!((s4.bottom_months, s4.bottom_longest_run, s4.watch_list), (Some(3), Some(3), true));
    // S2: Jan and May, not consecutive; S5: June only
    assert_eq!(
        (street("S2").bottom_months, street("S2").bottom_longest_run, street("S2").watch_list),
        (Some(1), Some(1), false)
    );
    assert_eq!((street("S5").bottom_months, street("S5").watch_list), (Some(1), false));
    // S3: Feb and Mar, a run that ends before Q2 → nothing in this period
    assert_eq!(
        (street("S3").bottom_months, street("S3").bottom_longest_run, street("S3").watch_list),
        (Some(0), Some(0), false)
    );
    // districts are not on the watch list (only streets are configured)
    assert_eq!(unit(&m, "district", "甲区", None).bottom_months, None);
    // the monthly bottom-2 of Q2: Apr S1 S4, May S2 S4, Jun S4 S5 (each tied at score 10, bottom rank 1)
    let got: Vec<(u32, &str)> = m.bottom.iter().map(|b| (chrono::Datelike::month(&b.month), b.unit.as_str())).collect();
    assert_eq!(got, vec![(4, "S1"), (4, "S4"), (5, "S2"), (5, "S4"), (6, "S4"), (6, "S5")]);
    assert!(m.bottom.iter().all(|b| b.bottom_rank == 1 && close(b.score, 10.0)));

    // with months = 5 nobody qualifies; in Q1, S1's Jan–Mar run qualifies at 3
    let mut s = watch_settings();
    s.watch_list.months = 5;
    let m5 = compute(&watch_fixture(), &Period::quarter(2025, 2), &s);
    assert!(m5.scores.iter().all(|u| !u.watch_list));
    let q1 = compute(&watch_fixture(), &Period::quarter(2025, 1), &watch_settings());
    let watched: Vec<&str> = q1.scores.iter().filter(|u| u.watch_list).map(|u| u.unit.as_str()).collect();
    assert_eq!(watched, vec!["S1"]);
}

#[test]
fn ties_at_the_bottom_boundary_are_all_included() {
    // one month, four streets: S1 10, S2 and S3 tied at 55, S4 100 → bottom-2 by competition
    // rank ascending: S1 (1), S2 (2), S3 (2) → three entries
    let mut v = Vec::new();
    batch(&mut v, "甲区", Some("S1"), 2025, 4, 2, 0);
    batch(&mut v, "甲区", Some("S2"), 2025, 4, 2, 1);
    batch(&mut v, "甲区", Some("S3"), 2025, 4, 2, 1);
    batch(&mut v, "甲区", Some("S4"), 2025, 4, 2, 2);
    let m = compute(&v, &Period::month(2025, 4), &watch_settings());
    let got: Vec<(&str, i64)> = m.bottom.iter().map(|b| (b.unit.as_str(), b.bottom_rank)).collect();
    assert_eq!(got, vec![("S1", 1), ("S2", 2), ("S3", 2)]);
}

// ----------------------------------------------------------------------------------------
// Property: the months of a year add up to the year (numerators and denominators alike).

fn counts(m: &Metrics) -> std::collections::BTreeMap<(String, String, Option<String>), [i64; 10]> {
    m.scores
        .iter()
        .map(|u| {
            (
                (u.unit_type.clone(), u.unit.clone(), u.parent.clone()),
                [
                    u.tickets,
                    u.dispatched,
                    u.scored_tickets,
                    u.responded_on_time,
                    u.closed_on_time,
                    u.resolved_yes,
                    u.resolved_answered,
                    u.satisfied,
                    u.basically_satisfied,
                    u.dissatisfied,
                ],
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn monthly_and_quarterly_counts_add_up_to_the_year(
        tickets in (1usize..120).prop_flat_map(|n| (0..n).map(|i| arb_ticket(i, at(2025, 1, 1, 0, 30, 0))).collect::<Vec<_>>())
    ) {
        let year = counts(&compute(&tickets, &Period::year(2025), &settings_min(1)));
        for parts in [
            (1..=12).map(|mo| Period::month(2025, mo)).collect::<Vec<_>>(),
            (1..=4).map(|q| Period::quarter(2025, q)).collect::<Vec<_>>(),
        ] {
            let mut sum: std::collections::BTreeMap<_, [i64; 10]> = Default::default();
            for p in &parts {
                if !tickets.iter().any(|t| t.received >= p.start.and_hms_opt(0, 0, 0).unwrap()
                    && t.received < p.end.and_hms_opt(0, 0, 0).unwrap()) {
                    continue; // an empty period has no metrics to add
                }
                for (k, c) in counts(&compute(&tickets, p, &settings_min(1))) {
                    let e = sum.entry(k).or_default();
                    for i in 0..10 { e[i] += c[i]; }
                }
            }
            prop_assert_eq!(&sum, &year);
        }
        // and the year's rates are ratios of those sums, not averages of monthly rates
        // (when no scored ticket of the scanned range has a first-contact time at all, the
        // response rate is "not available": null, not 0; all the tickets here are in 2025)
        let m = compute(&tickets, &Period::year(2025), &settings_min(1));
        let has_response =
            tickets.iter().any(|t| t.dispatched().is_some() && t.excluded.is_none() && t.responded_after_s.is_some());
        for u in &m.scores {
            let want = if u.scored_tickets == 0 || !has_response {
                None
            } else {
                Some(u.responded_on_time as f64 / u.scored_tickets as f64)
            };
            prop_assert_eq!(u.response_rate, want);
        }
    }
}
