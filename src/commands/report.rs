//! `hotline report --period P`: metrics → scores.csv, manifest.json and the PDF, written into a
//! staging folder beside `output/<P>/` and swapped into place only when complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
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
    let (config, config_file) = Config::load(args.config.as_deref())?;
    if let Some(f) = &config_file {
        super::say(&format!("using settings from {}", f.display()));
    }
    let period = Period::parse(&args.period, today(args.today.as_deref(), &config)?)?;
    let units = match &args.units {
        Some(spec) => render::units::parse_unit_types(spec).map_err(|e| error::usage(format!("--units: {e}")))?,
        None => Vec::new(),
    };
    let job = Job {
        period,
        archive: args.archive.archive.clone(),
        out: args.out.clone(),
        pdf: !args.no_pdf,
        lang: args.lang,
        units,
        jobs: args.jobs.unwrap_or_else(default_jobs),
        checks: args.checks.clone(),
        replace: args.replace,
        engine: args.engine,
        config,
        config_file,
    };
    // as `hotline run` does: one writer per output folder, and what a killed run left behind
    // (its staging and build folders) removed before this one starts
    let _lock = super::run::lock(&job.out)?;
    super::run::remove_leftovers(&job.out, &job.period.label());
    let done = job.run(false)?;
    super::say(&format!("stages: {}", done.stages.line()));
    super::say(&done.summary());
    Ok(())
}

/// One report: a period of an archive, into `<out>/<period>/`.
pub struct Job {
    pub period: Period,
    pub archive: PathBuf,
    pub out: PathBuf,
    pub pdf: bool,
    pub lang: Lang,
    /// Unit types that get one PDF per unit.
    pub units: Vec<String>,
    /// Typst processes at once for the unit reports.
    pub jobs: usize,
    /// The user's own data checks, run with the built-in ones before anything is computed.
    pub checks: Option<PathBuf>,
    /// Remove what the published folder holds that this run does not write again.
    pub replace: bool,
    /// The native one-pass scan, or the SQL files (the reference).
    pub engine: crate::args::Engine,
    pub config: Config,
    pub config_file: Option<PathBuf>,
}

/// The number of CPUs (typst processes rendering unit reports at once).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// Unit reports of a run: written, skipped (no tickets in the period), failed.
#[derive(Default)]
pub struct UnitCounts {
    pub written: usize,
    pub skipped: Vec<String>,
    pub failed: Vec<String>,
}

/// Seconds spent per stage of a run, in order, for the summary and the benchmark.
#[derive(Default)]
pub struct Stages(pub Vec<(&'static str, f64)>);

impl Stages {
    fn lap(&mut self, name: &'static str, since: &mut Instant) {
        self.0.push((name, since.elapsed().as_secs_f64()));
        *since = Instant::now();
    }

    /// `read 0.12 s, checks 0.31 s, metrics 2.50 s, …`
    pub fn line(&self) -> String {
        self.0.iter().map(|(n, s)| format!("{n} {s:.2} s")).collect::<Vec<_>>().join(", ")
    }
}

/// What a job did.
pub struct Done {
    pub target: PathBuf,
    pub units: usize,
    pub ranked: usize,
    pub pages: Option<usize>,
    pub pdf: bool,
    pub tickets: i64,
    pub label: String,
    pub metrics_seconds: f64,
    pub seconds: f64,
    pub unit_reports: Option<UnitCounts>,
    pub stages: Stages,
    /// Set when the inputs were unchanged and nothing was written: when the output was made.
    pub skipped_since: Option<String>,
}

impl Done {
    pub fn summary(&self) -> String {
        if let Some(when) = &self.skipped_since {
            return format!(
                "{}/ is up to date (same inputs, settings and program as its run at {when}): nothing to do; --force redoes it",
                self.target.display()
            );
        }
        format!(
            "wrote {}/ : scores ({} units, {} ranked){}{}; {} tickets in {}, metrics {:.2} s, total {:.2} s",
            self.target.display(),
            self.units,
            self.ranked,
            match (self.pdf, self.pages) {
                (false, _) => String::new(),
                (true, Some(p)) => format!(", report.pdf ({p} pages)"),
                (true, None) => ", report.pdf".to_string(),
            },
            match &self.unit_reports {
                None => String::new(),
                Some(u) => {
                    let mut s = format!(", {} unit reports", u.written);
                    if !u.skipped.is_empty() {
                        s.push_str(&format!(
                            " ({} skipped, no tickets in the period: {})",
                            u.skipped.len(),
                            short_list(&u.skipped)
                        ));
                    }
                    s
                }
            },
            self.tickets,
            self.label,
            self.metrics_seconds,
            self.seconds
        )
    }
}

/// Test hook: seconds to sleep just before the finished output replaces the old one, so a test
/// can kill the process at the worst moment.
const PAUSE_HOOK: &str = "HOTLINE_TEST_PAUSE_BEFORE_SWAP";

/// Set to keep the folder with the generated Typst source, data.json and the attached files
/// after a successful run (for template work and `typst eval` read-back).
const KEEP_BUILD: &str = "HOTLINE_KEEP_BUILD";

impl Job {
    /// The fingerprint of everything that decides the output: program, settings file, period,
    /// language, PDF or not, and every input file's path, size and SHA-256.
    fn fingerprint(&self, inputs: &[serde_json::Value]) -> Result<String> {
        let config_hash = match &self.config_file {
            Some(f) => hash::file_sha256(f)?,
            None => "defaults".to_string(),
        };
        let key = json!({
            "program": env!("CARGO_PKG_VERSION"),
            "typst": render::typst::TYPST_VERSION,
            "config": config_hash,
            "period": self.period.label(),
            "lang": if self.lang == Lang::Zh { "zh" } else { "en" },
            "pdf": self.pdf,
            "units": self.units,
            "inputs": inputs,
        });
        Ok(hash::sha256_hex(&serde_json::to_vec(&key)?))
    }

    /// What the published folder `target` holds that this run would not write: the PDF, unit
    /// reports and units.csv of a run with other options, or files someone put there.
    fn would_remove(&self, target: &Path) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(target) else { return Vec::new() };
        let mut writes =
            vec!["scores.csv", "scores.json", "scores.parquet", "scores.xlsx", "monthly_bottom.csv", "manifest.json"];
        if self.pdf {
            writes.push("report.pdf");
            if !self.units.is_empty() {
                writes.push("units.csv");
                writes.extend(self.units.iter().map(String::as_str));
            }
        }
        let mut lost: Vec<String> = entries
            .flatten()
            .map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                if e.path().is_dir() { format!("{name}/") } else { name }
            })
            .filter(|n| !writes.contains(&n.trim_end_matches('/')))
            .collect();
        lost.sort();
        lost
    }

    /// Compute and write the report. With `skip_if_unchanged`, a target whose manifest has the
    /// same fingerprint is left as it is (the run says so).
    pub fn run(&self, skip_if_unchanged: bool) -> Result<Done> {
        let started = Instant::now();
        let mut lap = Instant::now();
        let mut stages = Stages::default();
        let started_at = chrono::Utc::now();
        let period = &self.period;
        let label = period.label();
        let target = self.out.join(&label);
        let settings = self.config.metrics.clone();
        let mut locale = Locale::load(self.lang)?;
        let rt = super::runtime()?;
        let ctx = engine::session();
        let archive = rt.block_on(engine::register_archive(&ctx, &self.archive))?;
        // every archive file hashed and checked against the archive's manifest (exit 3 on a change)
        let verified = crate::manifest::verify(&archive)?;
        if let Some(w) = &verified.warning {
            super::say(w);
        }
        let inputs: Vec<serde_json::Value> =
            verified.files.iter().map(serde_json::to_value).collect::<std::result::Result<_, _>>()?;
        let fingerprint = self.fingerprint(&inputs)?;
        if skip_if_unchanged && let Some(when) = unchanged_since(&target, &fingerprint) {
            return Ok(Done {
                target,
                units: 0,
                ranked: 0,
                pages: None,
                pdf: self.pdf,
                tickets: 0,
                label,
                metrics_seconds: 0.0,
                seconds: started.elapsed().as_secs_f64(),
                unit_reports: None,
                stages,
                skipped_since: Some(when),
            });
        }
        // a later run never removes what an earlier one published, unless asked to
        let lost = self.would_remove(&target);
        if !lost.is_empty() && !self.replace {
            return Err(error::usage(format!(
                "{} holds {} that this run would not write again; publishing it would remove them",
                target.display(),
                lost.join(", ")
            ))
            .hint(
                "ask for them again (drop --no-pdf, or add --units with their types), or pass --replace to remove them",
            )
            .into());
        }
        // data checks over the tickets the numbers are computed from (the year before the period
        // and the period): an error-level failure stops here, before anything is written
        stages.lap("read", &mut lap);
        let check_list = crate::checks::load(self.checks.as_deref())?;
        metrics::register(&ctx, "population", vec![crate::config::population_batch(&settings.population)?])?;
        let window = (period.year_earlier().start, period.end);
        let scanned = match self.engine {
            crate::args::Engine::Scan => Some(
                crate::scan::scan(&archive, &crate::scan::Spec::new(period, &settings))
                    .map_err(|e| engine::name_damage(&archive, e))?,
            ),
            crate::args::Engine::Sql => None,
        };
        stages.lap("scan", &mut lap);
        let check_outcomes = rt
            .block_on(crate::checks::run_window(&ctx, &check_list, window, scanned.as_ref()))
            .map_err(|e| engine::name_damage(&archive, e))?;
        if let Some(e) = crate::checks::refuse(&check_outcomes) {
            return Err(e.into());
        }
        for o in check_outcomes.iter().filter(|o| o.failing > 0) {
            super::say(&format!(
                "warning: data check `{}`: {} rows ({})",
                o.check.name, o.failing, o.check.description
            ));
        }
        stages.lap("checks", &mut lap);
        let m = rt
            .block_on(metrics::compute(&ctx, period, &settings, scanned.as_ref()))
            .map_err(|e| engine::name_damage(&archive, e))?;
        drop(scanned);
        stages.lap("metrics", &mut lap);
        if m.city.tickets == 0 {
            let range = rt.block_on(archive_range(&ctx)).unwrap_or_default();
            return Err(error::data(format!(
                "the archive {} has no tickets received in {} ({} to {})",
                self.archive.display(),
                label,
                period.start,
                period.end.pred_opt().unwrap_or(period.end)
            ))
            .hint(format!("the archive covers {range}; choose a period inside it"))
            .into());
        }
        let computed = started.elapsed();
        // a due time from the source system (311 exports) makes on-time closing a proxy
        let due = m.quality.iter().find(|(k, _)| k == "source:due_at").map_or(0, |(_, n)| *n);
        if due > 0 {
            locale.mark_on_time_proxy(due);
        }

        std::fs::create_dir_all(&self.out).with_context(|| format!("creating {}", self.out.display()))?;
        let staging = tempfile::Builder::new().prefix(&format!(".{label}.tmp-")).tempdir_in(&self.out)?;
        let _staged = crate::cleanup::stage(staging.path());
        let dir = staging.path();

        let timestamp = creation_timestamp(period);
        write_scores(dir, &label, &m, timestamp)?;
        stages.lap("tables", &mut lap);

        let manifest = Manifest {
            period,
            archive: &archive,
            inputs: &inputs,
            fingerprint: &fingerprint,
            config: &self.config,
            config_file: self.config_file.as_deref(),
            lang: self.lang,
            units: &self.units,
            checks: &check_outcomes,
        };
        // everything the manifest says before the outputs exist: attached inside the PDF, and
        // the start of manifest.json
        let core = manifest.core(&m)?;
        let input = ReportInput {
            metrics: &m,
            period,
            settings: &settings,
            archive: &archive,
            locale: &locale,
            city: if self.lang == Lang::Zh { &self.config.city } else { &self.config.city_en },
            inputs: &inputs,
        };
        let data = render::report_data(&input)?;
        let mut pages = None;
        let mut unit_reports = None;
        if self.pdf {
            // The Typst source and its data are built beside the output; on a typst error they
            // stay there (the error names the folder) for inspection, on success they are removed.
            // per process, so typst children of a killed run cannot write into the next run's folder
            let build = self.out.join(format!(".{label}.build-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&build);
            let _staged_build = crate::cleanup::stage(&build);
            std::fs::create_dir_all(&build)?;
            std::fs::write(build.join("data.json"), serde_json::to_vec_pretty(&data)?)?;
            std::fs::write(build.join("report.typ"), render::typst_source(self.lang, render::SECTIONS)?)?;
            std::fs::write(build.join("charts.typ"), render::units::CHARTS_TEMPLATE)?;
            // the evidence attached inside the PDF: the score table and the manifest as it stands
            // before rendering (no outputs, no run block: the same bytes on every run)
            std::fs::copy(dir.join("scores.csv"), build.join("scores.csv"))?;
            std::fs::write(build.join("manifest.json"), serde_json::to_vec_pretty(&core)?)?;
            render::typst::compile(&build, "report.typ", &dir.join("report.pdf"), timestamp)?;
            stages.lap("pdf", &mut lap);
            pages = render::pdf_pages(&dir.join("report.pdf"));
            if !self.units.is_empty() {
                unit_reports = Some(self.unit_reports(&input, &data, &build, dir, timestamp)?);
                stages.lap("unit pdfs", &mut lap);
            }
            if std::env::var_os(KEEP_BUILD).is_some_and(|v| !v.is_empty()) {
                super::say(&format!("keeping the Typst sources and data in {} ({KEEP_BUILD})", build.display()));
            } else {
                std::fs::remove_dir_all(&build)?;
            }
        }
        let run = Run { started: started_at, seconds: started.elapsed().as_secs_f64(), engine: self.engine };
        write_manifest(dir, core, &run)?;
        if let Some(secs) = std::env::var(PAUSE_HOOK).ok().and_then(|s| s.parse::<f64>().ok()) {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
        }
        crate::generate::replace_dir(staging.keep(), &target)?;
        stages.lap("publish", &mut lap);
        Ok(Done {
            target,
            units: m.scores.len(),
            ranked: m.scores.iter().filter(|s| s.rank.is_some()).count(),
            pages,
            pdf: self.pdf,
            tickets: m.city.tickets,
            label,
            metrics_seconds: computed.as_secs_f64(),
            seconds: started.elapsed().as_secs_f64(),
            unit_reports,
            stages,
            skipped_since: None,
        })
    }

    /// One PDF per unit of the asked types into `dir/<type>/`, and units.csv. A unit that fails
    /// does not stop the others; any failure fails the run (after all units were tried), so
    /// the previous output stays in place.
    fn unit_reports(
        &self,
        input: &ReportInput,
        data: &serde_json::Value,
        build: &Path,
        dir: &Path,
        timestamp: i64,
    ) -> Result<UnitCounts> {
        use render::units::{self, Status};
        let (docs, skipped) = units::plan(input, &self.units);
        super::say(&format!(
            "rendering {} unit reports ({}) on {} threads",
            docs.len(),
            self.units.join(", "),
            self.jobs
        ));
        let common = json!({"t": data["t"], "meta": units::meta(input, &data["meta"])});
        let mut outcomes = units::render(docs, &common, build, dir, timestamp, self.jobs)?;
        outcomes.extend(skipped);
        units::write_index(&dir.join("units.csv"), &outcomes)?;
        let name = |o: &units::Outcome| match &o.parent {
            Some(p) => format!("{}/{p}/{}", o.unit_type, o.unit),
            None => format!("{}/{}", o.unit_type, o.unit),
        };
        let mut counts = UnitCounts::default();
        let mut failures = Vec::new();
        for o in &outcomes {
            match &o.status {
                Status::Written { .. } => counts.written += 1,
                Status::Skipped(_) => counts.skipped.push(name(o)),
                Status::Failed(reason) => {
                    counts.failed.push(name(o));
                    failures.push(format!("  {}: {}", name(o), reason.lines().take(4).collect::<Vec<_>>().join(" | ")));
                }
            }
        }
        if !counts.failed.is_empty() {
            failures.truncate(10);
            return Err(error::render(format!(
                "{} of {} unit reports failed ({} rendered); nothing was published:\n{}",
                counts.failed.len(),
                counts.failed.len() + counts.written,
                counts.written,
                failures.join("\n")
            ))
            .hint("the previous output is unchanged; fix the cause and run again")
            .into());
        }
        Ok(counts)
    }
}

/// `a, b, c and 4 more`
fn short_list(items: &[String]) -> String {
    if items.len() <= 3 { items.join(", ") } else { format!("{} and {} more", items[..3].join(", "), items.len() - 3) }
}

/// The start time of the run that wrote `target`, when its manifest has this fingerprint.
fn unchanged_since(target: &Path, fingerprint: &str) -> Option<String> {
    let bytes = std::fs::read(target.join("manifest.json")).ok()?;
    let m: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if m["fingerprint"].as_str()? != fingerprint {
        return None;
    }
    // every output the manifest lists must still be there, unchanged in size
    for o in m["outputs"].as_array()? {
        let len = std::fs::metadata(target.join(o["file"].as_str()?)).ok()?.len();
        if len != o["bytes"].as_u64()? {
            return None;
        }
    }
    m["run"]["started_at"].as_str().map(str::to_string)
}

/// PDF creation time: SOURCE_DATE_EPOCH if set, else midnight after the period ends, so two
/// runs on the same input give the same bytes.
fn creation_timestamp(period: &Period) -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| period.end.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp())
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

/// scores.csv, scores.json, scores.parquet and scores.xlsx (the same rows), and the monthly
/// bottom-N lists behind the watch list.
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
    let bottom_path = dir.join("monthly_bottom.csv");
    export::write_monthly_bottom(BufWriter::new(File::create(&bottom_path)?), &m.bottom)
        .with_context(|| format!("writing {}", bottom_path.display()))?;
    Ok(())
}

/// manifest.json on disk: the core (as attached to the PDF), the outputs with their SHA-256,
/// and the run block.
fn write_manifest(dir: &Path, mut manifest: serde_json::Value, run: &Run) -> Result<()> {
    let mut names = Vec::new();
    files_under(dir, Path::new(""), &mut names)?;
    names.sort();
    use rayon::prelude::*;
    let outputs: Vec<serde_json::Value> = names
        .par_iter()
        .map(|n| -> Result<serde_json::Value> {
            let p = dir.join(n);
            Ok(json!({"file": n, "bytes": std::fs::metadata(&p)?.len(), "sha256": hash::file_sha256(&p)?}))
        })
        .collect::<Result<_>>()?;
    manifest["outputs"] = json!(outputs);
    manifest["run"] = json!({
        "started_at": run.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "seconds": (run.seconds * 1000.0).round() / 1000.0,
        // which code read the tickets: the native scan or the SQL files (same numbers)
        "engine": clap::ValueEnum::to_possible_value(&run.engine).map(|v| v.get_name().to_string()),
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}

/// Every file under `dir/rel`, as paths relative to `dir` (with `/`).
fn files_under(dir: &Path, rel: &Path, out: &mut Vec<String>) -> Result<()> {
    for e in std::fs::read_dir(dir.join(rel))?.flatten() {
        let rel = rel.join(e.file_name());
        if e.file_type()?.is_dir() {
            files_under(dir, &rel, out)?;
        } else {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// When the run started, how long it took and which engine read the tickets (the only part of
/// the manifest that changes from one run to the next).
struct Run {
    engine: crate::args::Engine,
    started: chrono::DateTime<chrono::Utc>,
    seconds: f64,
}

struct Manifest<'a> {
    period: &'a Period,
    archive: &'a engine::Archive,
    inputs: &'a [serde_json::Value],
    fingerprint: &'a str,
    config: &'a Config,
    config_file: Option<&'a Path>,
    lang: Lang,
    units: &'a [String],
    checks: &'a [crate::checks::Outcome],
}

impl Manifest<'_> {
    /// Everything but the outputs and the run: what the PDF carries inside (it cannot hold its
    /// own checksum), identical on every run with the same inputs.
    fn core(&self, m: &metrics::Metrics) -> Result<serde_json::Value> {
        let (period, archive, config, config_file, lang) =
            (self.period, self.archive, self.config, self.config_file, self.lang);
        let inputs = self.inputs;
        let text_hash = |file: String, text: &str| json!({"file": file, "sha256": hash::sha256_hex(text.as_bytes())});
        let queries: Vec<_> = queries::FILES.iter().map(|(n, t)| text_hash(format!("queries/{n}.sql"), t)).collect();
        let templates = vec![
            text_hash("report-templates/report.typ".into(), render::REPORT_TEMPLATE),
            text_hash("report-templates/charts.typ".into(), render::units::CHARTS_TEMPLATE),
            text_hash("report-templates/unit.typ".into(), render::units::UNIT_TEMPLATE),
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
            "fingerprint": self.fingerprint,
            "start": period.start.to_string(),
            "end_exclusive": period.end.to_string(),
            "previous_period": m.previous_period,
            "year_earlier_period": period.year_earlier().label(),
            "lang": if lang == Lang::Zh { "zh" } else { "en" },
            "units": self.units,
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
            "checks": self.checks.iter().map(|o| json!({"check": o.check.name, "source": o.check.source, "severity": o.check.severity, "failing": o.failing})).collect::<Vec<_>>(),
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
        });
        Ok(manifest)
    }
}
