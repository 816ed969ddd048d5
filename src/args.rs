//! Every command-line flag, in one place (clap derive; doc comments are the help text).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Default archive folder: what `hotline generate` writes and `hotline report` reads.
pub const DEFAULT_ARCHIVE: &str = "output/archive";

#[derive(Debug, Parser)]
#[command(
    name = "hotline",
    version,
    about = "Reports for 12345 citizen-hotline archives: rates, rankings, score tables and Chinese PDF health checks",
    long_about = "Reports for 12345 citizen-hotline (接诉即办) archives.\n\n\
        hotline reads an archive of tickets in the canonical schema (Parquet), computes the \
        response, resolution, satisfaction and on-time rates of every district, street and \
        department with the SQL in queries/, ranks them, and writes score tables and a Chinese \
        PDF report rendered by Typst.",
    after_help = "Examples:\n  \
        hotline generate                       # write the demo archive to output/archive\n  \
        hotline report --period 2025           # annual report into output/2025/\n  \
        hotline report --period 2025Q3 --no-pdf\n  \
        hotline sql \"SELECT district, count(*) FROM tickets GROUP BY 1 ORDER BY 2 DESC\""
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a deterministic synthetic archive (Beijing-like) in the canonical schema
    Generate(GenerateArgs),
    /// Compute the metrics for a period and write scores.csv and the PDF report
    Report(ReportArgs),
    /// Run read-only SQL over the archive (table `tickets`) and print the result
    Sql(SqlArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write the archive into (replaced atomically when complete)
    #[arg(long, short, default_value = DEFAULT_ARCHIVE)]
    pub out: PathBuf,
    /// Tickets per year, all contacts (Beijing has ~24 million; the demo is 1/40 of that)
    #[arg(long, default_value_t = 600_000)]
    pub tickets: u64,
    /// Years to generate: `2025`, `2024-2025` or `2023,2025`
    #[arg(long, default_value = "2024-2025")]
    pub years: String,
    /// Random seed: the same seed and flags give the same archive
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Archive to read: a folder of Parquet files (any layout, read recursively) or one Parquet file
    #[arg(long, short, env = "HOTLINE_ARCHIVE", default_value = DEFAULT_ARCHIVE)]
    pub archive: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Period: `2025` (year), `2025Q3` (quarter), `2025-07` (month), or `last-year`,
    /// `last-quarter`, `last-month` (relative to --today)
    #[arg(long, short)]
    pub period: String,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Parent folder of the report folder; the report goes to <OUT>/<period>/
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// Compute and write everything except the PDF
    #[arg(long)]
    pub no_pdf: bool,
    /// Date that `last-*` periods are relative to (YYYY-MM-DD; default: today)
    #[arg(long)]
    pub today: Option<String>,
    /// Report language
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// Settings file (deadlines, weights, exclusions …); default: ./hotline.toml if present
    #[arg(long, short, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Chinese (default)
    Zh,
    /// English
    En,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL to run (one SELECT); tables: `tickets`
    pub query: String,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    Table,
    Csv,
    Json,
    Parquet,
}
