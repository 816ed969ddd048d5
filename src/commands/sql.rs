//! `hotline sql "SELECT …"`: read-only SQL over the archive, result to stdout.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::context::SQLOptions;
use datafusion::parquet::arrow::ArrowWriter;

use crate::args::{SqlArgs, SqlFormat};
use crate::engine;
use crate::error;

pub fn sql(args: SqlArgs) -> Result<()> {
    let rt = super::runtime()?;
    let ctx = engine::session();
    rt.block_on(engine::register_archive(&ctx, &args.archive.archive))?;
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let batches = rt.block_on(async {
        let df = ctx.sql_with_options(&args.query, options).await?;
        df.collect().await
    });
    let batches = batches.map_err(|e| {
        let text = e.to_string();
        let hint = if text.contains("DDL") || text.contains("DML") || text.contains("Statement") {
            "hotline sql is read-only: only queries (SELECT, WITH, EXPLAIN …) run"
        } else {
            "tables: `tickets`; columns are listed in README \"The archive\""
        };
        error::usage(format!("query failed: {text}")).hint(hint)
    })?;
    let stdout = std::io::stdout();
    let result = print(&mut stdout.lock(), &batches, args.format);
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

pub fn print<W: Write>(w: &mut W, batches: &[RecordBatch], format: SqlFormat) -> Result<()> {
    match format {
        SqlFormat::Table => {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            writeln!(w, "{}", datafusion::arrow::util::pretty::pretty_format_batches(batches)?)?;
            eprintln!("{rows} row(s)");
        }
        SqlFormat::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut *w);
            for b in batches {
                writer.write(b)?;
            }
        }
        SqlFormat::Json => {
            let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut *w);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs)?;
            writer.finish()?;
            writeln!(w)?;
        }
        SqlFormat::Parquet => {
            if std::io::stdout().is_terminal() {
                return Err(error::usage("refusing to write Parquet to a terminal")
                    .hint("redirect stdout to a file: hotline sql … --format parquet > result.parquet")
                    .into());
            }
            let schema = match batches.first() {
                Some(b) => b.schema(),
                None => return Ok(()),
            };
            let mut buf = Vec::new();
            let mut writer = ArrowWriter::try_new(&mut buf, schema, None)?;
            for b in batches {
                writer.write(b)?;
            }
            writer.close()?;
            w.write_all(&buf).context("writing Parquet to stdout")?;
        }
    }
    w.flush()?;
    Ok(())
}
