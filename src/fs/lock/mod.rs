//! Locks on shared files. Every wait has a deadline (the lock's own timeout capped by
//! `mail_max_lock_timeout`, [`FsPolicy::lock_timeout`]) and is a loop of non-blocking
//! attempts with randomized, growing sleeps on the monotonic clock: no `alarm()`, no
//! signal, so a wait can never be cut short by someone else's timer nor hang forever.
//!
//! - [`fcntl`]: POSIX record locks, open-file-description locks where the kernel has them.
//! - [`flock`]: BSD `flock()`.
//! - [`dotlock`]: `<file>.lock` files, Dovecot's algorithm.
//! - [`FileLock`]: whichever of the three `lock_method` picks, for index files.
//! - [`lockfile`]: lock files that exist only while held (`dovecot-vsize.lock`, ...).

pub mod dotlock;
pub mod fcntl;
pub mod flock;
pub mod lockfile;
pub mod mbox;
mod notify;
mod proc_locks;

use std::path::Path;
use std::time::{Duration, Instant};

use super::error::{FsError, FsResult};
use super::file::FsFile;
use super::policy::{FileKind, FsPolicy, LockMethod};
use super::random;

use dotlock::{DotLock, DotLockSettings};
use fcntl::RecordLock;
use flock::FlockLock;

/// Shared (read) or exclusive (write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Shared,
    Exclusive,
}

/// Sleeps between attempts: a random first sleep in `[first_low, first_high)`, growing by
/// half each time up to `max`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    first_low: Duration,
    first_high: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(first_low: Duration, first_high: Duration, max: Duration) -> Backoff {
        Backoff {
            first_low,
            first_high,
            max,
            next: random::between(first_low, first_high),
        }
    }

    /// Back to a short random sleep (the lock changed hands: it may be free soon).
    pub(crate) fn reset(&mut self) {
        self.next = random::between(self.first_low, self.first_high);
    }

    /// Grows the next sleep by half, up to the maximum.
    pub(crate) fn grow(&mut self) {
        self.next = (self.next + self.next / 2).min(self.max);
    }

    /// The next sleep, cut to end at `deadline`.
    pub(crate) fn next_sleep(&self, deadline: Instant) -> Duration {
        self.next
            .min(deadline.saturating_duration_since(Instant::now()))
    }

    /// Sleeps for the next interval (never past `deadline`) and grows it.
    pub(crate) fn sleep(&mut self, deadline: Instant) {
        std::thread::sleep(self.next_sleep(deadline));
        self.grow();
    }
}

/// The polling schedule of fcntl/flock waits: first retry after 1–2 ms, then growing to at
/// most 100 ms (each attempt is one system call; on NFS one RPC).
pub(crate) fn record_lock_backoff() -> Backoff {
    Backoff::new(
        Duration::from_millis(1),
        Duration::from_millis(2),
        Duration::from_millis(100),
    )
}

/// What [`FileLock::acquire`] needs besides the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRequest {
    pub kind: LockKind,
    /// The lock's own timeout (capped by `mail_max_lock_timeout`); zero: try once.
    pub timeout: Duration,
    /// With `lock_method = dotlock`: override `<file>.lock` when neither it nor the file
    /// changed for this long (zero: never).
    pub stale_timeout: Duration,
}

/// A lock on an index file by `lock_method`: an fcntl or flock lock on the file itself, or
/// the dotlock `<file>.lock` (which is always exclusive). Dropping it releases it.
#[derive(Debug)]
pub enum FileLock {
    Fcntl(RecordLock),
    Flock(FlockLock),
    Dotlock(DotLock),
}

impl FileLock {
    /// Waits until `file` is locked as `request` says, or fails with
    /// [`FsError::LockTimeout`]. With `lock_method = dotlock` and NFS flushing for `kind`,
    /// the file's data cache is flushed after locking (a dotlock does not revalidate it).
    pub fn acquire(
        policy: &FsPolicy,
        kind: FileKind,
        file: &FsFile,
        request: LockRequest,
    ) -> FsResult<FileLock> {
        let timeout = policy.lock_timeout(request.timeout);
        let lock = match policy.lock_method {
            LockMethod::Fcntl => FileLock::Fcntl(RecordLock::wait(
                file,
                request.kind,
                deadline_after(timeout),
            )?),
            LockMethod::Flock => FileLock::Flock(FlockLock::wait(
                file,
                request.kind,
                deadline_after(timeout),
            )?),
            LockMethod::Dotlock => {
                let settings =
                    DotLockSettings::new(policy, kind, request.timeout, request.stale_timeout);
                let lock = DotLock::acquire(file.path(), &settings)?;
                policy.nfs(kind).flush_read_cache(file, false);
                FileLock::Dotlock(lock)
            }
        };
        Ok(lock)
    }

    /// One attempt: `Ok(None)` when someone else holds the lock.
    pub fn try_acquire(
        policy: &FsPolicy,
        kind: FileKind,
        file: &FsFile,
        request: LockRequest,
    ) -> FsResult<Option<FileLock>> {
        let lock = match policy.lock_method {
            LockMethod::Fcntl => RecordLock::try_lock(file, request.kind)?.map(FileLock::Fcntl),
            LockMethod::Flock => FlockLock::try_lock(file, request.kind)?.map(FileLock::Flock),
            LockMethod::Dotlock => {
                let settings =
                    DotLockSettings::new(policy, kind, request.timeout, request.stale_timeout);
                let lock = DotLock::try_acquire(file.path(), &settings)?;
                if lock.is_some() {
                    policy.nfs(kind).flush_read_cache(file, false);
                }
                lock.map(FileLock::Dotlock)
            }
        };
        Ok(lock)
    }

    /// Releases the lock; for a dotlock, reports (and logs) one that was deleted or
    /// overridden meanwhile as [`FsError::LockLost`].
    pub fn release(self) -> FsResult<()> {
        match self {
            FileLock::Fcntl(lock) => lock.unlock(),
            FileLock::Flock(lock) => lock.unlock(),
            FileLock::Dotlock(lock) => lock.release_checked(),
        }
    }

    /// The file that is locked (for a dotlock: the protected file, not `<file>.lock`).
    pub fn path(&self) -> &Path {
        match self {
            FileLock::Fcntl(lock) => lock.path(),
            FileLock::Flock(lock) => lock.path(),
            FileLock::Dotlock(lock) => lock.path(),
        }
    }
}

/// `now + timeout` on the monotonic clock (saturating far in the future).
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86400))
}

/// The timeout error for a wait that started at `start`.
pub(crate) fn timeout_error(
    path: &Path,
    holder: Option<super::error::LockHolder>,
    start: Instant,
) -> FsError {
    FsError::LockTimeout {
        path: path.to_path_buf(),
        holder,
        waited: start.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_max_and_resets() {
        let mut b = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_secs(3),
        );
        let far = Instant::now() + Duration::from_secs(60);
        let first = b.next_sleep(far);
        assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(200));
        for _ in 0..20 {
            b.grow();
        }
        assert_eq!(b.next_sleep(far), Duration::from_secs(3));
        b.reset();
        assert!(b.next_sleep(far) < Duration::from_millis(200));
        assert_eq!(b.next_sleep(Instant::now()), Duration::ZERO);
    }
}
