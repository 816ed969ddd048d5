//! One module per subcommand.

pub mod check;
pub mod generate;
pub mod import;
pub mod report;
pub mod run;
pub mod sql;

/// A tokio runtime for DataFusion (DataFusion partitions its own work; two workers are plenty).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Progress and summaries go to stderr; stdout is for data.
pub fn say(msg: &str) {
    eprintln!("{msg}");
}
