//! Errors a person can act on: a kind that decides the exit code, and an optional hint.

use std::fmt;

/// What went wrong, as far as the exit code is concerned (documented in README "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad flags, period or configuration: exit 2.
    Usage,
    /// The archive or another input is unreadable or invalid: exit 3.
    Data,
    /// The PDF could not be rendered (typst missing or failing): exit 4.
    Render,
    /// Another `hotline run` holds the output folder's lock: exit 5.
    Locked,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Usage => 2,
            Kind::Data => 3,
            Kind::Render => 4,
            Kind::Locked => 5,
        }
    }
}

/// An error with a kind and an optional `hint:` line; put it at the root of an anyhow chain.
#[derive(Debug)]
pub struct UserError {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

pub fn usage(message: impl Into<String>) -> UserError {
    UserError { kind: Kind::Usage, message: message.into(), hint: None }
}

pub fn data(message: impl Into<String>) -> UserError {
    UserError { kind: Kind::Data, message: message.into(), hint: None }
}

pub fn locked(message: impl Into<String>) -> UserError {
    UserError { kind: Kind::Locked, message: message.into(), hint: None }
}

pub fn render(message: impl Into<String>) -> UserError {
    UserError { kind: Kind::Render, message: message.into(), hint: None }
}

impl UserError {
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

fn find(err: &anyhow::Error) -> Option<&UserError> {
    err.chain().find_map(|e| e.downcast_ref::<UserError>())
}

/// Exit code for an error: the kind of the first [`UserError`] in the chain, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    find(err)
        .map(|u| u.kind.exit_code())
        .unwrap_or_else(|| if damaged_input(err) || disk_full(err) { Kind::Data.exit_code() } else { 1 })
}

/// The disk (or the quota) ran out while writing: not a fault of the program, and it says so.
fn disk_full(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind;
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(io.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge)
        }) || e.to_string().contains("No space left on device")
    })
}

/// A Parquet or Arrow decoding error anywhere in the chain: the input is bad, not the program.
fn damaged_input(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<datafusion::parquet::errors::ParquetError>().is_some()
            || e.downcast_ref::<datafusion::error::DataFusionError>().is_some_and(crate::engine::is_damaged_input)
    })
}

/// Print `error: outer: inner: …` and the hint, if any, to stderr.
pub fn print(err: &anyhow::Error) {
    let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    eprintln!("error: {}", chain.join(": "));
    if let Some(hint) = find(err).and_then(|u| u.hint.as_deref()) {
        eprintln!("hint: {hint}");
    } else if disk_full(err) {
        eprintln!(
            "hint: the disk is full: free space where hotline writes (`df -h`), then run again; what was \
             published before is untouched (outputs are swapped in only when complete)"
        );
    }
}

/// A path as messages show it: absolute, so a message names the file whatever the working folder.
pub fn shown(path: &std::path::Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// The message of the last panic the hook kept quiet (see [`install_panic_hook`]).
static QUIET_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// A panic of arrow-rs's IPC decoder, which some damaged embedded Arrow schemas (`ARROW:schema`
/// in a Parquet footer) cause (docs/upstream.md), is caught where the archive is read and
/// reported as a damaged file (exit 3, naming it): its message is kept, not printed. Every other
/// panic prints as Rust's default hook prints it.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| l.file().contains("arrow-ipc")) {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let at = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            if let Ok(mut kept) = QUIET_PANIC.lock() {
                *kept = Some(format!("{msg}{at}"));
            }
        } else {
            default(info);
        }
    }));
}

/// The message of a panic the hook kept quiet, if there was one (for a panic nothing caught).
pub fn quiet_panic() -> Option<String> {
    QUIET_PANIC.lock().ok().and_then(|k| k.clone())
}
