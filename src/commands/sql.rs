//! `hotline sql`: read-only SQL over the archive — one statement, a file, a saved query, or the
//! interactive shell. Results go to stdout (or --output), messages to stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::args::{SqlArgs, SqlFormat};
use crate::config::Config;
use crate::engine;
use crate::error;
use crate::sqltool::{self, output, saved};

pub fn sql(args: SqlArgs) -> Result<()> {
    if args.list {
        return list(&args);
    }
    let (config, _) = Config::load(args.config.as_deref())?;
    let today = super::report::today(args.today.as_deref(), &config)?;
    let limit = engine::parse_size(&args.memory_limit).ok_or_else(|| {
        error::usage(format!("--memory-limit `{}` is not a size", args.memory_limit)).hint("for example 4G, 512M")
    })?;
    let format = output_format(args.format, args.output.as_deref())?;
    let timeout = match args.timeout {
        Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
        Some(t) => return Err(error::usage(format!("--timeout {t}: must be a positive number of seconds")).into()),
        None => None,
    };

    // what to run, and its parameters
    let given = saved::parse_params(&args.params)?;
    let statement: Option<(String, String)> = if let Some(name) = &args.query {
        let all = saved::all(args.queries_dir.as_deref())?;
        let q = all.iter().find(|q| &q.name == name).ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|q| q.name.as_str()).collect();
            error::usage(format!("no saved query `{name}`")).hint(format!("saved queries: {}", names.join(", ")))
        })?;
        Some((q.sql.clone(), format!("saved query `{name}`")))
    } else if let Some(f) = &args.file {
        let text = std::fs::read_to_string(f).map_err(|e| error::usage(format!("cannot read {}: {e}", f.display())))?;
        Some((text, f.display().to_string()))
    } else {
        args.sql.clone().map(|s| (s, "the query".to_string()))
    };
    if statement.is_none() && !given.is_empty() {
        return Err(error::usage("--param needs a query (--query NAME, -f FILE or the SQL)").into());
    }

    let rt = super::runtime()?;
    let ctx = engine::session_with_memory_limit(limit)?;
    let archive = rt.block_on(engine::register_archive(&ctx, &args.archive.archive))?;
    if let Some(w) = crate::manifest::verify(&archive)?.warning {
        super::say(&w);
    }
    if let Some(p) = &args.period {
        let period = crate::period::Period::parse(p, today)?;
        let m = rt.block_on(crate::metrics::compute(&ctx, &period, &config.metrics, None))?;
        let label = period.label();
        let table =
            crate::export::ScoreTable { period: &label, previous_period: &m.previous_period, scores: &m.scores };
        crate::metrics::register(&ctx, "scores", vec![table.batch()?])?;
        super::say(&format!("tables scores and monthly_bottom hold the report's metrics for {label}"));
    }
    sqltool::register_reference(&ctx, &config.metrics.population)?;
    if args.allow_personal_data {
        super::say("note: personal data (caller_id, caller_phone, content) is shown unmasked (--allow-personal-data)");
    } else {
        rt.block_on(sqltool::mask_personal_data(&ctx))?;
    }
    // the tables the check files read (`checked`: the period's tickets, or all of them), so that
    // `-f queries/checks/….sql` lists every failing row
    let range = match &args.period {
        Some(p) => {
            let p = crate::period::Period::parse(p, today)?;
            Some((p.start, p.end))
        }
        None => None,
    };
    rt.block_on(crate::checks::register_checked_as(&ctx, range, false))?;

    let Some((text, what)) = statement else {
        let result = sqltool::repl::Shell { rt: &rt, ctx: &ctx, format, max_rows: args.max_rows, timeout }.run();
        // a query the shell cancelled may still be winding down on a worker: `\q` does not wait for it
        rt.shutdown_background();
        return result;
    };
    let params = saved::bind(&text, &what, &given, today)?;
    let text = text.trim().trim_end_matches(';').to_string();
    let binary = matches!(format, SqlFormat::Parquet | SqlFormat::Xlsx);
    if args.output.is_none() && binary && std::io::stdout().is_terminal() {
        return Err(error::usage(format!("refusing to write {format:?} to a terminal").to_lowercase())
            .hint("use --output FILE, or redirect stdout to a file")
            .into());
    }
    // the answer is written batch by batch as the plan produces it (to a temporary file beside
    // --output, moved into place when the query has succeeded, or to stdout)
    let (total, shown) = match &args.output {
        Some(path) => {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
            let counts = stream(&rt, &ctx, &archive, &text, params, timeout, &mut tmp, format, args.max_rows);
            rt.shutdown_background();
            let (total, shown) = counts?;
            tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
            super::say(&format!("wrote {} ({} rows)", path.display(), total));
            (total, shown)
        }
        None => {
            let counts = stream(&rt, &ctx, &archive, &text, params, timeout, std::io::stdout(), format, args.max_rows);
            rt.shutdown_background();
            match counts {
                Ok(c) => c,
                Err(e) if is_broken_pipe(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    if format == SqlFormat::Table {
        super::say(&output::footer(total, shown));
    }
    Ok(())
}

/// Run the statement, writing its answer to `w` in `format` as it comes: (rows, rows shown).
#[allow(clippy::too_many_arguments)]
fn stream<W: Write + Send>(
    rt: &tokio::runtime::Runtime,
    ctx: &datafusion::prelude::SessionContext,
    archive: &engine::Archive,
    text: &str,
    params: Vec<(String, datafusion::common::ScalarValue)>,
    timeout: Option<Duration>,
    w: W,
    format: SqlFormat,
    max_rows: usize,
) -> Result<(usize, usize)> {
    let mut sink: Option<output::Sink<W>> = None;
    let mut w = Some(w);
    let schema = sqltool::run_each(rt, ctx, text, params, timeout, &mut |schema, b| {
        if sink.is_none() {
            sink = Some(output::Sink::new(w.take().expect("one writer"), schema.clone(), format, max_rows)?);
        }
        sink.as_mut().expect("a sink").write(b)
    })
    .map_err(|e| engine::name_damage(archive, e))?;
    let sink = match sink {
        Some(s) => s,
        // no rows: the header (or the empty file) of the answer's schema
        None => output::Sink::new(w.take().expect("one writer"), schema, format, max_rows)?,
    };
    let total = sink.rows();
    Ok((total, sink.finish()?))
}

/// The output format: --format, else the --output file's extension, else the table; a file name
/// whose extension says another format than --format is refused (CSV text in `q.xlsx` opens as a
/// broken workbook).
fn output_format(given: Option<SqlFormat>, output: Option<&std::path::Path>) -> Result<SqlFormat> {
    let by_name = output.and_then(SqlFormat::of_file);
    match (given, by_name) {
        (Some(f), Some(n)) if f != n => Err(error::usage(format!(
            "--output {} has the extension of {}, but --format {} was asked for",
            output.map(|p| p.display().to_string()).unwrap_or_default(),
            format!("{n:?}").to_lowercase(),
            format!("{f:?}").to_lowercase()
        ))
        .hint("drop --format (the file's extension decides), or give the file the format's extension")
        .into()),
        (Some(f), _) => Ok(f),
        (None, Some(n)) => Ok(n),
        (None, None) => Ok(SqlFormat::Table),
    }
}

fn list(args: &SqlArgs) -> Result<()> {
    let all = saved::all(args.queries_dir.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for q in &all {
        writeln!(out, "{}  — {}  ({})", q.name, q.description, q.source)?;
        for (name, about) in &q.params {
            writeln!(out, "    --param {name}=…  {about}")?;
        }
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}
