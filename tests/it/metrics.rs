//! Metric rules on hand-computed fixtures (arithmetic written out), and a property test
//! against an independent implementation of the spec's definitions.

use std::collections::HashMap;

use hotline::config::MetricSettings;
use hotline::metrics::{self, Metrics, UnitScore};
use hotline::period::Period;
use proptest::prelude::*;

use crate::common::*;

const EPS: f64 = 1e-12;

/// The metrics of `tickets`, computed twice: from the native scan (returned) and from the SQL
/// files alone (`--engine sql`). Every figure of the two must be the same, to the last bit.
pub fn compute(tickets: &[T], period: &Period, settings: &MetricSettings) -> Metrics {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), "tickets.parquet", tickets);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (scanned, sql) = rt.block_on(async {
        let ctx = hotline::engine::session();
        let archive = hotline::engine::register_archive(&ctx, dir.path()).await.unwrap();
        let out = hotline::scan::scan(&archive, &hotline::scan::Spec::new(period, settings)).unwrap();
        let scanned = metrics::compute(&ctx, period, settings, Some(&out)).await.unwrap();
        let ctx = hotline::engine::session();
        hotline::engine::register_archive(&ctx, dir.path()).await.unwrap();
        (scanned, metrics::compute(&ctx, period, settings, None).await.unwrap())
    });
    assert_same(&scanned, &sql);
    scanned
}

/// Field by field, so that a difference names the table it is in.
pub fn assert_same(scanned: &Metrics, sql: &Metrics) {
    let (a, b) = (serde_json::to_value(scanned).unwrap(), serde_json::to_value(sql).unwrap());
    for (k, v) in a.as_object().unwrap() {
        assert_eq!(v, &b[k], "`{k}` differs between the scan (left) and the SQL files (right)");
    }
}

pub fn unit<'a>(m: &'a Metrics, unit_type: &str, name: &str, parent: Option<&str>) -> &'a UnitScore {
    m.scores
        .iter()
        .find(|s| s.unit_type == unit_type && s.unit == name && s.parent.as_deref() == parent)
        .unwrap_or_else(|| panic!("no {unit_type} {name} {parent:?} in {:#?}", m.scores))
}

pub fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < EPS)
}

/// The fixture of the foundation issue: exclusions, never-dispatched consultations, an
/// emergency answered after 3 h, null follow-up answers, deadline boundaries, a street name
/// shared by two districts, and a district with an empty denominator.
fn fixture() -> Vec<T> {
    let mut v = Vec::new();
    let mut add = |id: &str, district: &str, street: Option<&str>, dept: &str, f: &dyn Fn(&mut T)| {
        let mut t = ticket(id, district);
        t.street = street.map(str::to_string);
        t.department = Some(dept.to_string());
        f(&mut t);
        v.push(t);
    };
    // 甲区, street 一街道 (tickets 1–5, 8) and 二街道 (6, 7, 10)
    add("1", "甲区", Some("一街道"), "市水务局", &|_| {}); // on time, resolved, satisfied
    add("2", "甲区", Some("一街道"), "市水务局", &|t| {
        t.responded_after_s = Some(23 * H);
        t.closed_after_s = Some(6 * DAY);
        t.satisfaction = Some("basically_satisfied");
    });
    add("3", "甲区", Some("一街道"), "市水务局", &|t| {
        t.responded_after_s = Some(25 * H); // late (24 h)
        t.closed_after_s = Some(8 * DAY); // late (7 days)
        t.resolved = Some(false);
        t.satisfaction = Some("dissatisfied");
    });
    add("4", "甲区", Some("一街道"), "市水务局", &|t| {
        t.urgency = Some("emergency");
        t.responded_after_s = Some(3 * H); // emergency answered after 3 h: late (2 h)
        t.closed_after_s = Some(2 * H + 1800); // late (2 h)
    });
    add("5", "甲区", Some("一街道"), "一街道办事处", &|t| {
        t.urgency = Some("emergency");
        t.responded_after_s = Some(H);
        t.closed_after_s = Some(H);
        t.resolved = None; // no valid follow-up answer
        t.satisfaction = None;
    });
    add("6", "甲区", Some("二街道"), "一街道办事处", &|t| {
        t.urgency = Some("utility");
        t.responded_after_s = Some(20 * H);
        t.closed_after_s = Some(30 * H); // late (24 h)
        t.satisfaction = None;
    });
    add("7", "甲区", Some("二街道"), "一街道办事处", &|t| {
        t.urgency = Some("complex");
        t.responded_after_s = None; // never contacted
        t.closed_after_s = Some(14 * DAY); // on time (15 days)
        t.resolved = Some(false);
        t.satisfaction = Some("basically_satisfied");
    });
    add("8", "甲区", Some("一街道"), "市水务局", &|t| {
        t.excluded = Some("duplicate");
        t.responded_after_s = Some(30 * H);
        t.resolved = Some(false);
    });
    add("9", "甲区", None, "市水务局", &|t| {
        t.request_type = "consultation";
        t.dispatch_after_min = None; // answered directly
        t.department = None;
        t.resolved = None;
        t.satisfaction = None;
    });
    add("10", "甲区", Some("二街道"), "一街道办事处", &|t| {
        t.urgency = None; // null = general
        t.responded_after_s = Some(24 * H); // exactly at the deadline: on time
        t.closed_after_s = Some(7 * DAY); // exactly at the limit: on time
    });
    // 乙区: three tickets; its street has the same name as one in 甲区
    add("11", "乙区", Some("一街道"), "市水务局", &|_| {});
    add("12", "乙区", Some("一街道"), "市水务局", &|t| t.satisfaction = Some("dissatisfied"));
    add("13", "乙区", Some("一街道"), "市水务局", &|t| {
        t.resolved = None;
        t.satisfaction = None;
    });
    // 丙区: nothing scored (excluded, or never dispatched) → every rate null
    add("14", "丙区", None, "市水务局", &|t| t.excluded = Some("invalid"));
    add("15", "丙区", None, "市水务局", &|t| {
        t.request_type = "consultation";
        t.dispatch_after_min = None;
        t.department = None;
    });
    // 丁区: one scored ticket without follow-up → only response and on-time rates exist
    add("16", "丁区", None, "市水务局", &|t| {
        t.resolved = None;
        t.satisfaction = None;
    });
    // 戊区: identical to 乙区 → tied score
    add("17", "戊区", None, "二街道办事处", &|_| {});
    add("18", "戊区", None, "二街道办事处", &|t| t.satisfaction = Some("dissatisfied"));
    add("19", "戊区", None, "二街道办事处", &|t| {
        t.resolved = None;
        t.satisfaction = None;
    });
    // Period boundaries: the last second of 2024 and the first of 2026 are outside 2025;
    // the first second of 2025 is inside.
    add("20", "乙区", None, "市水务局", &|t| t.received = at(2024, 12, 31, 23, 59, 59));
    add("21", "乙区", None, "市水务局", &|t| t.received = at(2026, 1, 1, 0, 0, 0));
    add("22", "戊区", None, "二街道办事处", &|t| {
        t.received = at(2025, 1, 1, 0, 0, 0);
        t.resolved = Some(false);
        t.satisfaction = Some("dissatisfied");
    });
    v
}

pub fn settings_min(min: u64) -> MetricSettings {
    MetricSettings { min_scored_tickets: min, ..MetricSettings::default() }
}

#[test]
fn rates_of_the_fixture_match_the_hand_computation() {
    let m = compute(&fixture(), &Period::year(2025), &settings_min(3));

    // 甲区: scored = tickets 1–7 and 10 = 8 (8 is excluded, 9 never dispatched)
    let a = unit(&m, "district", "甲区", None);
    assert_eq!((a.tickets, a.dispatched, a.scored_tickets), (10, 9, 8));
    // responded on time: 1, 2, 5, 6, 10 (3 late at 25 h, 4 emergency at 3 h, 7 never) = 5/8
    assert!(close(a.response_rate, 5.0 / 8.0), "{:?}", a.response_rate);
    // resolution: answered 1,2,3,4,6,7,10 = 7 (5 has no answer); yes 1,2,4,6,10 = 5 → 5/7
    assert!(close(a.resolution_rate, 5.0 / 7.0));
    // satisfaction: answered 1 s, 2 b, 3 d, 4 s, 7 b, 10 s = 6; weights 1+1+0+1+1+1 = 5 → 5/6
    assert!(close(a.satisfaction_rate, 5.0 / 6.0));
    // on time: 1, 2, 5, 7, 10 (3 at 8 days, 4 at 2.5 h, 6 at 30 h late) = 5/8
    assert!(close(a.on_time_rate, 5.0 / 8.0));
    // score = 100 × (0.10 × 5/8 + 0.45 × 5/7 + 0.45 × 5/6)
    let score_a = 100.0 * (0.10 * 5.0 / 8.0 + 0.45 * 5.0 / 7.0 + 0.45 * 5.0 / 6.0);
    assert!(close(a.score, score_a));
    assert!(!a.score_reweighted);

    // 乙区 (11–13 in 2025; 20 and 21 outside): response 3/3, resolution 2/2, satisfaction 1/2
    let b = unit(&m, "district", "乙区", None);
    assert_eq!(b.scored_tickets, 3);
    assert!(close(b.response_rate, 1.0) && close(b.resolution_rate, 1.0) && close(b.satisfaction_rate, 0.5));
    // score = 100 × (0.10 × 1 + 0.45 × 1 + 0.45 × 0.5) = 77.5
    assert!(close(b.score, 77.5));

    // 丙区: empty denominators → null, never 0 or NaN; listed, not ranked
    let c = unit(&m, "district", "丙区", None);
    assert_eq!((c.tickets, c.scored_tickets), (2, 0));
    assert_eq!(
        (c.response_rate, c.resolution_rate, c.satisfaction_rate, c.on_time_rate, c.score),
        (None, None, None, None, None)
    );
    assert_eq!(c.rank, None);

    // 丁区: resolution and satisfaction have no answers → score from response alone,
    // re-normalised: 100 × (0.10 × 1) / 0.10 = 100, flagged; 1 scored ticket < 3 → not ranked
    let d = unit(&m, "district", "丁区", None);
    assert_eq!((d.resolution_rate, d.satisfaction_rate), (None, None));
    assert!(close(d.score, 100.0) && d.score_reweighted);
    assert_eq!(d.rank, None);

    // 戊区 (17–19, 22): 22 is received at 2025-01-01 00:00:00, inside the year.
    // response 4/4, resolution 2/3, satisfaction 1/3
    let e = unit(&m, "district", "戊区", None);
    assert_eq!(e.scored_tickets, 4);
    assert!(close(e.resolution_rate, 2.0 / 3.0) && close(e.satisfaction_rate, 1.0 / 3.0));
    // score = 100 × (0.10 + 0.45 × 2/3 + 0.45 × 1/3) = 55
    assert!(close(e.score, 55.0));

    // ranks among units with ≥ 3 scored tickets: 乙 77.5, 甲 75.89…, 戊 55
    assert!(score_a < 77.5 && score_a > 55.0);
    assert_eq!((b.rank, a.rank, e.rank), (Some(1), Some(2), Some(3)));

    // City-wide: every 2025 ticket, including those with no street: 20 tickets (1–19, 22)
    assert_eq!(m.city.tickets, 20);
    // scored: 甲 8 + 乙 3 + 丁 1 + 戊 4 = 16
    assert_eq!(m.city.scored_tickets, 16);
    // year earlier: ticket 20 alone
    assert_eq!(m.city_year_earlier.tickets, 1);
}

#[test]
fn streets_are_keyed_by_district_and_name() {
    let m = compute(&fixture(), &Period::year(2025), &settings_min(1));
    // (甲区, 一街道): scored 1–5; response 1,2,5 = 3/5; resolution yes 1,2,4 of answered 1–4 = 3/4
    let a1 = unit(&m, "street", "一街道", Some("甲区"));
    assert_eq!(a1.scored_tickets, 5);
    assert!(close(a1.response_rate, 3.0 / 5.0) && close(a1.resolution_rate, 3.0 / 4.0));
    // (乙区, 一街道) is a different unit with 乙区's three tickets
    let b1 = unit(&m, "street", "一街道", Some("乙区"));
    assert_eq!(b1.scored_tickets, 3);
    assert!(close(b1.satisfaction_rate, 0.5));
    // (甲区, 二街道): 6, 7, 10 → response 6, 10 = 2/3
    let a2 = unit(&m, "street", "二街道", Some("甲区"));
    assert!(close(a2.response_rate, 2.0 / 3.0));
}

#[test]
fn departments_collect_tickets_across_districts() {
    let m = compute(&fixture(), &Period::year(2025), &settings_min(1));
    // 市水务局 in 2025: scored 1,2,3,4 (甲) + 11,12,13 (乙) + 16 (丁) = 8 (8 and 14 excluded)
    let w = unit(&m, "department", "市水务局", None);
    assert_eq!(w.scored_tickets, 8);
    // response: 1,2,11,12,13,16 = 6/8
    assert!(close(w.response_rate, 6.0 / 8.0));
    // resolution: answered 1,2,3,4,11,12 = 6, yes 1,2,4,11,12 = 5 → 5/6
    assert!(close(w.resolution_rate, 5.0 / 6.0));
    // satisfaction: answered 1 s, 2 b, 3 d, 4 s, 11 s, 12 d = 6, weight 4 → 4/6
    assert!(close(w.satisfaction_rate, 4.0 / 6.0));
}

#[test]
fn ties_share_a_rank_and_the_next_rank_is_skipped() {
    // 乙区 and 戊区 with identical tickets (17–19 copies of 11–13), 甲区 below them.
    let tickets: Vec<T> = fixture().into_iter().filter(|t| t.id != "22").collect();
    let m = compute(&tickets, &Period::year(2025), &settings_min(3));
    let ranks: Vec<(String, Option<i64>)> = m.of_type("district").map(|u| (u.unit.clone(), u.rank)).collect();
    // 乙 = 戊 = 77.5 → 1, 1; 甲 → 3 (competition ranking); 丙, 丁 not ranked
    assert_eq!(
        ranks,
        vec![
            ("乙区".to_string(), Some(1)),
            ("戊区".to_string(), Some(1)),
            ("甲区".to_string(), Some(3)),
            ("丁区".to_string(), None),
            ("丙区".to_string(), None),
        ]
    );
}

#[test]
fn the_default_minimum_of_30_scored_tickets_leaves_small_units_unranked() {
    let m = compute(&fixture(), &Period::year(2025), &MetricSettings::default());
    assert!(m.scores.iter().all(|s| s.rank.is_none()));
    assert!(m.scores.iter().any(|s| s.score.is_some()));
}

#[test]
fn a_quarter_and_a_month_select_their_own_tickets() {
    let mut tickets = fixture();
    // move ticket 1 to July: Q1 loses it, Q3 has it alone
    tickets[0].received = at(2025, 7, 15, 10, 0, 0);
    let q1 = compute(&tickets, &Period::quarter(2025, 1), &settings_min(1));
    assert_eq!(unit(&q1, "district", "甲区", None).scored_tickets, 7);
    let jul = compute(&tickets, &Period::month(2025, 7), &settings_min(1));
    let a = unit(&jul, "district", "甲区", None);
    assert_eq!(a.scored_tickets, 1);
    assert!(close(a.response_rate, 1.0));
    assert_eq!(jul.city.tickets, 1);
}

// ----------------------------------------------------------------------------------------
// Property: on random tickets, every rate equals an independent computation of spec §2.

/// Per district: scored tickets, response, resolution, satisfaction and on-time rates.
type Expected = HashMap<String, (i64, Option<f64>, Option<f64>, Option<f64>, Option<f64>)>;

fn oracle(tickets: &[T], period: &Period) -> Expected {
    let start = period.start.and_hms_opt(0, 0, 0).unwrap();
    let end = period.end.and_hms_opt(0, 0, 0).unwrap();
    let mut acc: HashMap<String, [i64; 7]> = HashMap::new();
    for t in tickets {
        if t.received < start || t.received >= end || t.dispatched().is_none() || t.excluded.is_some() {
            continue;
        }
        let (resp_limit, close_limit) = match t.urgency {
            Some("emergency") => (2 * H, 2 * H),
            Some("utility") => (24 * H, 24 * H),
            Some("complex") => (24 * H, 15 * DAY),
            _ => (24 * H, 7 * DAY),
        };
        let a = acc.entry(t.district.clone()).or_default();
        a[0] += 1;
        a[1] += i64::from(t.responded_after_s.is_some_and(|s| s <= resp_limit));
        a[2] += i64::from(t.resolved == Some(true));
        a[3] += i64::from(t.resolved.is_some());
        a[4] += i64::from(matches!(t.satisfaction, Some("satisfied") | Some("basically_satisfied")));
        a[5] += i64::from(t.satisfaction.is_some());
        a[6] += i64::from(t.closed_after_s.is_some_and(|s| s <= close_limit));
    }
    let ratio = |n: i64, d: i64| if d == 0 { None } else { Some(n as f64 / d as f64) };
    // the response rate is "not available" (null, not 0) when no scored ticket of the scanned
    // range (the year before the period and the period) has a first-contact time at all
    let scan_start = period.year_earlier().start.and_hms_opt(0, 0, 0).unwrap();
    let has_response = tickets.iter().any(|t| {
        t.received >= scan_start
            && t.received < end
            && t.dispatched().is_some()
            && t.excluded.is_none()
            && t.responded_after_s.is_some()
    });
    let response = |n: i64, d: i64| if has_response { ratio(n, d) } else { None };
    acc.into_iter()
        .map(|(k, a)| (k, (a[0], response(a[1], a[0]), ratio(a[2], a[3]), ratio(a[4], a[5]), ratio(a[6], a[0]))))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn district_rates_equal_an_independent_computation(
        tickets in (1usize..80).prop_flat_map(|n| (0..n).map(|i| arb_ticket(i, at(2024, 7, 1, 8, 0, 0))).collect::<Vec<_>>())
    ) {
        for period in [Period::year(2025), Period::quarter(2024, 4), Period::month(2025, 2)] {
            let m = compute(&tickets, &period, &settings_min(1));
            let expected = oracle(&tickets, &period);
            for (district, (scored, rr, sr, mr, or)) in &expected {
                let u = unit(&m, "district", district, None);
                prop_assert_eq!(u.scored_tickets, *scored);
                for (got, want) in [(u.response_rate, rr), (u.resolution_rate, sr), (u.satisfaction_rate, mr), (u.on_time_rate, or)] {
                    match (got, want) {
                        (None, None) => {}
                        (Some(g), Some(w)) => prop_assert!((g - w).abs() < EPS, "{} vs {}", g, w),
                        _ => prop_assert!(false, "{:?} vs {:?} for {}", got, want, district),
                    }
                }
            }
            // a district with tickets but none scored is listed with null rates
            for u in m.of_type("district") {
                if !expected.contains_key(&u.unit) {
                    prop_assert_eq!(u.scored_tickets, 0);
                    prop_assert_eq!(u.score, None);
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// Settings change exactly the rates they name.

#[test]
fn basically_satisfied_at_0_8_changes_only_satisfaction_and_score() {
    let base = compute(&fixture(), &Period::year(2025), &settings_min(3));
    let mut s = settings_min(3);
    s.satisfaction_weights = [1.0, 0.8, 0.0];
    let changed = compute(&fixture(), &Period::year(2025), &s);
    // 甲区 answers: 1 s, 2 b, 3 d, 4 s, 7 b, 10 s → (1 + 0.8 + 0 + 1 + 0.8 + 1) / 6 = 4.6 / 6
    let a = unit(&changed, "district", "甲区", None);
    assert!(close(a.satisfaction_rate, 4.6 / 6.0));
    assert!(close(a.score, 100.0 * (0.10 * 5.0 / 8.0 + 0.45 * 5.0 / 7.0 + 0.45 * 4.6 / 6.0)));
    assert_eq!(base.scores.len(), changed.scores.len());
    for before in &base.scores {
        // ranks may move, so match units by key, not by position
        let after = unit(&changed, &before.unit_type, &before.unit, before.parent.as_deref());
        assert_eq!(before.response_rate, after.response_rate);
        assert_eq!(before.resolution_rate, after.resolution_rate);
        assert_eq!(before.on_time_rate, after.on_time_rate);
        // only units with a 基本满意 answer move
        if before.basically_satisfied == 0 {
            assert_eq!(before.satisfaction_rate, after.satisfaction_rate, "{}", before.unit);
        } else {
            assert!(after.satisfaction_rate < before.satisfaction_rate, "{}", before.unit);
        }
    }
}

#[test]
fn department_weights_apply_to_departments_only() {
    let mut s = settings_min(1);
    s.weights[2] = hotline::config::Weights { response: 0.3, resolution: 0.35, satisfaction: 0.35 };
    let m = compute(&fixture(), &Period::year(2025), &s);
    // 市水务局: response 6/8, resolution 5/6, satisfaction 4/6
    let w = unit(&m, "department", "市水务局", None);
    assert!(close(w.score, 100.0 * (0.3 * 6.0 / 8.0 + 0.35 * 5.0 / 6.0 + 0.35 * 4.0 / 6.0)));
    // districts keep 0.10 / 0.45 / 0.45: 乙区 = 77.5
    assert!(close(unit(&m, "district", "乙区", None).score, 77.5));
}

#[test]
fn an_emergency_deadline_of_1_hour_keeps_a_response_at_exactly_1_hour() {
    let mut s = settings_min(1);
    s.response_deadline.emergency = 3600;
    let m = compute(&fixture(), &Period::year(2025), &s);
    // ticket 5 (emergency) was contacted after exactly 1 h: still on time; 4 (3 h) late as before
    assert!(close(unit(&m, "district", "甲区", None).response_rate, 5.0 / 8.0));
    // at 59 minutes ticket 5 turns late: 4 / 8
    s.response_deadline.emergency = 3540;
    let m = compute(&fixture(), &Period::year(2025), &s);
    assert!(close(unit(&m, "district", "甲区", None).response_rate, 4.0 / 8.0));
}

#[test]
fn exclusion_reasons_are_a_setting() {
    let mut s = settings_min(1);
    s.excluded_reasons = vec!["invalid".into(), "out_of_scope".into(), "malicious".into(), "appeal_approved".into()];
    let m = compute(&fixture(), &Period::year(2025), &s);
    // duplicates now count: ticket 8 joins 甲区 (late response at 30 h, closed on time after
    // 2 days, not resolved, satisfied) → scored 9, response 5/9, resolution 5/8,
    // satisfaction 6/7, on time 6/9
    let a = unit(&m, "district", "甲区", None);
    assert_eq!(a.scored_tickets, 9);
    assert!(close(a.response_rate, 5.0 / 9.0) && close(a.resolution_rate, 5.0 / 8.0));
    assert!(close(a.satisfaction_rate, 6.0 / 7.0) && close(a.on_time_rate, 6.0 / 9.0));
    // 丙区's ticket 14 is `invalid`: still excluded
    assert_eq!(unit(&m, "district", "丙区", None).scored_tickets, 0);
}
