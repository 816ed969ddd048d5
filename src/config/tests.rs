use super::*;

#[test]
fn the_shipped_hotline_toml_is_the_defaults_plus_the_demo_topics() {
    let mut shipped = Config::parse(include_str!("../../hotline.toml")).unwrap();
    let topics = std::mem::take(&mut shipped.metrics.topics);
    assert_eq!(shipped, Config::default());
    let names: Vec<(&str, String)> = topics.iter().map(|t| (t.name.as_str(), t.month.to_string())).collect();
    assert_eq!(
        names,
        [
            ("劳动纠纷与工伤保险", "2025-03-01".to_string()),
            ("医疗服务", "2025-05-01".to_string()),
            ("施工安全", "2025-07-01".to_string())
        ]
    );
    assert_eq!(topics[0].categories, ["劳动合同纠纷", "职工工伤保险"]);
    let err = Config::parse("[[topics]]\nname = \"x\"\nmonth = \"2025-13\"\ncategories = [\"a\"]\n").unwrap_err();
    assert!(err.message.contains("`topics[1] (x).month` = \"2025-13\""), "{}", err.message);
}

#[test]
fn settings_change_what_they_name() {
    let c = Config::parse(
        "[satisfaction_weights]\nbasically_satisfied = 0.8\n\n[weights.department]\nresponse = 0.3\nresolution = 0.35\nsatisfaction = 0.35\n\n[response_deadline]\nemergency = \"1h\"\n",
    )
    .unwrap();
    assert_eq!(c.metrics.satisfaction_weights, [1.0, 0.8, 0.0]);
    assert_eq!(c.metrics.weights[2], Weights { response: 0.3, resolution: 0.35, satisfaction: 0.35 });
    assert_eq!(c.metrics.weights[0], MetricSettings::default().weights[0]);
    assert_eq!(c.metrics.response_deadline.emergency, 3600);
    assert_eq!(c.metrics.response_deadline.general, 86400);
}

#[test]
fn bad_settings_name_the_key() {
    let err = |text: &str| Config::parse(text).unwrap_err().message;
    assert!(err("[ranking]\nmin_scored = 3\n").contains("unknown field `min_scored`"));
    assert!(
        err("[weights.street]\nresponse = 0.2\nresolution = 0.45\nsatisfaction = 0.45\n")
            .contains("`weights.street`: response + resolution + satisfaction = 1.1")
    );
    assert!(
        err("[close_limit]\ngeneral = \"-7d\"\n").contains("`close_limit.general` = \"-7d\" is not a valid duration")
    );
    assert!(err("[response_deadline]\nutility = \"0h\"\n").contains("`response_deadline.utility`"));
    assert!(err("[satisfaction_weights]\ndissatisfied = 1.5\n").contains("`satisfaction_weights.dissatisfied`"));
    assert!(err("[exclusions]\nreasons = [\"dup\"]\n").contains("unknown reason `dup`"));
    assert!(err("[city]\ntime_zone = \"Mars/Base\"\n").contains("`city.time_zone`"));
}

/// Hostile values are refused instead of turning into wrong figures: a limit of 2^63 s
/// (which overflowed into a negative interval) and a minimum no unit can reach.
#[test]
fn settings_have_sane_ranges() {
    let err = |text: &str| Config::parse(text).unwrap_err().message;
    assert!(err("[close_limit]\ngeneral = \"9223372036854775807s\"\n").contains("is longer than a year"));
    assert!(err("[close_limit]\ngeneral = \"18446744073709551615d\"\n").contains("`close_limit.general`"));
    assert!(err("[response_deadline]\nemergency = \"367d\"\n").contains("is longer than a year"));
    assert_eq!(parse_duration("k", "366d").unwrap(), MAX_DURATION_SECONDS);
    assert!(err("[ranking]\nmin_scored_tickets = 18446744073709551615\n").contains("`ranking.min_scored_tickets`"));
    let c = Config::parse("[ranking]\nmin_scored_tickets = 1000000000\n").unwrap();
    assert_eq!(c.metrics.min_scored_tickets, MAX_MIN_SCORED_TICKETS);
}

/// A population file that is a device, or not a CSV table, is refused without reading past a
/// cap or printing what the file holds.
#[test]
fn population_files_are_bounded_and_never_quoted() {
    let e = Population::from_file(Path::new("/dev/zero")).unwrap_err();
    assert!(e.message.contains("not a regular file"), "{}", e.message);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("shadow");
    std::fs::write(&secret, "root:$6$secret-hash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n").unwrap();
    let e = Population::from_file(&secret).unwrap_err();
    assert!(e.message.contains("is not the header `district,street,population`"), "{}", e.message);
    assert!(!e.message.contains("secret") && !e.message.contains("root"), "{}", e.message);
    let big = dir.path().join("big.csv");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(POPULATION_MAX_BYTES + 1).unwrap();
    assert!(Population::from_file(&big).unwrap_err().message.contains("larger than 16 MiB"));
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("k", "90m").unwrap(), 5400);
    assert_eq!(parse_duration("k", "2h").unwrap(), 7200);
    assert_eq!(parse_duration("k", "15d").unwrap(), 15 * 86400);
    assert!(parse_duration("k", "2 hours").is_err() && parse_duration("k", "h").is_err());
}

#[test]
fn departments_fall_into_three_ranking_groups() {
    assert_eq!(unit_group("department", "东华门街道办事处"), "street_office");
    assert_eq!(unit_group("department", "长沟镇人民政府"), "street_office");
    assert_eq!(unit_group("department", "市热力集团"), "enterprise");
    assert_eq!(unit_group("department", "国网北京市电力公司"), "enterprise");
    assert_eq!(unit_group("department", "市水务局"), "municipal");
    assert_eq!(unit_group("street", "东华门街道"), "street");
    assert_eq!(unit_group("district", "东城区"), "district");
}
