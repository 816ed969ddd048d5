//! hotline: reports for 12345 citizen-hotline archives.
//!
//! Data flows one way: period + archive → DataFusion (the SQL in `queries/`) → typed metrics
//! → JSON + Tera → Typst → PDF, with the score tables written beside the PDF.

pub mod args;
pub mod checks;
pub mod cleanup;
pub mod commands;
pub mod config;
pub mod dense;
pub mod engine;
pub mod error;
pub mod export;
pub mod generate;
pub mod hash;
pub mod import;
pub mod manifest;
pub mod metrics;
pub mod period;
pub mod queries;
pub mod reference;
pub mod render;
pub mod rules;
pub mod scan;
pub mod schema;
pub mod sqltool;
pub mod udf;

use args::{Cli, Command};

/// Run one command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    // the commands that stage and publish folders: a kill in between removes the staging folders
    // (src/cleanup.rs); `sql` and `check` write nothing staged, and the shell has its own Ctrl-C
    if matches!(cli.command, Command::Generate(_) | Command::Report(_) | Command::Run(_) | Command::Import(_)) {
        cleanup::on_termination();
    }
    match cli.command {
        Command::Generate(a) => commands::generate::generate(a),
        Command::Report(a) => commands::report::report(a),
        Command::Run(a) => commands::run::run(a),
        Command::Sql(a) => commands::sql::sql(a),
        Command::Import(a) => commands::import::import(a),
        Command::Check(a) => commands::check::check(a),
    }
}
