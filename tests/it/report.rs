//! The city-wide report as a document: every section with real numbers and real charts,
//! the numbers it printed equal to the score table, PDF/A-3u with scores.csv and the manifest
//! attached, identical bytes on a second run, the quarterly wording and the English locale.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small generated archive (40,000 contacts a year, 2024–2025), shared by the tests here.
fn archive(dir: &Path) -> PathBuf {
    let archive = dir.join("archive");
    let out =
        hotline(&["generate", "--out", s(&archive), "--tickets", "40000", "--years", "2024-2025", "--seed", "11"]);
    assert!(out.status.success(), "{}", stderr(&out));
    archive
}

fn report(archive: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.args(["report", "--archive", s(archive), "--out", s(out)]).args(extra);
    // the repository's hotline.toml: the defaults plus the demo's 每月一题 topics
    c.env("HOTLINE_CONFIG", Path::new(env!("CARGO_MANIFEST_DIR")).join("hotline.toml"));
    c.output().unwrap()
}

fn typst_eval(build: &Path, expr: &str) -> serde_json::Value {
    let typst = std::env::var("TYPST_BIN").unwrap_or_else(|_| "typst".into());
    let fonts = std::env::var("HOTLINE_FONT_PATH").unwrap_or_else(|_| "/usr/share/fonts/opentype/noto".into());
    let out = Command::new(typst)
        .args(["eval", expr, "--in", "report.typ", "--root", s(build), "--font-path", &fonts, "--ignore-system-fonts"])
        .args(["--format", "json"])
        .current_dir(build)
        .output()
        .expect("typst must be installed (scripts/install-deps.sh)");
    assert!(out.status.success(), "typst eval failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_annual_report_is_complete_archival_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let out = dir.path().join("out");
    let mut o = Command::new(env!("CARGO_BIN_EXE_hotline"));
    o.args(["report", "--period", "2025", "--archive", s(&archive), "--out", s(&out)])
        .env("HOTLINE_CONFIG", Path::new(env!("CARGO_MANIFEST_DIR")).join("hotline.toml"))
        .env("HOTLINE_KEEP_BUILD", "1");
    let o = o.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = out.join("2025");
    let pdf = std::fs::read(r.join("report.pdf")).unwrap();

    // what the PDF printed, read back from the same source with typst eval: the city's numbers
    // and every district's rank and score equal scores.csv
    let build = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(".2025.build-"))
        .expect("HOTLINE_KEEP_BUILD keeps the build folder");
    let kpi = &typst_eval(&build, "query(<kpi>).map(it => it.value)")[0];
    let scores = read_scores(&r.join("scores.csv"));
    let districts: Vec<_> = scores.iter().filter(|r| r["unit_type"] == "district").collect();
    let district_tickets: i64 = districts.iter().map(|d| d["tickets"].parse::<i64>().unwrap()).sum();
    // every ticket has a district, so the city's volume is the districts' sum
    assert_eq!(kpi["tickets"].as_i64().unwrap(), district_tickets);
    let printed = kpi["districts"].as_array().unwrap();
    assert_eq!(printed.len(), 16);
    for p in printed {
        let row = districts.iter().find(|d| d["unit"] == p["unit"].as_str().unwrap()).unwrap();
        assert_eq!(p["rank"].as_i64().unwrap().to_string(), row["rank"]);
        let score: f64 = row["score"].parse().unwrap();
        assert!((p["score"].as_f64().unwrap() - score).abs() < 1e-9);
    }
    // at least 6 real charts, of at least four kinds
    let charts = typst_eval(&build, "query(<chart>).map(it => it.value.kind)");
    let kinds: Vec<&str> = charts.as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert!(kinds.len() >= 6, "{kinds:?}");
    for k in ["line", "hbar", "heatmap", "scatter"] {
        assert!(kinds.contains(&k), "no {k} chart in {kinds:?}");
    }

    // every section, in Chinese, with extractable text
    let text = pdftotext(&r.join("report.pdf"));
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for h in [
        "总体情况",
        "渠道与诉求类型",
        "热点分析",
        "一级分类",
        "增减变化最大的类别",
        "各区月度诉求强度",
        "各区千人诉求量",
        "办理情况",
        "各区四项指标与办理时效",
        "考核排名",
        "治理类候选单位",
        "高频难点",
        "建议纳入下一年度",
        "本年度“每月一题”成效",
        "附录",
        "数据质量",
        "计算文件与数据校验",
    ] {
        assert!(compact.contains(h), "missing {h}");
    }
    // the configured topics of 2025 are in the before/after table
    assert!(compact.contains("劳动纠纷与工伤保险") && compact.contains("施工安全"), "topics missing");

    // PDF/A-3u, with scores.csv and the manifest attached
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("pdfaid:part>3<") && raw.contains("pdfaid:conformance>U<"), "not PDF/A-3u");
    let list = Command::new("pdfdetach").arg("-list").arg(r.join("report.pdf")).output().unwrap();
    let list = stdout(&list);
    assert!(list.contains("scores.csv") && list.contains("manifest.json"), "{list}");
    let det = dir.path().join("detached");
    std::fs::create_dir_all(&det).unwrap();
    let o = Command::new("pdfdetach").args(["-saveall", "-o", s(&det)]).arg(r.join("report.pdf")).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(det.join("scores.csv")).unwrap(), std::fs::read(r.join("scores.csv")).unwrap());
    // the attached manifest is manifest.json without the outputs and the run block
    let attached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(det.join("manifest.json")).unwrap()).unwrap();
    let mut on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r.join("manifest.json")).unwrap()).unwrap();
    on_disk.as_object_mut().unwrap().remove("outputs");
    on_disk.as_object_mut().unwrap().remove("run");
    assert_eq!(attached, on_disk);

    // a second run gives the same bytes
    let again = dir.path().join("again");
    let o = report(&archive, &again, &["--period", "2025"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(again.join("2025/report.pdf")).unwrap() == pdf, "report.pdf differs between two runs");
}

#[test]
fn the_quarterly_report_speaks_of_the_quarter_and_english_is_english() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let out = dir.path().join("out");
    let o = report(&archive, &out, &["--period", "2025Q3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = pdftotext(&out.join("2025Q3/report.pdf"));
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for w in ["接诉即办季度体检报告", "2025年第3季度", "与2025年第2季度相比", "环比", "同比", "高频难点"]
    {
        assert!(compact.contains(w), "missing {w}");
    }

    let en = dir.path().join("en");
    let o = report(&archive, &en, &["--period", "2025", "--lang", "en"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = pdftotext(&en.join("2025/report.pdf"));
    for w in [
        "Annual Health Check",
        "Overview",
        "Hot spots",
        "Handling",
        "Rankings",
        "Frequent and hard problems",
        "Appendix",
        "Data quality",
        "Chaoyang",
        "Dongcheng",
    ] {
        assert!(text.contains(w), "missing {w} in the English report");
    }
    // no Chinese label of the locale leaks into the English report (names from the data may)
    for zh in ["总体情况", "考核排名", "解决率", "同比"] {
        assert!(!text.contains(zh), "Chinese label {zh} in the English report");
    }
}
