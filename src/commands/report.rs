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
use crate::config::{Config, MetricSettings};
use crate::engine;
use crate::error;
use crate::export;
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

    let scores_path = dir.join("scores.csv");
    export::write_scores_csv(BufWriter::new(File::create(&scores_path)?), &label, &m.scores)
        .with_context(|| format!("writing {}", scores_path.display()))?;

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
        let timestamp = creation_timestamp(&period);
        render::typst::compile(&build, "report.typ", &dir.join("report.pdf"), timestamp)?;
        pages = pdf_pages(&dir.join("report.pdf"));
        std::fs::remove_dir_all(&build)?;
    }
    write_manifest(dir, &period, &archive, &settings, &m, args.lang)?;
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

fn write_manifest(
    dir: &Path,
    period: &Period,
    archive: &engine::Archive,
    settings: &MetricSettings,
    m: &metrics::Metrics,
    lang: Lang,
) -> Result<()> {
    let files: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    let mut outputs = files;
    outputs.sort();
    let manifest = json!({
        "period": period.label(),
        "start": period.start.to_string(),
        "end_exclusive": period.end.to_string(),
        "lang": if lang == Lang::Zh { "zh" } else { "en" },
        "program": format!("hotline {}", env!("CARGO_PKG_VERSION")),
        "archive": {
            "root": archive.root,
            "files": archive.files,
            "rows": archive.rows(),
        },
        "queries": queries::FILES.iter().map(|(n, _)| format!("queries/{n}.sql")).collect::<Vec<_>>(),
        "template": "report-templates/report.typ",
        "settings": settings,
        "rows": {
            "tickets_in_period": m.city.tickets,
            "scores": m.scores.len(),
        },
        "outputs": outputs,
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}
