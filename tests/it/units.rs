//! One PDF per unit (`report --units`): every unit gets a file with a safe name and its own
//! figures, names print literally, a unit without tickets is skipped and listed, a unit that
//! fails fails alone and the previous output stays, and two runs give the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const EVIL: &str = "#read(\"/etc/passwd\")";

/// 2025Q3 tickets for two districts (甲区 with two streets) and three departments, one with a
/// name that is Typst code and one with a slash; 旧单位 has tickets in 2025Q1 only.
fn archive(dir: &Path) -> PathBuf {
    let mut v = Vec::new();
    let depts = ["市水务局", EVIL, "a/b"];
    for i in 0..12u32 {
        let district = if i % 3 == 0 { "乙区" } else { "甲区" };
        let mut t = ticket(&format!("q{i}"), district);
        t.received = at(2025, 7 + i % 3, 1 + i, 9, 0, 0);
        t.department = Some(depts[i as usize % 3].to_string());
        if district == "甲区" {
            t.street = Some(if i % 2 == 0 { "一街道" } else { "二街道" }.to_string());
        }
        // a few tickets not resolved, so the rates differ between units
        if i % 4 == 1 {
            t.resolved = Some(false);
            t.satisfaction = Some("dissatisfied");
        }
        v.push(t);
    }
    for i in 0..2u32 {
        let mut t = ticket(&format!("old{i}"), "甲区");
        t.received = at(2025, 2, 3 + i, 9, 0, 0);
        t.department = Some("旧单位".into());
        v.push(t);
    }
    write_archive(&dir.join("archive"), "t.parquet", &v);
    dir.join("archive")
}

fn report(archive: &Path, out: &Path, units: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.args(["report", "--period", "2025Q3", "--units", units, "--archive"])
        .arg(archive)
        .arg("--out")
        .arg(out)
        .env_remove("HOTLINE_TEST_FAIL_UNIT");
    c
}

#[test]
fn every_unit_gets_its_own_pdf_with_its_own_figures() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let out = dir.path().join("out");
    let o = report(&archive, &out, "district,department").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("5 unit reports (1 skipped, no tickets in the period: department/旧单位)"), "{err}");

    let r = out.join("2025Q3");
    for f in [
        "district/甲区.pdf",
        "district/乙区.pdf",
        "department/市水务局.pdf",
        "department/#read(__etc_passwd_).pdf",
        "department/a_b.pdf",
    ] {
        assert!(r.join(f).is_file(), "{f} missing");
    }
    assert!(!r.join("street").exists(), "streets were not asked for");

    // units.csv: five written, 旧单位 skipped with the reason, no file
    let rows = read_scores(&r.join("units.csv"));
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.iter().filter(|r| r["status"] == "written").count(), 5);
    let old = rows.iter().find(|r| r["unit"] == "旧单位").unwrap();
    assert_eq!((old["status"].as_str(), old["file"].as_str()), ("skipped", ""));
    assert_eq!(old["reason"], "本期无工单，不生成报告");

    // the unit's own numbers: 甲区 has 8 of the 12 tickets (i % 3 != 0); its score is the one in scores.csv
    let scores = read_scores(&r.join("scores.csv"));
    let jia = scores.iter().find(|s| s["unit_type"] == "district" && s["unit"] == "甲区").unwrap();
    assert_eq!(jia["tickets"], "8");
    let score: f64 = jia["score"].parse().unwrap();
    let text = pdftotext(&r.join("district/甲区.pdf"));
    assert!(text.contains("甲区"), "{text}");
    // (typst sets a thin CJK–Latin space around the digits; pdftotext shows it as a space)
    assert!(text.contains("共受理诉求 8 件"), "{text}");
    assert!(text.contains(&format!("{score:.2}")), "score {score:.2} not printed:\n{text}");
    // a district lists its streets
    assert!(text.contains("一街道") && text.contains("二街道"), "{text}");

    // a name that is Typst code prints literally, and reads nothing
    let evil = pdftotext(&r.join("department/#read(__etc_passwd_).pdf"));
    assert!(evil.contains(EVIL), "{evil}");
    assert!(!evil.contains("root:"), "{evil}");
    let slash = pdftotext(&r.join("department/a_b.pdf"));
    assert!(slash.contains("a/b"), "{slash}");

    // the manifest lists the unit PDFs with their hashes
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(r.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = m["outputs"].as_array().unwrap().iter().map(|o| o["file"].as_str().unwrap()).collect();
    assert!(listed.contains(&"district/甲区.pdf") && listed.contains(&"units.csv"), "{listed:?}");
}

#[test]
fn a_failing_unit_fails_alone_and_the_previous_output_stays() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let out = dir.path().join("out");
    let o = report(&archive, &out, "district,department").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let before = tree_snapshot(&out.join("2025Q3"));

    let o = report(&archive, &out, "district,department").env("HOTLINE_TEST_FAIL_UNIT", "a/b").output().unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    // the other four were rendered (the chunk was retried unit by unit); the summary names the one
    assert!(err.contains("1 of 5 unit reports failed (4 rendered); nothing was published"), "{err}");
    assert!(err.contains("department/a/b:"), "{err}");
    assert_eq!(tree_snapshot(&out.join("2025Q3")), before, "the previous output changed");
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn two_runs_give_identical_unit_pdfs() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let o = report(&archive, out, "all").output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (sa, sb) = (tree_snapshot(&a.join("2025Q3")), tree_snapshot(&b.join("2025Q3")));
    assert_eq!(sa.len(), sb.len());
    // streets too: 甲区's two streets, in street/<district>_<street>.pdf
    assert!(sa.iter().any(|(f, _)| f == "street/甲区_一街道.pdf"), "{sa:?}");
    for (x, y) in sa.iter().zip(&sb) {
        if x.0 != "manifest.json" {
            assert_eq!(x, y, "{} differs between runs", x.0);
        }
    }
}
