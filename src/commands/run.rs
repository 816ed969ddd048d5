//! `hotline run`: the job a scheduler starts. It reads everything from the config's `[run]`
//! section, takes a lock on the output folder (a second run exits at once with code 5), skips
//! when the inputs, settings and program are unchanged, writes through a staging folder that
//! replaces the old report in one step, and ends with one summary line (also in the log file).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::report::{Job, today};
use crate::args::{Lang, RunArgs};
use crate::config::Config;
use crate::error;
use crate::period::Period;

/// Appends timestamped lines to the log file (if any) and prints them to stderr.
struct Log(Option<File>);

impl Log {
    fn open(path: Option<&Path>) -> Result<Log> {
        match path {
            None => Ok(Log(None)),
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| error::usage(format!("cannot open the log file {}: {e}", p.display())))?;
                Ok(Log(Some(f)))
            }
        }
    }

    fn line(&mut self, text: &str) {
        eprintln!("{text}");
        if let Some(f) = &mut self.0 {
            let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
            let _ = writeln!(f, "{now} {text}");
        }
    }
}

/// Hold an exclusive lock on `<out>/.hotline.lock` for the life of the returned file. The OS
/// releases it when the process ends, however it ends (kill -9 included).
pub(crate) fn lock(out: &Path) -> Result<File> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(".hotline.lock");
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {
            f.set_len(0)?;
            writeln!(f, "pid {} since {}", std::process::id(), chrono::Local::now().format("%Y-%m-%d %H:%M:%S"))?;
            Ok(f)
        }
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            Err(error::locked(format!(
                "another hotline run is writing {} ({}); not starting a second one",
                out.display(),
                holder.trim()
            ))
            .hint("wait for it to finish; a run that was killed releases the lock by itself")
            .into())
        }
        Err(TryLockError::Error(e)) => Err(anyhow::Error::from(e).context(format!("locking {}", path.display()))),
    }
}

/// Staging and build folders that a killed run left behind (only removed while we hold the lock).
pub(crate) fn remove_leftovers(out: &Path, label: &str) {
    let Ok(entries) = std::fs::read_dir(out) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let stale = name.starts_with(&format!(".{label}.tmp-"))
            || name.starts_with(&format!(".{label}.old-"))
            || name.starts_with(&format!(".{label}.build"));
        if stale {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

pub fn run(args: RunArgs) -> Result<()> {
    let (config, file) = Config::load(Some(&args.config))?;
    let mut log = Log::open(args.log.as_deref().or(config.run.log.as_deref()))?;
    let result = run_logged(&args, config, file, &mut log);
    if let Err(e) = &result {
        // the full error and its hint follow on stderr (main); the log gets one line
        let first = e.to_string();
        log.line(&format!(
            "hotline run: FAILED (exit {}): {}",
            error::exit_code(e),
            first.lines().next().unwrap_or("")
        ));
    }
    result
}

fn run_logged(args: &RunArgs, config: Config, file: Option<PathBuf>, log: &mut Log) -> Result<()> {
    let r = config.run.clone();
    let period_text = args.period.clone().unwrap_or(r.period.clone());
    let period = Period::parse(&period_text, today(args.today.as_deref(), &config)?)?;
    let label = period.label();
    let _lock = lock(&r.out)?;
    remove_leftovers(&r.out, &label);
    log.line(&format!(
        "hotline run: {label} ({period_text}) from {} into {}/{label}",
        r.archive.display(),
        r.out.display()
    ));
    let job = Job {
        period,
        archive: r.archive.clone(),
        out: r.out.clone(),
        pdf: r.pdf,
        lang: if r.lang == "en" { Lang::En } else { Lang::Zh },
        units: r.units.clone(),
        jobs: super::report::default_jobs(),
        checks: std::env::var_os("HOTLINE_CHECKS").map(PathBuf::from),
        replace: args.replace,
        engine: crate::args::Engine::Scan,
        config,
        config_file: file,
    };
    let done = job.run(!args.force)?;
    log.line(&format!("hotline run: {}", done.summary()));
    Ok(())
}
