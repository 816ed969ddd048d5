//! Staging folders and files removed when the process is told to stop. `report`, `run`,
//! `import` and `generate` write into staging paths beside their outputs and swap them in when
//! complete; a SIGTERM, SIGINT or SIGHUP in between would leave them behind (a later `report` or
//! `run` removes them too, but a scheduler's kill should not leave litter at all). Each staging
//! path is registered while it exists ([`stage`]); [`on_termination`] starts a thread that waits
//! for those signals, removes what is registered and exits with 128 + the signal's number.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static STAGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A registered staging path; dropping it unregisters the path (it does not remove it: the
/// owner publishes or removes it as usual).
#[must_use]
pub struct Staged(PathBuf);

/// Remove `path` if the process is told to stop while the returned guard lives.
pub fn stage(path: &Path) -> Staged {
    if let Ok(mut v) = STAGED.lock() {
        v.push(path.to_path_buf());
    }
    Staged(path.to_path_buf())
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Ok(mut v) = STAGED.lock()
            && let Some(i) = v.iter().rposition(|p| *p == self.0)
        {
            v.remove(i);
        }
    }
}

/// Remove every registered path (what the signal thread does before exiting).
pub fn remove_staged() -> usize {
    let paths: Vec<PathBuf> = STAGED.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
    let mut removed = 0;
    for p in paths {
        let gone = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        removed += gone.is_ok() as usize;
    }
    removed
}

/// Handle SIGTERM, SIGINT and SIGHUP from here on: call it first in a command, before any other
/// thread starts (threads inherit the blocked signals; child processes get a clean mask).
pub fn on_termination() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        set.add(s);
    }
    if pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).is_err() {
        return;
    }
    let spawned = std::thread::Builder::new().name("hotline-signals".into()).spawn(move || {
        if let Ok(signal) = set.wait() {
            let removed = remove_staged();
            eprintln!(
                "hotline: stopped by {signal:?}; removed {removed} staging path{} (nothing published was touched)",
                if removed == 1 { "" } else { "s" }
            );
            std::process::exit(128 + signal as i32);
        }
    });
    if spawned.is_err() {
        // without the thread nobody would answer the signals: give them back their default
        let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_paths_are_removed_and_dropped_guards_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c.tmp"));
        std::fs::create_dir_all(a.join("deep")).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(&c, "x").unwrap();
        let ga = stage(&a);
        let gb = stage(&b);
        let gc = stage(&c);
        drop(gb); // b was published (or removed) by its owner: not ours to remove any more
        assert_eq!(remove_staged(), 2);
        assert!(!a.exists() && !c.exists());
        assert!(b.exists());
        drop((ga, gc));
    }
}
