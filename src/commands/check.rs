//! `hotline check`: the archive's data quality as a table or JSON; exit 3 on an error-level check.

use anyhow::Result;
use serde_json::json;

use crate::args::{CheckArgs, CheckFormat};
use crate::checks;
use crate::config::Config;
use crate::engine;
use crate::error;
use crate::period::Period;

pub fn check(args: CheckArgs) -> Result<()> {
    let (config, _) = Config::load(args.config.as_deref())?;
    let range = match &args.period {
        Some(p) => {
            let p = Period::parse(p, super::report::today(args.today.as_deref(), &config)?)?;
            Some((p.start, p.end))
        }
        None => None,
    };
    let list = checks::load(args.checks.as_deref())?;
    let rt = super::runtime()?;
    let ctx = engine::session();
    let archive = rt.block_on(engine::register_archive(&ctx, &args.archive.archive))?;
    if args.accept_changes {
        if !archive.root.is_dir() {
            return Err(
                error::usage("--accept-changes records the manifest of an archive folder, not of one file").into()
            );
        }
        let m = crate::manifest::record(&archive.root)?;
        super::say(&format!(
            "recorded {} files ({} tickets) in {}",
            m.files.len(),
            m.files.iter().map(|f| f.rows).sum::<u64>(),
            error::shown(&archive.root.join(crate::manifest::NAME))
        ));
    } else if let Some(w) = crate::manifest::verify(&archive)?.warning {
        super::say(&w);
    }
    crate::metrics::register(&ctx, "population", vec![crate::config::population_batch(&config.metrics.population)?])?;
    // a reader that panics on a damaged file (arrow-rs, docs/upstream.md) is a damaged file too
    let (nulls, outcomes) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<_> {
        rt.block_on(checks::register_checked(&ctx, range))?;
        Ok((rt.block_on(checks::null_shares(&ctx, range))?, rt.block_on(checks::run(&ctx, &list))?))
    }))
    .unwrap_or_else(|_| Err(anyhow::anyhow!("a reader panicked on the archive")))
    .map_err(|e| engine::name_damage(&archive, e))?;
    let rows = nulls.first().map(|n| n.2).unwrap_or(0);
    let errors = outcomes.iter().filter(|o| o.is_error()).count();
    let warnings = outcomes.iter().filter(|o| o.failing > 0 && !o.is_error()).count();
    match args.format {
        CheckFormat::Json => {
            let v = json!({
                "archive": archive.root,
                "period": args.period,
                "rows": rows,
                "nulls": nulls.iter().map(|(c, n, total)| json!({"column": c, "nulls": n, "share": if *total > 0 { *n as f64 / *total as f64 } else { 0.0 }})).collect::<Vec<_>>(),
                "checks": outcomes,
                "errors": errors,
                "warnings": warnings,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        CheckFormat::Table => {
            println!(
                "{} tickets in {}{}",
                rows,
                archive.root.display(),
                args.period.as_deref().map(|p| format!(", period {p}")).unwrap_or_default()
            );
            println!();
            println!("{:<18} {:>10} {:>8}", "column", "nulls", "share");
            for (c, n, total) in &nulls {
                let share = if *total > 0 { *n as f64 / *total as f64 * 100.0 } else { 0.0 };
                println!("{c:<18} {n:>10} {share:>7.2}%");
            }
            println!();
            println!("{:<26} {:<8} {:>8}  description / first failing rows", "check", "severity", "failing");
            for o in &outcomes {
                let sev = if o.check.severity == checks::Severity::Error { "error" } else { "warn" };
                let status = if o.failing == 0 { "ok".to_string() } else { o.failing.to_string() };
                println!("{:<26} {:<8} {:>8}  {}", o.check.name, sev, status, o.check.description);
                for e in &o.examples {
                    println!("{:<45}{e}", "");
                }
            }
            println!();
            println!("{errors} error-level and {warnings} warning-level checks failed");
        }
    }
    if errors > 0 {
        let names: Vec<&str> = outcomes.iter().filter(|o| o.is_error()).map(|o| o.check.name.as_str()).collect();
        return Err(error::data(format!("{errors} error-level checks failed: {}", names.join(", ")))
            .hint("`report` refuses to publish until they pass")
            .into());
    }
    Ok(())
}
