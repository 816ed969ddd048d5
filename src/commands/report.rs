//! `hotline report --period P`: metrics → scores.csv, manifest.json and the PDF, written into a
//! staging folder beside `output/<P>/` and swapped into place only when complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde_json::json;

use crate::args::{Lang, ReportArgs};
use crate::config::Config;
use crate::engine;
use crate::error;
use crate::export;
use crate::hash;
use crate::metrics;
use crate::period::Period;
use crate::queries;
use crate::render::{self, Locale, ReportInput};

/// `--today`, else today's date in the configured time zone.
pub fn today(flag: Option<&str>, config: &Config) -> Result<NaiveDate> {
    match flag {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| error::usage(format!("invalid --today `{s}`")).hint("use YYYY-MM-DD").into()),
        None => Ok(config.today()),
    }
}

pub fn report(args: ReportArgs) -> Result<()> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let (config, config_file) = Config::load(args.config.as_deref())?;
    if let Some(f) = &config_file {
        super::say(&format!("using settings from {}", f.display()));
    }
    let period = Period::parse(&args.period, today(args.today.as_deref(), &config)?)?;
    let settings = config.metrics.clone();
    let locale = Locale::load(args.lang)?;
    let rt = super::runtime()?;
    let ctx = engine::session();
    let archive = rt.block_on(engine::register_archive(&ctx, &args.archive.archive))?;
    let m = rt.block_on(metrics::compute(&ctx, &period, &settings))?;
    if m.city.tickets == 0 {
        let range = rt.block_on(archive_range(&ctx)).unwrap_or_default();
        return Err(error::data(format!(
            "the archive {} has no tickets received in {} ({} to {})",
            args.archive.archive.display(),
            period.label(),
            period.start,
            period.end.pred_opt().unwrap_or(period.end)
        ))
        .hint(format!("the archive covers {range}; choose a period inside it"))
        .into());
    }
    let computed = started.elapsed();

    let label = period.label();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let target = args.out.join(&label);
    let staging = tempfile::Builder::new().prefix(&format!(".{label}.tmp-")).tempdir_in(&args.out)?;
    let dir = staging.path();

    let timestamp = creation_timestamp(&period);
    write_scores(dir, &label, &m, timestamp)?;

    let input = ReportInput {
        metrics: &m,
        period: &period,
        settings: &settings,
        archive: &archive,
        locale: &locale,
        city: if args.lang == Lang::Zh { &config.city } else { &config.city_en },
    };
    let data = render::report_data(&input)?;
    let mut pages = None;
    if !args.no_pdf {
        // The Typst source and its data are built beside the output; on a typst error they stay
        // there (the error names the folder) for inspection, on success they are removed.
        let build = args.out.join(format!(".{label}.build"));
        let _ = std::fs::remove_dir_all(&build);
        std::fs::create_dir_all(&build)?;
        std::fs::write(build.join("data.json"), serde_json::to_vec_pretty(&data)?)?;
        std::fs::write(build.join("report.typ"), render::typst_source(args.lang, render::SECTIONS)?)?;
        render::typst::compile(&build, "report.typ", &dir.join("report.pdf"), timestamp)?;
        pages = pdf_pages(&dir.join("report.pdf"));
        std::fs::remove_dir_all(&build)?;
    }
    let run = Run { started: started_at, seconds: started.elapsed().as_secs_f64() };
    write_manifest(dir, &period, &archive, &config, config_file.as_deref(), &m, args.lang, &run)?;
    crate::generate::replace_dir(staging.keep(), &target)?;

    let ranked = m.scores.iter().filter(|s| s.rank.is_some()).count();
    super::say(&format!(
        "wrote {}/ : scores.csv ({} units, {} ranked){}; {} tickets in {}, metrics {:.2} s, total {:.2} s",
        target.display(),
        m.scores.len(),
        ranked,
        match (args.no_pdf, pages) {
            (true, _) => String::new(),
            (false, Some(p)) => format!(", report.pdf ({p} pages)"),
            (false, None) => ", report.pdf".to_string(),
        },
        m.city.tickets,
        label,
        computed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// PDF creation time: SOURCE_DATE_EPOCH if set, else midnight after the period ends, so two
/// runs on the same input give the same bytes.
fn creation_timestamp(period: &Period) -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| period.end.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp())
}

/// Page count from the PDF's page tree (`/Type /Pages ... /Count N`), for the summary line.
fn pdf_pages(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let at = text.find("/Type /Pages").or_else(|| text.find("/Type/Pages"))?;
    let rest = &text[at..];
    let count = rest.find("/Count")?;
    rest[count + 6..].trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

async fn archive_range(ctx: &datafusion::prelude::SessionContext) -> Result<String> {
    let batches = ctx
        .sql("SELECT CAST(min(received_at) AS VARCHAR) AS lo, CAST(max(received_at) AS VARCHAR) AS hi FROM tickets")
        .await?
        .collect()
        .await?;
    let b = batches.first().context("no row")?;
    let lo = metrics::strings(b, "lo")?[0].clone().unwrap_or_default();
    let hi = metrics::strings(b, "hi")?[0].clone().unwrap_or_default();
    Ok(format!("{lo} to {hi}"))
}

/// scores.csv, scores.json, scores.parquet and scores.xlsx: the same rows.
fn write_scores(dir: &Path, label: &str, m: &metrics::Metrics, timestamp: i64) -> Result<()> {
    let table = export::ScoreTable { period: label, previous_period: &m.previous_period, scores: &m.scores };
    let csv_path = dir.join("scores.csv");
    table
        .write_csv(BufWriter::new(File::create(&csv_path)?))
        .with_context(|| format!("writing {}", csv_path.display()))?;
    let json_path = dir.join("scores.json");
    table
        .write_json(BufWriter::new(File::create(&json_path)?))
        .with_context(|| format!("writing {}", json_path.display()))?;
    table.write_parquet(&dir.join("scores.parquet"))?;
    table.write_xlsx(&dir.join("scores.xlsx"), timestamp)?;
    Ok(())
}

/// When the run started and how long it took (the only part of the manifest that changes
/// from one run to the next).
struct Run {
    started: chrono::DateTime<chrono::Utc>,
    seconds: f64,
}

#[allow(clippy::too_many_arguments)]
fn write_manifest(
    dir: &Path,
    period: &Period,
    archive: &engine::Archive,
    config: &Config,
    config_file: Option<&Path>,
    m: &metrics::Metrics,
    lang: Lang,
    run: &Run,
) -> Result<()> {
    use rayon::prelude::*;
    let inputs: Vec<serde_json::Value> = archive
        .files
        .par_iter()
        .map(|f| -> Result<serde_json::Value> {
            let rel = f.path.strip_prefix(&archive.root).unwrap_or(&f.path);
            let rel = if rel.as_os_str().is_empty() { f.path.file_name().map(Path::new).unwrap_or(rel) } else { rel };
            Ok(json!({
                "path": rel.display().to_string(),
                "bytes": f.bytes,
                "rows": f.rows,
                "sha256": hash::file_sha256(&f.path)?,
            }))
        })
        .collect::<Result<_>>()?;
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let outputs: Vec<serde_json::Value> = names
        .iter()
        .map(|n| -> Result<serde_json::Value> {
            let p = dir.join(n);
            Ok(json!({"file": n, "bytes": std::fs::metadata(&p)?.len(), "sha256": hash::file_sha256(&p)?}))
        })
        .collect::<Result<_>>()?;
    let text_hash = |file: String, text: &str| json!({"file": file, "sha256": hash::sha256_hex(text.as_bytes())});
    let queries: Vec<_> = queries::FILES.iter().map(|(n, t)| text_hash(format!("queries/{n}.sql"), t)).collect();
    let templates = vec![
        text_hash("report-templates/report.typ".into(), render::REPORT_TEMPLATE),
        text_hash("report-templates/locales/zh.json".into(), render::format::ZH),
        text_hash("report-templates/locales/en.json".into(), render::format::EN),
    ];
    let count = |t: &str| m.scores.iter().filter(|s| s.unit_type == t).count();
    let config_hash = match config_file {
        Some(f) => Some(hash::file_sha256(f)?),
        None => None,
    };
    let manifest = json!({
        "period": period.label(),
        "start": period.start.to_string(),
        "end_exclusive": period.end.to_string(),
        "previous_period": m.previous_period,
        "year_earlier_period": period.year_earlier().label(),
        "lang": if lang == Lang::Zh { "zh" } else { "en" },
        "program": {"name": "hotline", "version": env!("CARGO_PKG_VERSION"), "typst": render::typst::TYPST_VERSION},
        "config": {
            "file": config_file.map(|f| f.display().to_string()),
            "sha256": config_hash,
            "city": config.city,
            "city_en": config.city_en,
            "time_zone": config.time_zone,
            "settings": config.metrics,
        },
        "archive": {
            "root": archive.root,
            "rows": archive.rows(),
            "files": inputs,
        },
        "queries": queries,
        "templates": templates,
        "rows": {
            "tickets_in_period": m.city.tickets,
            "dispatched_in_period": m.city.dispatched,
            "scored_in_period": m.city.scored_tickets,
            "scores": m.scores.len(),
            "districts": count("district"),
            "streets": count("street"),
            "departments": count("department"),
            "ranked": m.scores.iter().filter(|s| s.rank.is_some()).count(),
            "watch_list": m.scores.iter().filter(|s| s.watch_list).count(),
            "monthly_bottom_entries": m.bottom.len(),
        },
        "outputs": outputs,
        "run": {
            "started_at": run.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "seconds": (run.seconds * 1000.0).round() / 1000.0,
        },
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}
