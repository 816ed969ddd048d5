//! `hotline import FILE… --mapping NAME --archive DIR`.

use anyhow::Result;

use crate::args::ImportArgs;
use crate::import::{self, Mapping};

pub fn import(args: ImportArgs) -> Result<()> {
    let mapping = Mapping::load(&args.mapping)?;
    let archive = args.archive.archive.clone();
    let quarantine = args.quarantine.clone().unwrap_or_else(|| {
        let parent = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        parent.join("quarantine").join(format!("import-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S")))
    });
    let started = std::time::Instant::now();
    let o = import::Options {
        files: &args.files,
        mapping: &mapping,
        archive: &archive,
        quarantine: quarantine.clone(),
        keep: args.keep,
        dry_run: args.dry_run,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:8} [{bar:30}] {percent:>3}% {eta} left")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let progress = |phase: &str, done: u64, total: u64| {
        if bar.message() != phase {
            // each phase's bar starts anew: its ETA is its own
            bar.reset();
            bar.set_message(phase.to_string());
        }
        bar.set_length(total.max(1));
        bar.set_position(done);
    };
    let s = import::import(&o, &|m| bar.suspend(|| super::say(m)), &progress);
    bar.finish_and_clear();
    let s = s?;
    for (reason, n) in &s.reasons {
        super::say(&format!("  quarantined {n}: {reason}"));
    }
    if s.quarantined > 0 {
        super::say(&format!(
            "{} rows quarantined{}",
            s.quarantined,
            if args.dry_run { " (dry run: not written)".to_string() } else { format!(" → {}", quarantine.display()) }
        ));
    }
    super::say(&format!(
        "{}{} into {} in {:.2} s",
        if args.dry_run { "dry run: " } else { "" },
        s.line(),
        archive.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
