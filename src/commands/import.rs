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
    let s = import::import(&o, &|m| super::say(m))?;
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
