//! The one place a DataFusion session is built and the archive is registered as `tickets`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error;
use crate::schema;

/// One archive file as read: path, size and row count (from the Parquet footer).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArchiveFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Archive {
    pub root: PathBuf,
    pub files: Vec<ArchiveFile>,
}

impl Archive {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
}

/// A session with the settings every command shares.
pub fn session() -> SessionContext {
    let ctx = SessionContext::new_with_config(config());
    register_functions(&ctx);
    ctx
}

/// The functions and rules of ours every session has: `quantile_exact` (src/udf.rs) and the
/// analyzer rule that compares durations with intervals correctly (src/rules.rs).
fn register_functions(ctx: &SessionContext) {
    ctx.register_udaf(crate::udf::quantile_exact());
    crate::rules::register(ctx);
}

fn config() -> SessionConfig {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    SessionConfig::new().with_target_partitions(threads).with_information_schema(true).with_parquet_pruning(true)
}

/// A session whose queries may use `bytes` of memory; sorts, joins and aggregations beyond it
/// spill to the system's temporary folder.
pub fn session_with_memory_limit(bytes: usize) -> Result<SessionContext> {
    let runtime =
        datafusion::execution::runtime_env::RuntimeEnvBuilder::new().with_memory_limit(bytes, 1.0).build_arc()?;
    // keep a sixteenth of the budget back per partition for merging what the sorts spilled (wide text columns
    // need more than DataFusion's default 10 MB)
    let mut config = config();
    config.options_mut().execution.sort_spill_reservation_bytes = (bytes / 16).max(10 << 20);
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    register_functions(&ctx);
    Ok(ctx)
}

/// `4G`, `512M`, `1024K`, `1073741824` → bytes.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix("IB").or_else(|| t.strip_suffix('B')).unwrap_or(&t).to_string();
    let (num, mult) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 1usize << 10),
        'M' => (&t[..t.len() - 1], 1 << 20),
        'G' => (&t[..t.len() - 1], 1 << 30),
        'T' => (&t[..t.len() - 1], 1 << 40),
        _ => (&t[..], 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n > 0.0).then_some((n * mult as f64) as usize)
}

/// Every `.parquet` file under `root` (or `root` itself), sorted, so the read set is reproducible.
pub fn list_parquet(root: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(root).map_err(|e| {
        error::data(format!("cannot read archive {}: {e}", root.display()))
            .hint("generate the demo archive with `hotline generate`, or pass --archive PATH")
    })?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading folder {}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name.starts_with('_') {
                continue; // hidden files and in-progress writes (._tmp, _SUCCESS)
            }
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(error::data(format!("archive {} holds no .parquet files", root.display()))
            .hint("generate the demo archive with `hotline generate`, or import an export with `hotline import`")
            .into());
    }
    Ok(out)
}

/// Read each file's footer and check its columns against the canonical schema.
pub fn inspect(root: &Path) -> Result<Archive> {
    let paths = list_parquet(root)?;
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let f = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let bytes = f.metadata()?.len();
        let reader = SerializedFileReader::new(f)
            .map_err(|e| error::data(format!("{} is not a readable Parquet file: {e}", path.display())))?;
        let meta = reader.metadata().file_metadata();
        let arrow = parquet_to_arrow_schema(meta.schema_descr(), meta.key_value_metadata())
            .map_err(|e| error::data(format!("{}: cannot read the schema: {e}", path.display())))?;
        let problems = schema::check(&arrow);
        if !problems.is_empty() {
            return Err(error::data(format!(
                "{} does not match the canonical tickets schema: {}",
                path.display(),
                problems.join("; ")
            ))
            .hint("the columns and types are listed in README \"The archive\"; `hotline import` converts other exports")
            .into());
        }
        files.push(ArchiveFile { path, bytes, rows: meta.num_rows() as u64 });
    }
    Ok(Archive { root: root.to_path_buf(), files })
}

/// Register the archive at `root` as table `tickets`, with the canonical schema (no inference).
pub async fn register_archive(ctx: &SessionContext, root: &Path) -> Result<Archive> {
    let archive = inspect(root)?;
    let urls = archive
        .files
        .iter()
        .map(|f| {
            let abs = std::path::absolute(&f.path)?;
            ListingTableUrl::parse(abs.to_string_lossy()).map_err(anyhow::Error::from)
        })
        .collect::<Result<Vec<_>>>()?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema::table_schema());
    let table = ListingTable::try_new(config)?;
    ctx.register_table("tickets", Arc::new(table))?;
    Ok(archive)
}
