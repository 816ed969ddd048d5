//! Staging folders and files removed when the process is told to stop. `report`, `run`,
//! `import` and `generate` write into staging paths beside their outputs and swap them in when
//! complete; a SIGTERM, SIGINT or SIGHUP in between would leave them behind (a later `report` or
//! `run` removes them too, but a scheduler's kill should not leave litter at all). Each staging
//! path is registered while it exists ([`stage`]), and so is each typst child ([`child`]);
//! [`on_termination`] starts a thread that waits for those signals, kills the children, removes
//! what is registered and exits with 128 + the signal's number.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static STAGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a stop signal arrived: the run's own errors from then on (a typst killed, a staging
/// folder gone) are consequences of the stop, and the signal thread decides the exit.
pub fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static PUBLISHING: Mutex<()> = Mutex::new(());

/// Run `swap` (moving a complete staging path into place) unless a stop signal has come. The
/// signal thread waits for a swap under way before it removes the staging paths, so a staging
/// folder is never swapped in while it is being removed (which would publish half of it).
pub fn publish<T>(swap: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let _only = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
    if stopping() {
        anyhow::bail!("stopped before publishing");
    }
    swap()
}

/// A registered child process (typst); dropping it unregisters it.
#[must_use]
pub struct Child(u32);

/// Kill the child `pid` (and wait for it) before the staging paths are removed, if the process
/// is told to stop while the guard lives: a typst still writing would put files back.
pub fn child(pid: u32) -> Child {
    if let Ok(mut v) = CHILDREN.lock() {
        v.push(pid);
    }
    if stopping() {
        // started after the stop signal: killed at once, and this thread waits for the exit
        kill_children();
        loop {
            std::thread::park();
        }
    }
    Child(pid)
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(mut v) = CHILDREN.lock()
            && let Some(i) = v.iter().position(|p| *p == self.0)
        {
            v.remove(i);
        }
    }
}

/// A registered staging path; dropping it unregisters the path (it does not remove it: the
/// owner publishes or removes it as usual).
#[must_use]
pub struct Staged(PathBuf);

/// Remove `path` if the process is told to stop while the returned guard lives.
pub fn stage(path: &Path) -> Staged {
    if let Ok(mut v) = STAGED.lock() {
        v.push(path.to_path_buf());
    }
    if stopping() {
        // made after the stop signal: removed at once, and this thread waits for the exit
        let _ = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
        loop {
            std::thread::park();
        }
    }
    Staged(path.to_path_buf())
}

impl Drop for Staged {
    fn drop(&mut self) {
        // after a stop signal the path stays registered: an error the stop caused (a typst
        // killed) unwinds through this guard, and the path must still be removed
        if stopping() {
            return;
        }
        if let Ok(mut v) = STAGED.lock()
            && let Some(i) = v.iter().rposition(|p| *p == self.0)
        {
            v.remove(i);
        }
    }
}

/// Remove every registered path (what the signal thread does before exiting).
pub fn remove_staged() -> usize {
    let mut removed = std::collections::BTreeSet::new();
    // until two passes 50 ms apart find nothing to remove (at most 2 s): the run's own threads
    // may still be writing a file or starting a typst when the signal comes; from then on they
    // stop at the next staging folder or typst they start (see `stage` and `child`)
    let mut quiet = 0;
    for _ in 0..40 {
        kill_children();
        let paths: Vec<PathBuf> = STAGED.lock().map(|v| v.clone()).unwrap_or_default();
        let mut dirty = false;
        for p in paths.iter().filter(|p| p.exists()) {
            dirty = true;
            let gone = if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
            if gone.is_ok() {
                removed.insert(p.clone());
            }
        }
        quiet = if dirty { 0 } else { quiet + 1 };
        if quiet >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    removed.len()
}

fn kill_children() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let children: Vec<u32> = CHILDREN.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
    for pid in children {
        let pid = Pid::from_raw(pid as i32);
        if kill(pid, Signal::SIGKILL).is_ok() {
            // reaped here or by the thread that started it: either way it no longer writes
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
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
            STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
            // a swap under way finishes first (see `publish`); none starts after this
            let _swaps = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
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
