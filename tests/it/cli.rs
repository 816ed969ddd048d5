//! End-to-end tests of the `hotline` binary: generate → report → PDF text, errors and exit codes.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;

use crate::common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn generate_then_report_gives_a_chinese_pdf_and_the_score_table() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let out = hotline(&["generate", "--out", s(&archive), "--tickets", "40000", "--years", "2024-2025", "--seed", "7"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(archive.join("year=2025/month=07/part-0.parquet").is_file());
    // one file per month, each with its ticket_ids PLAIN (no dictionary for unique ids)
    assert_eq!(files_with_plain_ids(&archive), 24);

    let out_dir = dir.path().join("output");
    let out = hotline(&["report", "--period", "2025", "--archive", s(&archive), "--out", s(&out_dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = out_dir.join("2025");
    for f in ["report.pdf", "scores.csv", "manifest.json"] {
        assert!(report.join(f).is_file(), "{f} missing");
    }
    // no staging folders left behind (the lock file stays: the OS releases the lock itself)
    let mut leftovers: Vec<_> = std::fs::read_dir(&out_dir).unwrap().flatten().map(|e| e.file_name()).collect();
    leftovers.sort();
    assert_eq!(leftovers, [".hotline.lock", "2025"].map(std::ffi::OsString::from));

    // scores.csv: the spec's columns first, 16 districts, rates in [0, 1]
    let header = std::fs::read_to_string(report.join("scores.csv")).unwrap().lines().next().unwrap().to_string();
    assert!(header.starts_with(
        "period,unit_type,unit,scored_tickets,response_rate,resolution_rate,satisfaction_rate,score,rank,"
    ));
    let rows = read_scores(&report.join("scores.csv"));
    let districts: Vec<_> = rows.iter().filter(|r| r["unit_type"] == "district").collect();
    assert_eq!(districts.len(), 16);
    assert!(rows.iter().all(|r| r["period"] == "2025"));
    for r in &rows {
        for c in ["response_rate", "resolution_rate", "satisfaction_rate"] {
            if !r[c].is_empty() {
                let v: f64 = r[c].parse().unwrap();
                assert!((0.0..=1.0).contains(&v), "{c} = {v}");
            }
        }
    }

    // the PDF: Chinese headings, and the first-ranked district with its resolution rate
    let text = pdftotext(&report.join("report.pdf"));
    // Typst sets a quarter-em between Latin and CJK characters; pdftotext shows it as a space
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for heading in [
        "接诉即办年度体检报告",
        "2025年度",
        "总体情况",
        "热点分析",
        "办理情况",
        "考核排名",
        "高频难点",
        "附录",
        "指标口径",
        "数据质量",
    ] {
        assert!(compact.contains(heading), "missing {heading}");
    }
    let first = districts.iter().find(|r| r["rank"] == "1").expect("a first-ranked district");
    let rate: f64 = first["resolution_rate"].parse().unwrap();
    let shown = format!("{:.2}%", rate * 100.0);
    let line = text.lines().find(|l| l.contains(first["unit"].as_str()) && l.contains(&shown));
    assert!(line.is_some(), "no line with {} and {shown} in:\n{text}", first["unit"]);
}

#[test]
fn unit_names_that_look_like_typst_code_print_literally() {
    let dir = tempfile::tempdir().unwrap();
    let evil = [r#"#read("/etc/passwd")"#, "*bold* $x$ <a> @b", r#"]"\ _x_"#];
    let mut tickets = Vec::new();
    for (k, name) in evil.iter().enumerate() {
        for i in 0..3 {
            let mut t = ticket(&format!("{k}-{i}"), name);
            t.department = Some(format!("{name}局"));
            tickets.push(t);
        }
    }
    write_archive(dir.path(), "evil.parquet", &tickets);
    let out_dir = dir.path().join("out");
    let out = hotline(&[
        "report",
        "--period",
        "2025",
        "--archive",
        s(&dir.path().join("evil.parquet")),
        "--out",
        s(&out_dir),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = pdftotext(&out_dir.join("2025/report.pdf"));
    for name in evil {
        assert!(text.contains(name), "{name} not printed literally in:\n{text}");
    }
    assert!(!text.contains("root:"), "a file was read into the PDF");
}

#[test]
fn a_missing_typst_gives_the_install_command_and_exit_code_4() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), "t.parquet", &[ticket("1", "甲区")]);
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["report", "--period", "2025", "--archive", s(dir.path()), "--out", s(&dir.path().join("o"))])
        .env("TYPST_BIN", "/nonexistent/typst")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("cargo install --locked typst-cli@0.15.1"), "{}", stderr(&out));
    // nothing half-written where the report would go
    assert!(!dir.path().join("o/2025").exists());
}

#[test]
fn no_pdf_writes_the_tables_without_typst() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), "t.parquet", &[ticket("1", "甲区"), ticket("2", "乙区")]);
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "report",
            "--period",
            "2025-03",
            "--no-pdf",
            "--archive",
            s(dir.path()),
            "--out",
            s(&dir.path().join("o")),
        ])
        .env("TYPST_BIN", "/nonexistent/typst")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = dir.path().join("o/2025-03");
    assert!(report.join("scores.csv").is_file() && !report.join("report.pdf").exists());
    let rows = read_scores(&report.join("scores.csv"));
    // two districts and one department (市水务局), each with one scored ticket
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["scored_tickets"] != "0" && r["rank"].is_empty()));
}

#[test]
fn a_wrong_column_type_names_the_file_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("ticket_id", DataType::Utf8, false),
        Field::new("received_at", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from(vec!["1"])), Arc::new(StringArray::from(vec!["2025-01-01 08:00"]))];
    let path = dir.path().join("bad.parquet");
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema.clone(), None).unwrap();
    w.write(&RecordBatch::try_new(schema, cols).unwrap()).unwrap();
    w.close().unwrap();
    let out = hotline(&["report", "--period", "2025", "--no-pdf", "--archive", s(dir.path())]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("bad.parquet") && err.contains("column `received_at` has type Utf8"), "{err}");
    assert!(err.contains("required column `district` is missing"), "{err}");
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let out = hotline(&["report", "--period", "2025Q5", "--no-pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error: invalid period `2025Q5`"));
    assert!(stderr(&out).contains("hint: use a year (2025), a quarter (2025Q3)"));
}

#[test]
fn a_period_outside_the_archive_is_a_data_error_naming_its_range() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), "t.parquet", &[ticket("1", "甲区")]);
    let out = hotline(&[
        "report",
        "--period",
        "2023",
        "--no-pdf",
        "--archive",
        s(dir.path()),
        "--out",
        s(&dir.path().join("o")),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("no tickets received in 2023"), "{}", stderr(&out));
    assert!(stderr(&out).contains("covers 2025-03-10"), "{}", stderr(&out));
}

#[test]
fn sql_counts_rows_and_refuses_to_write() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), "t.parquet", &[ticket("1", "甲区"), ticket("2", "乙区"), ticket("3", "乙区")]);
    let out = hotline(&["sql", "--archive", s(dir.path()), "--format", "csv", "SELECT count(*) AS n FROM tickets"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n3\n");
    for bad in
        ["CREATE TABLE x AS SELECT 1", "INSERT INTO tickets SELECT * FROM tickets", "COPY tickets TO '/tmp/x.csv'"]
    {
        let out = hotline(&["sql", "--archive", s(dir.path()), bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

/// `hotline check` counts each column's nulls over the tickets of the period (or all of them):
/// 4 tickets, 2 received in 2025Q1 (one without a street, one without a department) and 2 in
/// 2025Q3 (both without a street, one also without an urgency). Whole archive: rows 4, street
/// nulls 3 (share 3/4 = 0.75), department 1 (0.25), urgency 1 (0.25); 2025Q3: rows 2, street 2
/// (1.0), department 0, urgency 1 (0.5).
#[test]
fn check_counts_the_nulls_of_the_period() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let mut q1a = ticket("q1a", "东城区");
    q1a.street = Some("东华门街道".into());
    q1a.department = None;
    let q1b = ticket("q1b", "东城区");
    let mut q3a = ticket("q3a", "东城区");
    q3a.received = at(2025, 8, 1, 9, 0, 0);
    let mut q3b = q3a.clone();
    q3b.id = "q3b".into();
    q3b.urgency = None;
    write_archive(&archive, "t.parquet", &[q1a, q1b, q3a, q3b]);
    let nulls = |period: Option<&str>| {
        let mut args = vec!["check", "--archive", s(&archive), "--format", "json"];
        args.extend(period.map(|p| ["--period", p]).into_iter().flatten());
        let o = hotline(&args);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|_| panic!("{}", stderr(&o)));
        let of = |c: &str| {
            let n = v["nulls"].as_array().unwrap().iter().find(|n| n["column"] == c).unwrap().clone();
            (n["nulls"].as_i64().unwrap(), n["share"].as_f64().unwrap())
        };
        (v["rows"].as_i64().unwrap(), of("street"), of("department"), of("urgency"), of("caller_id"))
    };
    assert_eq!(nulls(None), (4, (3, 0.75), (1, 0.25), (1, 0.25), (0, 0.0)));
    assert_eq!(nulls(Some("2025Q3")), (2, (2, 1.0), (0, 0.0), (1, 0.5), (0, 0.0)));
}

/// `HOTLINE_PROFILE=1` names, for every check and every SQL file, its time and the operators
/// that took it (from the plan's metrics): one profile line per built-in check (8) with a
/// `busiest:` part naming a Parquet scan for the row checks, and the same for ticket_facts.sql,
/// whose 2 rows are the two districts' March (one month, no street, the same department).
#[test]
fn profile_names_the_busiest_operators_of_every_check_and_sql_file() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    write_archive(&archive, "t.parquet", &[ticket("a", "东城区"), ticket("b", "西城区")]);
    let o = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["check", "--archive", s(&archive)])
        .env("HOTLINE_PROFILE", "1")
        .output()
        .unwrap();
    let err = stderr(&o);
    let checks: Vec<&str> = err.lines().filter(|l| l.starts_with("profile: queries/checks/")).collect();
    assert_eq!(checks.len(), 8, "{err}");
    assert!(checks.iter().all(|l| l.contains("; busiest: ")), "{err}");
    let time_order = checks.iter().find(|l| l.contains("time_order.sql")).unwrap();
    assert!(time_order.contains("DataSourceExec"), "{time_order}");
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "report",
            "--period",
            "2025Q1",
            "--archive",
            s(&archive),
            "--out",
            s(&out),
            "--no-pdf",
            "--engine",
            "sql",
        ])
        .env("HOTLINE_PROFILE", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let facts =
        err.lines().find(|l| l.starts_with("profile: queries/ticket_facts.sql")).unwrap_or_else(|| panic!("{err}"));
    assert!(facts.contains(", 2 rows; busiest: "), "{facts}");
}
