//! Finding and running the `typst` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::error;

/// The typst-cli version hotline's templates are written for.
pub const TYPST_VERSION: &str = "0.15.1";

fn install_hint() -> String {
    format!(
        "install it with `cargo install --locked typst-cli@{TYPST_VERSION}` (or run scripts/setup.sh), \
         or point TYPST_BIN at the binary; --no-pdf skips the PDF"
    )
}

/// `TYPST_BIN`, else `typst` on PATH, else `~/.cargo/bin/typst` (cron jobs often lack that on PATH).
pub fn find() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("TYPST_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        return Err(error::render(format!("TYPST_BIN points to {}, which is not a file", bin.display()))
            .hint(install_hint())
            .into());
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("typst")).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/typst"));
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        error::render("the `typst` program was not found (needed to render the PDF)").hint(install_hint()).into()
    })
}

/// Folder with the Noto CJK fonts: `HOTLINE_FONT_PATH`, else Debian's fonts-noto-cjk location.
pub fn font_dir() -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("HOTLINE_FONT_PATH").filter(|v| !v.is_empty()) {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![
            PathBuf::from("/usr/share/fonts/opentype/noto"),
            PathBuf::from("/usr/share/fonts/noto-cjk"),
            PathBuf::from("/usr/share/fonts/google-noto-cjk"),
        ],
    };
    for dir in &candidates {
        let has_cjk = std::fs::read_dir(dir)
            .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("NotoSansCJK")))
            .unwrap_or(false);
        if has_cjk {
            return Ok(dir.clone());
        }
    }
    Err(error::render(format!(
        "the Noto CJK fonts were not found (looked in {})",
        candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    ))
    .hint("install them with `apt-get install fonts-noto-cjk`, or set HOTLINE_FONT_PATH to a folder holding NotoSansCJK-*.ttc and NotoSerifCJK-*.ttc")
    .into())
}

/// `typst compile` `root/input` into `output`, with only the given fonts and a fixed creation
/// timestamp so the same input gives the same bytes. Typst's diagnostics are shown verbatim.
pub fn compile(root: &Path, input: &str, output: &Path, timestamp: i64) -> Result<()> {
    run_compile(root, input, output, timestamp, &["--pdf-standard", PDF_STANDARD])
}

/// The archival standard of every PDF hotline writes: PDF/A-3u (fonts embedded, Unicode text,
/// attachments allowed).
pub const PDF_STANDARD: &str = "a-3u";

/// Compile report-templates/unit.typ with the data file `data` (under `root`): with `bundle`,
/// every unit of the data becomes its own PDF in the folder `output` (typst's bundle export,
/// one process for a chunk of units, `-j 1` since chunks run in parallel); without, the first
/// unit becomes the PDF `output`.
pub fn compile_unit(root: &Path, input: &str, output: &Path, timestamp: i64, data: &str, bundle: bool) -> Result<()> {
    let data_arg = format!("data={data}");
    let mut args = vec!["-j", "1", "--input", &data_arg, "--pdf-standard", PDF_STANDARD];
    if bundle {
        args.extend(["--input", "mode=bundle", "--format", "bundle", "--features", "bundle"]);
    }
    run_compile(root, input, output, timestamp, &args)
}

fn run_compile(root: &Path, input: &str, output: &Path, timestamp: i64, extra: &[&str]) -> Result<()> {
    let bin = find()?;
    let fonts = font_dir()?;
    let out = Command::new(&bin)
        .arg("compile")
        .arg("--root")
        .arg(root)
        .arg("--font-path")
        .arg(&fonts)
        .arg("--ignore-system-fonts")
        .arg("--creation-timestamp")
        .arg(timestamp.to_string())
        .arg("--diagnostic-format")
        .arg("short")
        .args(extra)
        .arg(root.join(input))
        .arg(output)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("TYPST_FEATURES")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", bin.display()))?;
    // killed before the staging folders are removed if hotline is told to stop (src/cleanup.rs)
    let _registered = crate::cleanup::child(out.id());
    let out = out.wait_with_output().with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = "-".repeat(60);
        return Err(error::render(format!(
            "typst failed to compile {input} ({})\n{line}\n{}\n{line}",
            out.status,
            stderr.trim_end()
        ))
        .hint(format!("the generated source is kept in {}; hotline expects typst {TYPST_VERSION}", root.display()))
        .into());
    }
    Ok(())
}

/// `typst --version`, for the manifest.
pub fn version() -> Option<String> {
    let bin = find().ok()?;
    let out = Command::new(bin).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
