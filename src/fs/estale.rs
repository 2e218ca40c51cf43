//! ESTALE retries. An NFS client that cannot revalidate a cached file handle fails a path
//! operation with ESTALE; flushing the parent directory's handle cache and trying again
//! usually succeeds. Dovecot retries up to 10 times on every open/stat/lstat, always (not
//! only with `mail_nfs_*`): so do we, on every path operation.
//!
//! Unlike Dovecot, the later attempts are spaced out (0, 0, then 50 ms doubling to 3.2 s,
//! 6.4 s in all): a FUSE mount with an entry cache (GlusterFS with `entry-timeout=5`)
//! keeps answering ESTALE for a replaced file until its cached entry expires, whatever we
//! flush — measured: a reader on one mount while another mount renames over the file.
//! GlusterFS's client answers such a path with EBADFD as well ("File descriptor in bad
//! state": a delayed open of the replaced file failed); a path operation has no descriptor
//! that could be bad, so it is retried the same way.

use std::io;
use std::path::Path;
use std::time::Duration;

use super::error::{FsError, FsOp, FsResult};
use super::nfs;

/// How many times a path operation is tried when it keeps failing with ESTALE.
pub const ESTALE_RETRY_COUNT: u32 = 10;

/// The pause after failed attempt `attempt` (1-based).
pub fn pause_after(attempt: u32) -> Duration {
    match attempt {
        0..=2 => Duration::ZERO,
        n => Duration::from_millis(50) * (1 << (n - 3).min(6)),
    }
}

/// Runs `call` on `path`, retrying after an ESTALE (flushing `path`'s parent directory's
/// handle cache in between) up to [`ESTALE_RETRY_COUNT`] attempts in all; any other error,
/// or the last ESTALE, becomes an [`FsError`] naming `op` and `path`.
pub fn retry<T>(path: &Path, op: FsOp, mut call: impl FnMut() -> io::Result<T>) -> FsResult<T> {
    retry_raw(path, &mut call).map_err(|e| FsError::io(op, path, e))
}

/// [`retry`] for a call on two paths (rename, link): the handle caches of both parents are
/// flushed between attempts.
pub fn retry2<T>(
    from: &Path,
    to: &Path,
    op: FsOp,
    mut call: impl FnMut() -> io::Result<T>,
) -> FsResult<T> {
    let mut attempt = 1;
    loop {
        let (result, real) = attempt_once(&mut call);
        match result {
            Err(e) if is_stale_handle(&e) && attempt < ESTALE_RETRY_COUNT => {
                nfs::flush_parent_dir_handles(from);
                nfs::flush_parent_dir_handles(to);
                if real {
                    std::thread::sleep(pause_after(attempt));
                }
                attempt += 1;
            }
            result => return result.map_err(|e| FsError::io2(op, from, to, e)),
        }
    }
}

/// ESTALE, or GlusterFS's EBADFD for the same situation (see the module comment).
fn is_stale_handle(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ESTALE) | Some(libc::EBADFD))
}

/// [`retry`] without the error conversion, for callers that inspect the raw error.
pub(crate) fn retry_raw<T>(path: &Path, call: &mut impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut attempt = 1;
    loop {
        let (result, real) = attempt_once(&mut *call);
        match result {
            Err(e) if is_stale_handle(&e) && attempt < ESTALE_RETRY_COUNT => {
                nfs::flush_parent_dir_handles(path);
                if real {
                    std::thread::sleep(pause_after(attempt));
                }
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// One attempt; the flag says whether the call really ran (false: a unit test injected
/// the failure, and no time needs to pass before the next attempt).
fn attempt_once<T>(call: &mut impl FnMut() -> io::Result<T>) -> (io::Result<T>, bool) {
    match injected() {
        Some(e) => (Err(e), false),
        None => (call(), true),
    }
}

#[cfg(test)]
thread_local! {
    /// Unit tests: how many of the next calls on this thread fail with ESTALE before reaching
    /// the file system (local disks never produce it).
    static INJECT_ESTALE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static CALLS_SEEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The injected ESTALE for this attempt, if a unit test asked for one.
#[cfg(test)]
fn injected() -> Option<io::Error> {
    CALLS_SEEN.with(|c| c.set(c.get() + 1));
    INJECT_ESTALE.with(|n| {
        (n.get() > 0).then(|| {
            n.set(n.get() - 1);
            io::Error::from_raw_os_error(libc::ESTALE)
        })
    })
}

#[cfg(not(test))]
#[inline(always)]
fn injected() -> Option<io::Error> {
    None
}

/// Unit tests: make the next `n` retried calls on this thread fail with ESTALE; returns a
/// guard that resets the injection and tells how many attempts were made.
#[cfg(test)]
pub(crate) fn inject_estale(n: u32) -> InjectGuard {
    INJECT_ESTALE.with(|c| c.set(n));
    CALLS_SEEN.with(|c| c.set(0));
    InjectGuard
}

#[cfg(test)]
pub(crate) struct InjectGuard;

#[cfg(test)]
impl InjectGuard {
    /// Attempts made (injected failures included) since the guard was created.
    pub(crate) fn attempts(&self) -> u32 {
        CALLS_SEEN.with(|c| c.get())
    }
}

#[cfg(test)]
impl Drop for InjectGuard {
    fn drop(&mut self) {
        INJECT_ESTALE.with(|c| c.set(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estale() -> io::Error {
        io::Error::from_raw_os_error(libc::ESTALE)
    }

    #[test]
    fn later_attempts_are_spaced_out() {
        let total: Duration = (1..ESTALE_RETRY_COUNT).map(pause_after).sum();
        assert_eq!(pause_after(1), Duration::ZERO);
        assert_eq!(pause_after(3), Duration::from_millis(50));
        assert_eq!(total, Duration::from_millis(6350));
    }

    #[test]
    fn retries_estale_then_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let mut calls = 0;
        let got = retry(&dir.path().join("f"), FsOp::Stat, || {
            calls += 1;
            if calls < 4 {
                Err(estale())
            } else {
                Ok(7)
            }
        });
        assert_eq!(got.unwrap(), 7);
        assert_eq!(calls, 4);
    }

    #[test]
    fn gives_up_after_the_bound_naming_op_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Injected failures: the bound without the pauses a real ESTALE gets.
        let guard = inject_estale(u32::MAX);
        let err = retry(&path, FsOp::Open, || -> io::Result<()> { Ok(()) }).unwrap_err();
        assert_eq!(guard.attempts(), ESTALE_RETRY_COUNT);
        assert!(err.is_stale());
        assert_eq!(
            err.to_string(),
            format!("open({}) failed: Stale file handle", path.display())
        );
    }

    #[test]
    fn other_errors_are_not_retried() {
        let mut calls = 0;
        let err = retry(
            Path::new("/nonexistent/x"),
            FsOp::Stat,
            || -> io::Result<()> {
                calls += 1;
                Err(io::Error::from_raw_os_error(libc::ENOENT))
            },
        )
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(err.is_not_found());
    }
}
