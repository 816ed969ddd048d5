//! The score exports carry the same rows (CSV, JSON, Parquet, XLSX), and the manifest lets a
//! reader verify which inputs, SQL files and templates made them.

use std::collections::HashMap;
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::common::*;

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A small archive with two districts, streets and departments, run through `report --no-pdf`.
fn report_dir(dir: &Path) -> std::path::PathBuf {
    let mut v = Vec::new();
    for i in 0..6 {
        let mut t = ticket(&format!("a{i}"), "甲区");
        t.street = Some(if i % 2 == 0 { "一街道" } else { "二街道" }.to_string());
        t.resolved = Some(i != 3);
        t.satisfaction = Some(if i == 4 { "basically_satisfied" } else { "satisfied" });
        v.push(t);
    }
    let mut b = ticket("b", "乙区");
    b.department = Some("市热力集团".into());
    b.resolved = None; // no follow-up: resolution null, score re-weighted
    b.satisfaction = None;
    v.push(b);
    write_archive(&dir.join("archive"), "t.parquet", &v);
    let out = hotline(&[
        "report",
        "--period",
        "2025Q1",
        "--no-pdf",
        "--archive",
        dir.join("archive").to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("o/2025Q1")
}

#[test]
fn csv_json_parquet_and_xlsx_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_dir(dir.path());
    let csv_rows = read_scores(&report.join("scores.csv"));
    let header: Vec<String> = csv::Reader::from_path(report.join("scores.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    // 甲区 乙区, 一街道 二街道, 市水务局 市热力集团
    assert_eq!(csv_rows.len(), 6);

    // JSON: same keys in the same order, same values (null ↔ empty field)
    let json_text = std::fs::read_to_string(report.join("scores.json")).unwrap();
    let json: Vec<serde_json::Value> = serde_json::from_str(&json_text).unwrap();
    assert_eq!(json.len(), csv_rows.len());
    let first_line = json_text.lines().nth(1).unwrap();
    let positions: Vec<usize> = header.iter().map(|h| first_line.find(&format!("\"{h}\":")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "JSON keys out of column order");
    for (j, c) in json.iter().zip(&csv_rows) {
        for h in &header {
            let want = &c[h];
            match &j[h] {
                serde_json::Value::Null => assert_eq!(want, "", "{h}"),
                serde_json::Value::String(s) => assert_eq!(s, want, "{h}"),
                serde_json::Value::Bool(b) => assert_eq!(&b.to_string(), want, "{h}"),
                serde_json::Value::Number(n) => {
                    assert_eq!(n.as_f64().unwrap(), want.parse::<f64>().unwrap(), "{h}")
                }
                other => panic!("{h}: unexpected {other}"),
            }
        }
    }

    // Parquet: same columns, same values (floats bit-equal to the CSV's shortest form)
    let file = std::fs::File::open(report.join("scores.parquet")).unwrap();
    let batches: Vec<_> =
        ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    assert_eq!(schema.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>(), header);
    let mut row = 0;
    for b in &batches {
        for i in 0..b.num_rows() {
            for (k, h) in header.iter().enumerate() {
                let a = b.column(k);
                let want = &csv_rows[row][h];
                if a.is_null(i) {
                    assert_eq!(want, "", "{h}");
                    continue;
                }
                let got = match a.data_type() {
                    DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
                    DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
                    DataType::Float64 => format!("{}", a.as_primitive::<Float64Type>().value(i)),
                    DataType::Boolean => a.as_boolean().value(i).to_string(),
                    t => panic!("{h}: unexpected type {t}"),
                };
                assert_eq!(&got, want, "{h}");
            }
            row += 1;
        }
    }
    assert_eq!(row, csv_rows.len());

    // XLSX: one sheet per unit type, Chinese headers, same values
    let mut book: Xlsx<_> = open_workbook(report.join("scores.xlsx")).unwrap();
    assert_eq!(book.sheet_names(), vec!["区", "街道乡镇", "部门单位"]);
    let zh: Vec<&str> = hotline::export::COLUMNS.iter().map(|c| c.zh).collect();
    assert_eq!(
        &zh[..9],
        &["统计期", "单位类型", "单位名称", "考核工单量", "响应率", "解决率", "满意率", "综合得分", "排名"]
    );
    for (sheet, unit_type) in [("区", "district"), ("街道乡镇", "street"), ("部门单位", "department")] {
        let range = book.worksheet_range(sheet).unwrap();
        let rows: Vec<_> = range.rows().collect();
        let head: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
        assert_eq!(head, zh);
        let expected: Vec<&HashMap<String, String>> = csv_rows.iter().filter(|r| r["unit_type"] == unit_type).collect();
        assert_eq!(rows.len() - 1, expected.len(), "{sheet}");
        for (r, want) in rows[1..].iter().zip(expected) {
            for (k, h) in header.iter().enumerate() {
                let cell = r.get(k).cloned().unwrap_or(Data::Empty);
                let w = &want[h];
                match cell {
                    Data::Empty => assert_eq!(w, "", "{sheet} {h}"),
                    Data::String(s) => assert_eq!(&s, w, "{sheet} {h}"),
                    Data::Float(f) => assert_eq!(f, w.parse::<f64>().unwrap(), "{sheet} {h}"),
                    Data::Int(i) => assert_eq!(i.to_string(), *w, "{sheet} {h}"),
                    Data::Bool(b) => assert_eq!(b.to_string(), *w, "{sheet} {h}"),
                    other => panic!("{sheet} {h}: unexpected {other:?}"),
                }
            }
        }
    }

    // 市热力集团 has no follow-up answer: resolution and satisfaction are null and the score uses
    // the response weight alone, re-normalised: 100 × 0.10 × 1 / 0.10 = 100, flagged
    let heat = csv_rows.iter().find(|r| r["unit"] == "市热力集团").unwrap();
    assert_eq!((heat["resolution_rate"].as_str(), heat["satisfaction_rate"].as_str()), ("", ""));
    assert_eq!((heat["score"].as_str(), heat["score_reweighted"].as_str()), ("100", "true"));
}

#[test]
fn the_manifest_names_every_input_with_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_dir(dir.path());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(report.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["period"], "2025Q1");
    assert_eq!(m["previous_period"], "2024Q4");
    assert_eq!(m["program"]["version"], env!("CARGO_PKG_VERSION"));
    // the input file, its size and SHA-256
    let input = std::fs::read(dir.path().join("archive/t.parquet")).unwrap();
    let files = m["archive"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["path"], "t.parquet");
    assert_eq!(files[0]["bytes"], input.len() as u64);
    assert_eq!(files[0]["rows"], 7);
    assert_eq!(files[0]["sha256"], sha(&input));
    // every SQL file of the repository, hashed as it is on disk (the binary embeds the same text)
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(root.join("queries"))
        .unwrap()
        .flatten()
        .map(|e| format!("queries/{}", e.file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> =
        m["queries"].as_array().unwrap().iter().map(|q| q["file"].as_str().unwrap().to_string()).collect();
    listed.sort();
    assert_eq!(listed, on_disk);
    for q in m["queries"].as_array().unwrap().iter().chain(m["templates"].as_array().unwrap()) {
        let f = q["file"].as_str().unwrap();
        assert_eq!(q["sha256"], sha(&std::fs::read(root.join(f)).unwrap()), "{f}");
    }
    // the settings used, the row counts and every output with its checksum
    assert_eq!(m["config"]["settings"]["min_scored_tickets"], 30);
    assert_eq!(m["config"]["settings"]["population"]["source"], "builtin");
    assert_eq!(m["rows"]["tickets_in_period"], 7);
    assert_eq!((m["rows"]["districts"].as_u64(), m["rows"]["streets"].as_u64()), (Some(2), Some(2)));
    let outputs = m["outputs"].as_array().unwrap();
    let names: Vec<&str> = outputs.iter().map(|o| o["file"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["monthly_bottom.csv", "scores.csv", "scores.json", "scores.parquet", "scores.xlsx"]);
    for o in outputs {
        let bytes = std::fs::read(report.join(o["file"].as_str().unwrap())).unwrap();
        assert_eq!(o["sha256"], sha(&bytes));
    }
    assert!(m["run"]["seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn two_runs_write_identical_score_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = report_dir(&dir.path().join("a"));
    let b = report_dir(&dir.path().join("b"));
    for f in ["scores.csv", "scores.json", "scores.parquet", "scores.xlsx"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
}
