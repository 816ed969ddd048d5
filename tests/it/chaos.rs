//! The chaos suite: corrupted copies of an archive file (truncations, bit flips in data pages and
//! in the footer, a file of a foreign schema, an empty file, a file added or removed) × `report`,
//! `check` and `sql`, with and without the archive's manifest. It prints a table of cases, panics,
//! hangs, silent wrong results and exit codes, and asserts:
//! - with the manifest: every damaged archive stops every command with exit 3 naming the file;
//! - without it: no panic, no hang, exit 0 or 3 only, every exit 3 naming the damaged file or the
//!   rows an error-level data check refused (a flip that still decodes can change the numbers
//!   silently: the reason the manifest exists; the table counts them).
//!
//! `HOTLINE_CHAOS_CASES` (default 40) sets the number of bit-flip cases.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// One way to damage the archive, applied to a fresh copy.
#[derive(Debug, Clone)]
enum Damage {
    Flip { at: u64, bit: u8, region: &'static str },
    Truncate(u64),
    Empty,
    ForeignSchema,
    Removed,
    Added,
}

impl Damage {
    fn label(&self) -> String {
        match self {
            Damage::Flip { region, .. } => format!("bit flip ({region})"),
            Damage::Truncate(_) => "truncation".into(),
            Damage::Empty => "empty file".into(),
            Damage::ForeignSchema => "foreign schema".into(),
            Damage::Removed => "file removed".into(),
            Damage::Added => "file added".into(),
        }
    }

    fn apply(&self, file: &Path) {
        match self {
            Damage::Flip { at, bit, .. } => {
                let mut b = std::fs::read(file).unwrap();
                b[*at as usize] ^= 1 << bit;
                std::fs::write(file, b).unwrap();
            }
            Damage::Truncate(len) => {
                let b = std::fs::read(file).unwrap();
                std::fs::write(file, &b[..*len as usize]).unwrap();
            }
            Damage::Empty => std::fs::write(file, b"").unwrap(),
            Damage::ForeignSchema => {
                // a valid Parquet file of another table under the same name
                use datafusion::arrow::array::{Int64Array, RecordBatch};
                use datafusion::arrow::datatypes::{DataType, Field, Schema};
                let schema = std::sync::Arc::new(Schema::new(vec![Field::new("amount", DataType::Int64, false)]));
                let batch =
                    RecordBatch::try_new(schema.clone(), vec![std::sync::Arc::new(Int64Array::from(vec![1, 2, 3]))])
                        .unwrap();
                let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(
                    std::fs::File::create(file).unwrap(),
                    schema,
                    None,
                )
                .unwrap();
                w.write(&batch).unwrap();
                w.close().unwrap();
            }
            Damage::Removed => std::fs::remove_file(file).unwrap(),
            Damage::Added => {
                std::fs::copy(file, file.with_file_name("part-copy.parquet")).unwrap();
            }
        }
    }
}

/// The data pages end where the footer starts: file length − 8 − footer length.
fn footer_start(file: &Path) -> u64 {
    let b = std::fs::read(file).unwrap();
    let n = b.len();
    let footer = u32::from_le_bytes(b[n - 8..n - 4].try_into().unwrap()) as u64;
    n as u64 - 8 - footer
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn largest_file(dir: &Path) -> PathBuf {
    let mut best = (0, PathBuf::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let len = e.metadata().unwrap().len();
                if len > best.0 {
                    best = (len, p);
                }
            }
        }
    }
    best.1
}

/// What one command did: exit code (None: killed by a signal or by the hang limit), stdout,
/// stderr, and whether it hung.
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    hung: bool,
}

fn run_limited(args: &[&str], out_dir: &Path) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            return Outcome {
                code: None,
                stdout: o.stdout,
                stderr: String::from_utf8_lossy(&o.stderr).into(),
                hung: true,
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    Outcome { code: o.status.code(), stdout: o.stdout, stderr: String::from_utf8_lossy(&o.stderr).into(), hung: false }
}

/// The three commands on `archive`; the comparable result of each (scores.csv, check's JSON
/// without timings, the SQL answer).
fn commands(archive: &Path, work: &Path) -> Vec<(&'static str, Outcome, Vec<u8>)> {
    let a = archive.to_str().unwrap();
    let out = work.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let report = run_limited(
        &["report", "--period", "2025", "--archive", a, "--out", out.to_str().unwrap(), "--no-pdf", "--replace"],
        work,
    );
    let scores = std::fs::read(out.join("2025/scores.csv")).unwrap_or_default();
    let check = run_limited(&["check", "--archive", a, "--format", "json"], work);
    // check's JSON names the archive's folder, which differs from case to case
    let check_result = match serde_json::from_slice::<serde_json::Value>(&check.stdout) {
        Ok(mut v) => {
            v.as_object_mut().map(|o| o.remove("archive"));
            serde_json::to_vec(&v).unwrap()
        }
        Err(_) => check.stdout.clone(),
    };
    let sql = run_limited(
        &[
            "sql",
            "--archive",
            a,
            "--format",
            "csv",
            "SELECT district, count(*), count(closed_at), sum(CASE WHEN resolved THEN 1 ELSE 0 END), max(received_at) FROM tickets GROUP BY 1 ORDER BY 1",
        ],
        work,
    );
    let sql_result = sql.stdout.clone();
    vec![("report", report, scores), ("check", check, check_result), ("sql", sql, sql_result)]
}

#[derive(Default)]
struct Tally {
    runs: usize,
    panics: usize,
    hangs: usize,
    silent_wrong: usize,
    unnamed: usize,
    exit: std::collections::BTreeMap<String, usize>,
}

#[test]
fn damaged_archives_never_panic_hang_or_pass_silently_with_a_manifest() {
    let base = tempfile::tempdir().unwrap();
    let clean = base.path().join("clean");
    let out =
        hotline(&["generate", "--out", clean.to_str().unwrap(), "--tickets", "6000", "--years", "2025", "--seed", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(clean.join("manifest.json").is_file());
    let target = largest_file(&clean);
    let rel = target.strip_prefix(&clean).unwrap().to_path_buf();
    let rel_text = rel.to_string_lossy().to_string();
    let work = base.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let baseline: Vec<(&str, Vec<u8>)> = commands(&clean, &work)
        .into_iter()
        .map(|(name, o, result)| {
            assert_eq!(o.code, Some(0), "{name} on the clean archive: {}", o.stderr);
            (name, result)
        })
        .collect();

    let len = std::fs::metadata(&target).unwrap().len();
    let data_end = footer_start(&target);
    let flips: usize = std::env::var("HOTLINE_CHAOS_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut cases = vec![Damage::Empty, Damage::ForeignSchema, Damage::Removed, Damage::Added];
    for f in [0.0, 0.3, 0.7, 0.99] {
        cases.push(Damage::Truncate((len as f64 * f) as u64));
    }
    cases.push(Damage::Truncate(len - 1));
    for i in 0..flips {
        // three in four in the data pages (after the leading magic), the rest in the footer
        let (at, region) = if i % 4 != 3 {
            (4 + rng.below(data_end - 4), "data page")
        } else {
            (data_end + rng.below(len - data_end), "footer")
        };
        cases.push(Damage::Flip { at, bit: rng.below(8) as u8, region });
    }

    let mut with = Tally::default();
    let mut without = Tally::default();
    let mut failures = Vec::new();
    for (k, damage) in cases.iter().enumerate() {
        for manifest in [true, false] {
            let archive = base.path().join(format!("case-{k}-{manifest}"));
            copy_dir(&clean, &archive);
            if !manifest {
                std::fs::remove_file(archive.join("manifest.json")).unwrap();
            }
            damage.apply(&archive.join(&rel));
            let tally = if manifest { &mut with } else { &mut without };
            for ((name, o, result), (_, good)) in commands(&archive, &work).into_iter().zip(&baseline) {
                tally.runs += 1;
                let code = o.code.map_or("signal".to_string(), |c| c.to_string());
                *tally.exit.entry(code).or_default() += 1;
                let what = format!("{} ({damage:?}, manifest: {manifest}) × {name}", damage.label());
                if o.stderr.contains("panicked") || o.code == Some(101) || (o.code.is_none() && !o.hung) {
                    tally.panics += 1;
                    failures.push(format!("{what}: panic or signal: {}", o.stderr));
                }
                if o.hung {
                    tally.hangs += 1;
                    failures.push(format!("{what}: no answer within 60 s"));
                }
                if o.code == Some(0) && result != *good {
                    tally.silent_wrong += 1;
                    if manifest {
                        failures.push(format!("{what}: exit 0 with a different result"));
                    }
                }
                if let Some(c) = o.code
                    && c != 0
                {
                    // a file that decodes but whose rows fail an error-level data check is
                    // named by its rows (the check's examples), not by the file
                    let named = o.stderr.contains("error-level check")
                        || o.stderr.contains("the report is not published")
                        || o.stderr.contains(&rel_text)
                        || o.stderr.contains(rel.file_name().unwrap().to_str().unwrap())
                        || o.stderr.contains("part-copy.parquet");
                    if !named {
                        tally.unnamed += 1;
                    }
                    if c != 3 {
                        failures.push(format!("{what}: exit {c}, not 3: {}", o.stderr));
                    } else if !named {
                        failures.push(format!("{what}: exit 3 without naming the file: {}", o.stderr));
                    }
                }
                if manifest && o.code != Some(3) {
                    failures.push(format!("{what}: exit {:?} where the manifest must stop it with 3", o.code));
                }
            }
            std::fs::remove_dir_all(&archive).unwrap();
        }
    }
    eprintln!("chaos: {} damaged archives of {rel_text} ({len} bytes, footer from byte {data_end})", cases.len());
    eprintln!(
        "{:<18} {:>6} {:>7} {:>6} {:>13} {:>8}  exit codes",
        "", "runs", "panics", "hangs", "silent wrong", "unnamed"
    );
    for (label, t) in [("with manifest", &with), ("without manifest", &without)] {
        eprintln!(
            "{label:<18} {:>6} {:>7} {:>6} {:>13} {:>8}  {:?}",
            t.runs, t.panics, t.hangs, t.silent_wrong, t.unnamed, t.exit
        );
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// An archive changed on purpose (a month's file taken out) stops `report` with exit 3 naming
/// the file and the way to accept it; after `check --accept-changes` the report runs again. An
/// archive without a manifest works with one warning.
#[test]
fn an_archive_edited_on_purpose_is_accepted_explicitly() {
    let base = tempfile::tempdir().unwrap();
    let archive = base.path().join("archive");
    let a = archive.to_str().unwrap();
    let out = hotline(&["generate", "--out", a, "--tickets", "3000", "--years", "2025", "--seed", "5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let month = archive.join("year=2025/month=12/part-0.parquet");
    std::fs::remove_file(&month).unwrap();
    let out_dir = base.path().join("out");
    let report = || {
        hotline(&[
            "report",
            "--period",
            "2025Q3",
            "--archive",
            a,
            "--out",
            out_dir.to_str().unwrap(),
            "--no-pdf",
            "--replace",
        ])
    };
    let o = report();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("year=2025/month=12/part-0.parquet is missing"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--accept-changes"), "{}", stderr(&o));
    let o = hotline(&["check", "--archive", a, "--accept-changes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("recorded 11 files"), "{}", stderr(&o));
    let o = report();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(archive.join("manifest.json")).unwrap();
    let o = report();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches("has no manifest.json").count(), 1, "{}", stderr(&o));
}
