//! The archive's manifest (`manifest.json` at its root): each Parquet file's path, size, rows and
//! SHA-256 as `import` or `generate` wrote it. `report`, `run`, `check` and `sql` verify the files
//! against it before reading, so a file changed afterwards (a bit flipped on disk, a partition
//! copied over by hand) stops them with exit 3 naming the file instead of changing the numbers.
//! An archive edited on purpose is accepted with `hotline check --accept-changes`.
//!
//! Parquet page checksums would also catch corruption inside one page, but the `parquet` crate
//! does not write them (docs/upstream.md); the manifest covers every byte of every file.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::engine::Archive;
use crate::error;

/// The manifest's file name, at the archive's root.
pub const NAME: &str = "manifest.json";
const FORMAT: &str = "hotline-archive-manifest/1";

/// One archive file as recorded: path relative to the archive (with `/`), size, rows, SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub bytes: u64,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub files: Vec<Entry>,
}

/// What verifying found: the files as they are (with their hashes, for the report's own
/// manifest) and, when the archive has no manifest to check against, a warning to show once.
#[derive(Debug)]
pub struct Verified {
    pub files: Vec<Entry>,
    pub warning: Option<String>,
}

/// Every file of the archive with its SHA-256 (hashed in parallel).
pub fn entries(archive: &Archive) -> Result<Vec<Entry>> {
    use rayon::prelude::*;
    archive
        .files
        .par_iter()
        .map(|f| {
            let rel = f.path.strip_prefix(&archive.root).unwrap_or(&f.path);
            let rel = if rel.as_os_str().is_empty() { f.path.file_name().map(Path::new).unwrap_or(rel) } else { rel };
            Ok(Entry {
                path: rel.to_string_lossy().replace('\\', "/"),
                bytes: f.bytes,
                rows: f.rows,
                sha256: crate::hash::file_sha256(&f.path)?,
            })
        })
        .collect()
}

/// Record the archive at `root` as it is now: write `root/manifest.json` (atomically).
pub fn record(root: &Path) -> Result<Manifest> {
    let archive = crate::engine::inspect(root)?;
    let manifest = Manifest { format: FORMAT.into(), files: entries(&archive)? };
    let text = serde_json::to_string_pretty(&manifest)? + "\n";
    let mut tmp = tempfile::NamedTempFile::new_in(root).with_context(|| format!("writing into {}", root.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(root.join(NAME)).with_context(|| format!("writing {}", root.join(NAME).display()))?;
    Ok(manifest)
}

/// Check every file of `archive` against its manifest. A single Parquet file (no folder) has no
/// manifest and is only hashed.
pub fn verify(archive: &Archive) -> Result<Verified> {
    let files = entries(archive)?;
    if !archive.root.is_dir() {
        return Ok(Verified { files, warning: None });
    }
    let path = archive.root.join(NAME);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let warning = format!(
                "warning: archive {} has no {NAME}: its files are not checked against what was imported \
                 (`hotline check --archive {} --accept-changes` records them as they are now)",
                crate::error::shown(&archive.root),
                crate::error::shown(&archive.root)
            );
            return Ok(Verified { files, warning: Some(warning) });
        }
        Err(e) => return Err(error::data(format!("cannot read {}: {e}", path.display())).into()),
    };
    let manifest: Manifest =
        serde_json::from_slice(&text).ok().filter(|m: &Manifest| m.format == FORMAT).ok_or_else(|| {
            error::data(format!("{} is not a hotline archive manifest", path.display())).hint(accept_hint(archive))
        })?;
    let problems = compare(&manifest.files, &files);
    if problems.is_empty() {
        return Ok(Verified { files, warning: None });
    }
    let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
    let more = if problems.len() > 5 { format!("; and {} more", problems.len() - 5) } else { String::new() };
    Err(error::data(format!(
        "archive {} does not match its {NAME} ({} of {} files): {}{more}",
        crate::error::shown(&archive.root),
        problems.len(),
        files.len().max(manifest.files.len()),
        shown.join("; ")
    ))
    .hint(format!("restore the files from a backup or import the export again; {}", accept_hint(archive)))
    .into())
}

fn accept_hint(archive: &Archive) -> String {
    format!(
        "if the archive was changed on purpose, `hotline check --archive {} --accept-changes` records it as it is now",
        crate::error::shown(&archive.root)
    )
}

/// What differs between the recorded files and the files found, one line per file.
fn compare(recorded: &[Entry], found: &[Entry]) -> Vec<String> {
    let was: BTreeMap<&str, &Entry> = recorded.iter().map(|e| (e.path.as_str(), e)).collect();
    let now: BTreeMap<&str, &Entry> = found.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    for (path, e) in &now {
        match was.get(path) {
            None => out.push(format!("{path} is not in it (added after the import)")),
            Some(w) if w.bytes != e.bytes => out.push(format!("{path} has {} bytes, {} recorded", e.bytes, w.bytes)),
            Some(w) if w.rows != e.rows => out.push(format!("{path} has {} rows, {} recorded", e.rows, w.rows)),
            Some(w) if w.sha256 != e.sha256 => out.push(format!(
                "{path} changed (SHA-256 {}…, {}… recorded)",
                &e.sha256[..12.min(e.sha256.len())],
                &w.sha256[..12.min(w.sha256.len())]
            )),
            Some(_) => {}
        }
    }
    for path in was.keys().filter(|p| !now.contains_key(*p)) {
        out.push(format!("{path} is missing"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, bytes: u64, rows: u64, sha: &str) -> Entry {
        Entry { path: path.into(), bytes, rows, sha256: sha.into() }
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let recorded = [e("a", 10, 5, "aa"), e("b", 10, 5, "bb"), e("c", 10, 5, "cc"), e("d", 10, 5, "dd")];
        let found = [e("a", 10, 5, "aa"), e("b", 11, 5, "bb"), e("c", 10, 5, "c2"), e("x", 1, 1, "xx")];
        assert_eq!(
            compare(&recorded, &found),
            vec![
                "b has 11 bytes, 10 recorded".to_string(),
                "c changed (SHA-256 c2…, cc… recorded)".into(),
                "x is not in it (added after the import)".into(),
                "d is missing".into(),
            ]
        );
        assert!(compare(&recorded, &recorded).is_empty());
    }
}
