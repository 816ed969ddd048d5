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
    build(config(), None)
}

/// The session state every command shares: DataFusion's defaults plus our physical rule that
/// makes joins stoppable (src/rules.rs), and our functions.
fn build(
    config: SessionConfig,
    runtime: Option<Arc<datafusion::execution::runtime_env::RuntimeEnv>>,
) -> SessionContext {
    let mut state = datafusion::execution::session_state::SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(crate::rules::JoinsYield))
        .with_physical_optimizer_rule(Arc::new(crate::dense::DenseAggregate::default()));
    if let Some(rt) = runtime {
        state = state.with_runtime_env(rt);
    }
    let ctx = SessionContext::new_with_state(state.build());
    register_functions(&ctx);
    ctx
}

/// The functions and rules of ours every session has: `quantile_exact`, `quantile_values` and `hash64` (src/udf.rs) and the
/// analyzer rule that compares durations with intervals correctly (src/rules.rs).
fn register_functions(ctx: &SessionContext) {
    ctx.register_udaf(crate::udf::quantile_exact());
    ctx.register_udaf(crate::udf::quantile_values());
    ctx.register_udf(crate::udf::hash64());
    crate::rules::register(ctx);
}

fn config() -> SessionConfig {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let mut config =
        SessionConfig::new().with_target_partitions(threads).with_information_schema(true).with_parquet_pruning(true);
    // DataFusion 55's dynamic filter for MIN/MAX prunes the rows that one aggregate cannot improve
    // on before the other aggregates of the same query have seen them: `SELECT min(received_at),
    // min(closed_at - dispatched_at)` gave a minimum duration of 61.7 s where it is 45.4 s
    // (docs/upstream.md; found by the differential tests against DuckDB). Off until fixed there.
    config.options_mut().optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    // the archive's own schema is given (schema::table_schema); decoding the embedded Arrow
    // schema of every file adds nothing, and arrow-rs panics on a damaged one
    config.options_mut().execution.parquet.skip_arrow_metadata = true;
    config
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
    Ok(build(config, Some(runtime)))
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
        error::data(format!("cannot read archive {}: {e}", error::shown(root))).hint(
            "point at your archive with --archive PATH (or HOTLINE_ARCHIVE=PATH); `hotline import` makes one from an \
             export, and `hotline generate` writes a synthetic demo archive",
        )
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
        return Err(error::data(format!("archive {} holds no .parquet files", error::shown(root)))
            .hint("point --archive (or HOTLINE_ARCHIVE) at a folder of Parquet files; `hotline import` makes one from an export")
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
        // from the Parquet schema alone: the embedded Arrow schema (ARROW:schema) is not decoded,
        // since arrow-rs panics on a damaged one (docs/upstream.md) and the types it would add
        // (string views, dictionaries, zone names) are not part of the canonical schema
        let arrow = parquet_to_arrow_schema(meta.schema_descr(), None)
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
    // the session's Parquet options, without decoding each file's embedded Arrow schema (see config())
    let mut parquet = ctx.state().table_options().parquet.clone();
    parquet.global.skip_arrow_metadata = true;
    let format = ParquetFormat::default().with_options(parquet);
    let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema::table_schema());
    let table = ListingTable::try_new(config)?;
    ctx.register_table("tickets", Arc::new(table))?;
    Ok(archive)
}

/// Whether a failed query failed on the archive's bytes (a Parquet page or footer that does
/// not decode, a file that cannot be read) rather than on the query.
pub fn is_damaged_input(e: &datafusion::error::DataFusionError) -> bool {
    use datafusion::arrow::error::ArrowError;
    use datafusion::error::DataFusionError as E;
    fn external(e: &(dyn std::error::Error + 'static)) -> bool {
        e.downcast_ref::<datafusion::parquet::errors::ParquetError>().is_some()
            || e.downcast_ref::<std::io::Error>().is_some()
            || e.downcast_ref::<datafusion::error::DataFusionError>().is_some_and(is_damaged_input)
    }
    match e.find_root() {
        E::ParquetError(_) | E::IoError(_) | E::ObjectStore(_) => true,
        E::ArrowError(a, _) => match a.as_ref() {
            ArrowError::ParquetError(_) | ArrowError::IoError(..) => true,
            ArrowError::ExternalError(x) => external(x.as_ref()),
            _ => false,
        },
        E::External(x) => external(x.as_ref()),
        _ => false,
    }
}

/// The first place in the archive that the Parquet reader cannot decode, as "FILE, row group R,
/// column C: what failed" (every column chunk of every file is read; used after a failure to
/// name what is damaged, so its cost is paid only then).
pub fn find_damage(archive: &Archive) -> Option<String> {
    use datafusion::parquet::arrow::ProjectionMask;
    use datafusion::parquet::arrow::arrow_reader::{
        ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    };
    for f in &archive.files {
        let name = error::shown(&f.path);
        let open = || std::fs::File::open(&f.path);
        let file = match open() {
            Ok(file) => file,
            Err(e) => return Some(format!("{name}: {e}")),
        };
        // the embedded Arrow schema (ARROW:schema): DataFusion's reader may still decode it, and
        // arrow-rs panics on some damaged ones, so the attempt is made with the panic caught (the
        // process's hook keeps that panic quiet: error::install_panic_hook)
        let arrow = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map(|_| ()).map_err(|e| e.to_string())
        }))
        .unwrap_or_else(|_| Err("it does not decode".into()));
        if let Err(e) = arrow {
            return Some(format!("{name}, footer (the embedded Arrow schema): {e}"));
        }
        // the footer and the page index (column and offset indexes, between the data and the footer)
        let meta = match ArrowReaderMetadata::load(&file, ArrowReaderOptions::new().with_skip_arrow_metadata(true)) {
            Ok(m) => m,
            Err(e) => return Some(format!("{name}, footer: {e}")),
        };
        let with_index = ArrowReaderOptions::new()
            .with_skip_arrow_metadata(true)
            .with_page_index_policy(datafusion::parquet::file::metadata::PageIndexPolicy::Optional);
        if let Err(e) = ArrowReaderMetadata::load(&file, with_index) {
            return Some(format!("{name}, page index: {e}"));
        }
        let groups = meta.metadata().num_row_groups();
        let columns: Vec<String> =
            meta.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_string()).collect();
        for rg in 0..groups {
            for (ci, column) in columns.iter().enumerate() {
                let Ok(file) = open() else { return Some(format!("{name}: cannot be opened again")) };
                let mask = ProjectionMask::leaves(meta.metadata().file_metadata().schema_descr(), [ci]);
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
                    .with_row_groups(vec![rg])
                    .with_projection(mask)
                    .build();
                let failed = match reader {
                    Err(e) => Some(e.to_string()),
                    Ok(mut r) => r.find_map(|b| b.err()).map(|e| e.to_string()),
                };
                if let Some(e) = failed {
                    return Some(format!("{name}, row group {rg}, column {column}: {e}"));
                }
            }
        }
    }
    None
}

/// A failure while reading the archive as the user should see it: when the archive has a place
/// that does not decode, a data error (exit 3) naming the file, row group and column; otherwise
/// the error as it was.
pub fn name_damage(archive: &Archive, e: anyhow::Error) -> anyhow::Error {
    if e.chain().any(|c| c.downcast_ref::<error::UserError>().is_some()) {
        return e;
    }
    match find_damage(archive) {
        Some(place) => error::data(format!("the archive is damaged: {place}"))
            .hint("restore the file from a backup or import the export again")
            .into(),
        None => e,
    }
}
