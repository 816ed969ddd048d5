//! `hotline run` as a scheduler runs it: idempotent, locked, atomic under kill -9, and clear
//! about a missing typst.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::common::*;

/// A folder with an archive (a few 2025Q3 tickets) and a hotline.toml whose [run] section
/// points at it; `last-quarter` is resolved against --today 2025-11-25 → 2025Q3.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vec::new();
    for (i, d) in ["甲区", "乙区", "乙区", "丙区"].iter().enumerate() {
        let mut t = ticket(&i.to_string(), d);
        t.received = at(2025, 8, 1 + i as u32, 9, 0, 0);
        v.push(t);
    }
    write_archive(&dir.path().join("archive"), "t.parquet", &v);
    let config = dir.path().join("hotline.toml");
    std::fs::write(
        &config,
        "[run]\narchive = \"archive\"\nout = \"out\"\nperiod = \"last-quarter\"\nlog = \"out/run.log\"\n",
    )
    .unwrap();
    (dir, config)
}

fn run(config: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.args(["run", "--config", config.to_str().unwrap(), "--today", "2025-11-25"]).args(extra);
    c
}

/// (file name, SHA-256) of every file of the report folder.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            let h: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            (e.file_name().to_string_lossy().to_string(), h)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_second_run_skips_and_a_forced_run_writes_the_same_bytes() {
    let (dir, config) = setup();
    let out = run(&config, &[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = dir.path().join("out/2025Q3");
    let first = snapshot(&report);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "manifest.json",
            "monthly_bottom.csv",
            "report.pdf",
            "scores.csv",
            "scores.json",
            "scores.parquet",
            "scores.xlsx"
        ]
    );

    let out = run(&config, &[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("is up to date"), "{}", stderr(&out));
    assert_eq!(snapshot(&report), first);

    let manifest = |p: &Path| {
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join("manifest.json")).unwrap()).unwrap();
        m.as_object_mut().unwrap().remove("run");
        m
    };
    let manifest_before = manifest(&report);
    let out = run(&config, &["--force"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let again = snapshot(&report);
    // every file is byte-identical except the manifest, whose `run` block records the time
    for (a, b) in first.iter().zip(&again) {
        if a.0 != "manifest.json" {
            assert_eq!(a, b);
        }
    }
    assert_eq!(manifest(&report), manifest_before);
    // the log file has one summary line per run
    let log = std::fs::read_to_string(dir.path().join("out/run.log")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("hotline run: wrote")).count(), 2, "{log}");
    assert_eq!(log.lines().filter(|l| l.contains("is up to date")).count(), 1, "{log}");

    // a changed input is noticed: the run redoes the report
    let mut t = ticket("9", "丁区");
    t.received = at(2025, 9, 1, 9, 0, 0);
    write_archive(&dir.path().join("archive"), "t2.parquet", &[t]);
    let out = run(&config, &[]).output().unwrap();
    assert!(stderr(&out).contains("wrote"), "{}", stderr(&out));
}

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The staging folder of a run in progress, once it holds the finished files.
fn staging_ready(out: &Path) -> bool {
    std::fs::read_dir(out)
        .map(|d| {
            d.flatten().any(|e| {
                e.file_name().to_string_lossy().starts_with(".2025Q3.tmp-") && e.path().join("manifest.json").is_file()
            })
        })
        .unwrap_or(false)
}

#[test]
fn a_second_run_is_refused_while_one_is_running() {
    let (dir, config) = setup();
    let out_dir = dir.path().join("out");
    let mut first =
        run(&config, &["--force"]).env("HOTLINE_TEST_PAUSE_BEFORE_SWAP", "30").stderr(Stdio::null()).spawn().unwrap();
    wait_for("the first run to reach its pause", || staging_ready(&out_dir));
    let second = run(&config, &["--force"]).output().unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
    assert!(stderr(&second).contains("another hotline run is writing"), "{}", stderr(&second));
    assert!(stderr(&second).contains("pid"), "{}", stderr(&second));
}

#[test]
fn kill_9_in_the_middle_leaves_the_previous_report_and_the_next_run_finishes() {
    let (dir, config) = setup();
    let out_dir = dir.path().join("out");
    assert!(run(&config, &[]).output().unwrap().status.success());
    let report = out_dir.join("2025Q3");
    let good = snapshot(&report);
    // a forced run, killed (SIGKILL) when its new files are complete but not yet in place
    let mut child =
        run(&config, &["--force"]).env("HOTLINE_TEST_PAUSE_BEFORE_SWAP", "30").stderr(Stdio::null()).spawn().unwrap();
    wait_for("the run to reach its pause", || staging_ready(&out_dir));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert_eq!(snapshot(&report), good, "the previous report changed");
    // the next run takes the lock the dead one held, clears its leftovers and finishes
    let out = run(&config, &["--force"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let leftovers = names_starting(&out_dir, ".2025Q3");
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(snapshot(&report).len(), good.len());
}

/// SIGTERM (a scheduler's stop) while the new report is staged: the staging and build folders
/// are removed before the process exits with 128 + 15, and the published report is untouched.
#[test]
fn sigterm_in_the_middle_removes_the_staging_folders_before_exiting() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let (dir, config) = setup();
    let out_dir = dir.path().join("out");
    assert!(run(&config, &[]).output().unwrap().status.success());
    let report = out_dir.join("2025Q3");
    let good = snapshot(&report);
    let child =
        run(&config, &["--force"]).env("HOTLINE_TEST_PAUSE_BEFORE_SWAP", "30").stderr(Stdio::piped()).spawn().unwrap();
    wait_for("the run to reach its pause", || staging_ready(&out_dir));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(stderr(&out).contains("stopped by SIGTERM"), "{}", stderr(&out));
    let leftovers = names_starting(&out_dir, ".2025Q3");
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(snapshot(&report), good, "the published report changed");
}

#[test]
fn a_missing_typst_fails_with_the_install_hint_and_keeps_the_old_report() {
    let (dir, config) = setup();
    assert!(run(&config, &[]).output().unwrap().status.success());
    let report = dir.path().join("out/2025Q3");
    let good = snapshot(&report);
    let out = run(&config, &["--force"]).env("TYPST_BIN", "/nonexistent/typst").output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("cargo install --locked typst-cli@0.15.1"), "{}", stderr(&out));
    assert_eq!(snapshot(&report), good);
    let log = std::fs::read_to_string(dir.path().join("out/run.log")).unwrap();
    assert!(log.lines().last().unwrap().contains("FAILED (exit 4)"), "{log}");
}

/// `report` takes the same lock as `run` and clears what a killed run of the same period left
/// behind (staging and build folders), and leaves other periods' folders alone.
#[test]
fn report_clears_a_killed_runs_leftovers_and_waits_for_no_one() {
    let (dir, config) = setup();
    let out_dir = dir.path().join("out");
    for stale in [".2025Q3.tmp-dead1", ".2025Q3.build-99999", ".2025Q2.tmp-other"] {
        std::fs::create_dir_all(out_dir.join(stale).join("district")).unwrap();
    }
    let report = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
        c.current_dir(dir.path())
            .args(["report", "--period", "2025Q3", "--archive", "archive", "--out", "out", "--no-pdf"])
            .args(["--config", config.to_str().unwrap()])
            .args(extra);
        c
    };
    let out = report(&[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> =
        std::fs::read_dir(&out_dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names, [".2025Q2.tmp-other", ".hotline.lock", "2025Q3"]);
    // while a scheduled run writes the folder, a report is refused with exit 5
    let mut first =
        run(&config, &["--force"]).env("HOTLINE_TEST_PAUSE_BEFORE_SWAP", "30").stderr(Stdio::null()).spawn().unwrap();
    wait_for("the run to reach its pause", || staging_ready(&out_dir));
    let second = report(&[]).output().unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
}

/// A later run never removes what an earlier one published: a `--no-pdf` run over a report with
/// unit PDFs stops before computing, names what it would remove and leaves the folder as it was;
/// `--replace` removes them.
#[test]
fn a_later_run_keeps_what_an_earlier_one_published_unless_replace() {
    let (dir, config) = setup();
    let report = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
        c.current_dir(dir.path())
            .args(["report", "--period", "2025Q3", "--archive", "archive", "--out", "out"])
            .args(["--config", config.to_str().unwrap()])
            .args(extra);
        c.output().unwrap()
    };
    let out = report(&["--units", "district"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = dir.path().join("out/2025Q3");
    let published = tree_snapshot(&folder);
    assert!(published.iter().any(|(f, _)| f == "district/甲区.pdf"), "{published:?}");
    let out = report(&["--no-pdf"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("district/, report.pdf, units.csv"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));
    assert_eq!(tree_snapshot(&folder), published);
    // the same with units asked again is fine; --replace removes what is not written again
    assert!(report(&["--units", "district"]).status.success());
    let out = report(&["--no-pdf", "--replace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!folder.join("report.pdf").exists() && !folder.join("district").exists());
}
