//! BSD `flock()` locks (`lock_method = flock`). They belong to the open file description,
//! like OFD locks. Linux emulates them with whole-file fcntl locks on NFS.

use std::fs::File;

use nix::fcntl::{Flock, FlockArg};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::super::error::{FsError, FsOp, FsResult, LockHolder};
use super::super::file::FsFile;
use super::{proc_locks, record_lock_backoff, timeout_error, LockKind};

/// A held flock lock; dropping it unlocks.
#[derive(Debug)]
pub struct FlockLock {
    /// A duplicate of the locked descriptor (same open file description); `None` once
    /// unlocked.
    lock: Option<Flock<File>>,
    path: PathBuf,
}

impl FlockLock {
    /// One non-blocking attempt; `Ok(None)` when another holder conflicts.
    pub fn try_lock(file: &FsFile, kind: LockKind) -> FsResult<Option<FlockLock>> {
        let dup = file.try_clone()?;
        let (dup, path) = dup.into_parts();
        let arg = match kind {
            LockKind::Shared => FlockArg::LockSharedNonblock,
            LockKind::Exclusive => FlockArg::LockExclusiveNonblock,
        };
        match Flock::lock(dup, arg) {
            Ok(lock) => Ok(Some(FlockLock {
                lock: Some(lock),
                path,
            })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(FsError::io(FsOp::Flock, &path, e.into())),
        }
    }

    /// Tries until `deadline`; on timeout the error names a local holder from /proc/locks.
    pub fn wait(file: &FsFile, kind: LockKind, deadline: Instant) -> FsResult<FlockLock> {
        let start = Instant::now();
        let mut backoff = record_lock_backoff();
        loop {
            if let Some(lock) = FlockLock::try_lock(file, kind)? {
                return Ok(lock);
            }
            if Instant::now() >= deadline {
                return Err(timeout_error(file.path(), holder(file), start));
            }
            backoff.sleep(deadline);
        }
    }

    /// The locked file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unlocks now, reporting a failure (dropping unlocks too, logging a failure).
    pub fn unlock(mut self) -> FsResult<()> {
        self.unlock_inner()
    }

    fn unlock_inner(&mut self) -> FsResult<()> {
        match self.lock.take() {
            None => Ok(()),
            Some(lock) => lock
                .unlock()
                .map(drop)
                .map_err(|(_, e)| FsError::io(FsOp::Flock, &self.path, e.into())),
        }
    }
}

impl Drop for FlockLock {
    fn drop(&mut self) {
        if let Err(e) = self.unlock_inner() {
            log::error!("{e}");
        }
    }
}

fn holder(file: &FsFile) -> Option<LockHolder> {
    let meta = file.metadata().ok()?;
    proc_locks::holder(meta.dev(), meta.ino(), &["FLOCK"])
}
