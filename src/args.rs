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
        hotline report --period 2025 --units district,department   # plus one PDF per unit\n  \
        hotline run --config hotline.toml      # the scheduled job ([run] in the config)\n  \
        hotline sql \"SELECT district, count(*) FROM tickets GROUP BY 1 ORDER BY 2 DESC\"\n  \
        hotline sql                            # interactive SQL shell\n  \
        hotline import export.csv --mapping beijing-zh --archive archive/\n  \
        hotline check --archive archive/       # data-quality report"
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
    /// The scheduled job: the report the config's [run] section describes, locked, atomic, skipped when nothing changed
    Run(RunArgs),
    /// Ask the archive anything in read-only SQL: one statement, a file, a saved query, or a shell
    Sql(SqlArgs),
    /// Convert exports (CSV in UTF-8 or GBK, XLSX, JSON lines, Parquet) into the canonical archive
    Import(ImportArgs),
    /// Data-quality report of an archive: null shares and the checks in queries/checks/ (plus yours)
    Check(CheckArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Each check is a SQL file that returns the failing rows, with a header:
  -- check: my_check
  -- severity: error        (or warn)
  -- description: what a failing row means
It reads the view `checked` (the archive's tickets), `checked_days` (day, tickets),
`checked_categories` (category_l1, category_l2, tickets) and the table `population`.
Exit code 3 when an error-level check fails; `report` runs the same checks first and refuses to
publish on an error.")]
pub struct CheckArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// A folder of your own checks (*.sql), run after the built-in ones
    #[arg(long, env = "HOTLINE_CHECKS", value_name = "DIR")]
    pub checks: Option<PathBuf>,
    /// Only the tickets received in this period (default: the whole archive)
    #[arg(long, short)]
    pub period: Option<String>,
    /// table (default) or json
    #[arg(long, short = 'F', value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// Settings file (population table for unknown_districts); default ./hotline.toml if present
    #[arg(long, short, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Date that `last-*` periods are relative to (YYYY-MM-DD; default: today)
    #[arg(long)]
    pub today: Option<String>,
    /// Record the archive's files as they are now in its manifest.json (after an edit made on
    /// purpose), instead of stopping because they differ from what import or generate wrote
    #[arg(long)]
    pub accept_changes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    Scan,
    Sql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Mappings (--mapping): canonical, beijing-zh (Chinese headers such as 工单编号, 受理时间, 承办单位,
回访结果), nyc311, boston311, open311, or a mapping .toml of your own (docs/importing.md).

Every row read is accepted, quarantined (file, line, column and reason in the quarantine CSV)
or a duplicate: read = accepted + quarantined + duplicates. Importing the same file again adds
nothing. The archive is rebuilt beside itself and swapped in whole.

Examples:
  hotline import export-2025-03.csv --mapping beijing-zh --archive archive/
  hotline import 311.csv --mapping nyc311 --archive nyc/ --quarantine nyc-rejected.csv
  hotline import a.xlsx b.jsonl --mapping my-mapping.toml --dry-run")]
pub struct ImportArgs {
    /// Export files: .csv / .tsv (UTF-8, UTF-8 with BOM or GBK/GB18030), .xlsx, .jsonl, .parquet
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A built-in mapping (canonical, beijing-zh, nyc311, boston311, open311) or a mapping .toml
    #[arg(long, short, default_value = "canonical")]
    pub mapping: String,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Where rows that fail validation go (CSV: source_file, line, column, reason, record);
    /// default: quarantine/import-<time>.csv beside the archive
    #[arg(long, value_name = "FILE")]
    pub quarantine: Option<PathBuf>,
    /// Which version wins when a ticket_id comes again
    #[arg(long, value_enum, default_value_t = crate::import::Keep::Last)]
    pub keep: crate::import::Keep,
    /// Read, map and validate, print the counts, write nothing
    #[arg(long)]
    pub dry_run: bool,
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
    /// Compute and write everything except the PDFs
    #[arg(long)]
    pub no_pdf: bool,
    /// Also write one PDF per unit of these types into <OUT>/<period>/<type>/: a comma list of
    /// district, street, department (or all); units.csv lists every unit and what happened
    #[arg(long, value_name = "TYPES")]
    pub units: Option<String>,
    /// Typst processes rendering unit reports at once (default: the number of CPUs)
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Your own data checks (*.sql, see `hotline check --help`), run with the built-in ones
    /// before anything is computed; an error-level failure stops the report
    #[arg(long, env = "HOTLINE_CHECKS", value_name = "DIR")]
    pub checks: Option<PathBuf>,
    /// Date that `last-*` periods are relative to (YYYY-MM-DD; default: today)
    #[arg(long)]
    pub today: Option<String>,
    /// Remove what an earlier run published in <OUT>/<period>/ that this run does not write
    /// again (its PDF, unit reports, units.csv, other files); without it such a run stops
    /// before computing anything and names them
    #[arg(long)]
    pub replace: bool,
    /// Report language
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// How the counts are read from the archive: `scan`, one native pass over the Parquet files
    /// (fast); or `sql`, the SQL files in queries/ on DataFusion (the reference: same numbers,
    /// several times slower)
    #[arg(long, value_enum, default_value_t = Engine::Scan)]
    pub engine: Engine,
    /// Settings file (deadlines, weights, exclusions …); default: ./hotline.toml if present
    #[arg(long, short, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes: 0 done or up to date, 2 usage or configuration error, 3 data error, 4 render error,
5 another run holds the lock on the output folder.

Example crontab line (quarterly, 06:00 on the 2nd of January, April, July and October):
  0 6 2 1,4,7,10 * cd /srv/hotline && hotline run --config hotline.toml --log /var/log/hotline.log")]
pub struct RunArgs {
    /// Settings file with a [run] section (archive, out, period, lang, pdf, log)
    #[arg(long, short, env = "HOTLINE_CONFIG", default_value = "hotline.toml")]
    pub config: PathBuf,
    /// Override the config's period (e.g. last-quarter, last-month, last-year, 2025Q3)
    #[arg(long, short)]
    pub period: Option<String>,
    /// Date that `last-*` periods are relative to (YYYY-MM-DD; default: today in the config's time zone)
    #[arg(long)]
    pub today: Option<String>,
    /// Redo the report even when its inputs, settings and program are unchanged
    #[arg(long)]
    pub force: bool,
    /// Remove what an earlier run published in the report folder that this run does not write
    /// again (see `hotline report --help`)
    #[arg(long)]
    pub replace: bool,
    /// Append progress and the summary line to FILE (overrides the config's run.log)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Chinese (default)
    Zh,
    /// English
    En,
}

#[derive(Debug, Args)]
#[command(after_help = SQL_HELP)]
pub struct SqlArgs {
    /// The SQL to run (one statement). Leave out, with no -f or --query, for the interactive shell
    pub sql: Option<String>,
    /// Run the SQL in FILE
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with_all = ["sql", "query"])]
    pub file: Option<PathBuf>,
    /// Run a saved query by name (see --list); its `$name` placeholders come from --param
    #[arg(long, short = 'q', value_name = "NAME", conflicts_with = "sql")]
    pub query: Option<String>,
    /// A parameter for a saved query or a file: NAME=VALUE (bound as a value, never pasted into SQL)
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// List the saved queries with their parameters, and exit
    #[arg(long)]
    pub list: bool,
    /// Also register the report's metrics for this period as tables `scores` (the rows of
    /// scores.csv) and `monthly_bottom`, computed with the same SQL and settings as `report`
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Output format (default: from the --output file's extension, else table)
    #[arg(long, short = 'F', value_enum)]
    pub format: Option<SqlFormat>,
    /// Write the result to FILE (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows shown by the table format (the others write every row)
    #[arg(long, default_value_t = 40)]
    pub max_rows: usize,
    /// Show caller_id, caller_phone and content unmasked (noted on stderr)
    #[arg(long)]
    pub allow_personal_data: bool,
    /// Cancel a query that runs longer than this many seconds
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Memory for query execution before sorts and joins spill to disk: e.g. 2G, 512M
    #[arg(long, value_name = "SIZE", default_value = "4G")]
    pub memory_limit: String,
    /// Folder of your own saved queries (*.sql), in addition to the built-in ones
    #[arg(long, env = "HOTLINE_QUERIES", value_name = "DIR")]
    pub queries_dir: Option<PathBuf>,
    /// Settings file (for --period); default: ./hotline.toml if present
    #[arg(long, short, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Date that `last-*` periods are relative to (YYYY-MM-DD; default: today)
    #[arg(long)]
    pub today: Option<String>,
}

const SQL_HELP: &str = "\
Tables: tickets (the archive; caller_id, caller_phone and content masked unless
--allow-personal-data), population (district, street, population), districts, streets;
with --period also scores and monthly_bottom. Read-only: CREATE, INSERT, COPY and the like are
refused. Functions: everything DataFusion has, plus quantile_exact(x, p) (exact; p may be a
list such as [0.5, 0.9], giving a list) and hash64(text).

Examples:
  hotline sql \"SELECT district, count(*) AS n FROM tickets GROUP BY 1 ORDER BY n DESC\"
  hotline sql --period 2025 \"SELECT unit, score, rank FROM scores WHERE unit_type = 'district'\"
  hotline sql --list
  hotline sql --query streets_by_category --param category=供暖 --param period=2025Q4
  hotline sql -f question.sql --format xlsx --output answer.xlsx
  hotline sql                      # interactive: end statements with ;  \\d lists tables, \\q quits";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    /// Aligned text (Chinese double-width aware), first --max-rows rows
    Table,
    Csv,
    /// One JSON array of objects
    Json,
    /// One JSON object per line
    Ndjson,
    /// Apache Parquet (to a file or a pipe)
    Parquet,
    /// Excel workbook (to a file or a pipe)
    Xlsx,
}

impl SqlFormat {
    /// The format a file name asks for by its extension (`.csv`, `.json`, `.ndjson` / `.jsonl`,
    /// `.parquet`, `.xlsx`, `.txt` for the table), if any.
    pub fn of_file(path: &std::path::Path) -> Option<SqlFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => SqlFormat::Csv,
            "json" => SqlFormat::Json,
            "ndjson" | "jsonl" => SqlFormat::Ndjson,
            "parquet" => SqlFormat::Parquet,
            "xlsx" => SqlFormat::Xlsx,
            "txt" => SqlFormat::Table,
            _ => return None,
        })
    }
}
