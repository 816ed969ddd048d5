//! One module per subcommand.

pub mod check;
pub mod generate;
pub mod import;
pub mod report;
pub mod run;
pub mod sql;

/// A tokio runtime for DataFusion (DataFusion partitions its own work; two workers are plenty).
/// Planning and running a deeply nested expression recurses deeply: the workers get a stack of
/// this size (address space; only what is used is ever committed), and `hotline sql` refuses
/// statements nested deeper than [`crate::sqltool::MAX_NESTING`] before planning them.
pub const WORKER_STACK_BYTES: usize = 256 << 20;

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(WORKER_STACK_BYTES).build()?)
}

/// Progress and summaries go to stderr; stdout is for data.
pub fn say(msg: &str) {
    eprintln!("{msg}");
}
