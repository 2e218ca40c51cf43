//! Dotlocks: `<path><suffix>` (usually `<path>.lock`) files whose existence is the lock,
//! exactly as Dovecot's `file-dotlock.c` makes, waits for, overrides and releases them, so
//! cote and Dovecot exclude each other on the same store.
//!
//! - Content `<pid>:<host>` (no newline); fdatasync()ed with NFS flushing; left empty if
//!   the write fails.
//! - Creation: `O_CREAT|O_EXCL` (`dotlock_use_excl = yes`), or a unique temp file +
//!   `link()` + the link-count check (`no`, for NFS servers whose O_EXCL is unreliable).
//! - Waiting: a random first sleep of 100–200 ms, reset when the lock changes, otherwise
//!   growing by half each second up to 3 s; woken early by inotify when the lock changes.
//! - Staleness: the lock's (inode, dev, size, mtime, ctime — ctime not with NFS flushing,
//!   whose chmod changes it) are tracked; any change resets "last change". A lock older
//!   than 2 s naming a dead process of this host is overridden at once (one of ours is
//!   recreated); otherwise once "last change" is older than the stale timeout, the
//!   protected file's times are folded in too, and if neither changed the lock is removed.
//!   "Now" for these comparisons is the file server's time (see [`clock`](super::super::clock)).
//! - After creation: the lock is closed and lstat()ed again for the mtime the server
//!   stored; a ctime over 30 s away from our clock is warned about.
//! - Release: warns about a lock that was deleted, overridden (inode changed) or modified.
//! - Replace mode ([`DotLock::acquire_for_replace`] + [`DotLock::replace`]): the new content
//!   of the protected file is written into the lock, which is then renamed over it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::{deadline_after, timeout_error, Backoff};
use crate::fs::clock::{self, unix_secs};
use crate::fs::error::{FsError, FsResult};
use crate::fs::file::FsFile;
use crate::fs::lock::fcntl::RecordLock;
use crate::fs::ops;
use crate::fs::perms::CreatePerms;
use crate::fs::policy::{FileKind, FsPolicy, SyncPoint};

/// Dovecot's default suffix.
pub const DEFAULT_SUFFIX: &str = ".lock";
/// A created lock whose ctime is further than this from our clock is warned about.
const MAX_TIME_DIFF: i64 = 30;
/// Server mtimes that differ by at most this count as the same (NFS attribute caching).
const MAX_STAT_MTIME_DIFF: i64 = 1;
/// Longest sleep between checks.
const MAX_WAIT: Duration = Duration::from_secs(3);

/// How one dotlock is made and waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotLockSettings {
    /// Appended to the protected path to name the lock (`.lock`; `""` or `.newlock` for some).
    pub suffix: String,
    /// Total wait before [`FsError::LockTimeout`] (already capped by
    /// `mail_max_lock_timeout` when built with [`DotLockSettings::new`]); zero: one check.
    pub timeout: Duration,
    /// Override a lock when neither it nor the protected file changed for this long; zero
    /// disables overriding by age (a dead local holder is still overridden).
    pub stale_timeout: Duration,
    /// `dotlock_use_excl`.
    pub use_excl: bool,
    /// Flush NFS caches while checking (the `mail_nfs_*` flag of the protected file's kind).
    pub nfs_flush: bool,
    /// Wake waiters early through inotify when the lock changes.
    pub use_notify: bool,
    /// Temp-file prefix for `use_excl = false`: relative to the lock's directory, or an
    /// absolute path prefix; default `.temp.<host>.<pid>.`. 16 random hex digits follow.
    pub temp_prefix: Option<String>,
}

impl DotLockSettings {
    /// Settings for a lock on a file of `kind` under `policy`: `timeout` capped by
    /// `mail_max_lock_timeout`, O_EXCL per `dotlock_use_excl`, NFS flushing per
    /// `mail_nfs_storage`/`mail_nfs_index`, suffix `.lock`, inotify on.
    pub fn new(
        policy: &FsPolicy,
        kind: FileKind,
        timeout: Duration,
        stale_timeout: Duration,
    ) -> DotLockSettings {
        DotLockSettings {
            suffix: DEFAULT_SUFFIX.to_string(),
            timeout: policy.lock_timeout(timeout),
            stale_timeout,
            use_excl: policy.dotlock_use_excl,
            nfs_flush: policy.nfs_flush(kind),
            use_notify: true,
            temp_prefix: None,
        }
    }

    /// The same settings with another suffix.
    pub fn with_suffix(mut self, suffix: &str) -> DotLockSettings {
        self.suffix = suffix.to_string();
        self
    }

    /// The lock file's path for protected file `path`.
    pub fn lock_path(&self, path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_os_string();
        name.push(&self.suffix);
        PathBuf::from(name)
    }
}

/// What a waiter is told about once a second (IMAP shows it as `* OK Stale mailbox lock
/// file detected, will override in N seconds` / `* NO Mailbox is locked, will abort in N
/// seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockProgress {
    /// The lock looks stale and will be overridden in this long (unless the callback
    /// returns false, which postpones overriding).
    Stale { override_in: Duration },
    /// The lock is held; the wait gives up in this long.
    Locked { abort_in: Duration },
}

/// How [`DotLock::release`] found the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// It was ours, and is now removed.
    Released,
    /// Someone had already removed it.
    Deleted,
    /// Someone replaced it with their own (a different inode); theirs is left alone.
    Overridden,
}

/// A held dotlock. Dropping it releases it (logging any warning); [`DotLock::release`]
/// reports the outcome instead.
#[derive(Debug)]
pub struct DotLock {
    path: PathBuf,
    lock_path: PathBuf,
    dev: u64,
    ino: u64,
    /// The lock's mtime as the server stored it (seconds); 0 in replace mode.
    mtime: i64,
    /// Local time (seconds) when we got it.
    lock_time: i64,
    /// Replace mode: the open lock file, into which the new content is written.
    file: Option<FsFile>,
    /// The record lock that shows waiters on other hosts we live ([`liveness`]); a field
    /// after the release logic, so it is dropped only once the lock file is unlinked.
    _live: Option<RecordLock>,
    done: bool,
}

mod attempt;
mod liveness;
#[cfg(test)]
mod tests;

use attempt::{Attempt, Presence};

impl DotLock {
    /// Waits up to `set.timeout` for the lock on `path`; the timeout error names the holder
    /// from the lock's content.
    pub fn acquire(path: &Path, set: &DotLockSettings) -> FsResult<DotLock> {
        DotLock::acquire_with_progress(path, set, &mut |_| true)
    }

    /// [`acquire`](Self::acquire), telling `progress` about the wait once a second.
    pub fn acquire_with_progress(
        path: &Path,
        set: &DotLockSettings,
        progress: &mut dyn FnMut(LockProgress) -> bool,
    ) -> FsResult<DotLock> {
        match create(
            path,
            set,
            true,
            None,
            Some(deadline_after(set.timeout)),
            progress,
        )? {
            Created::Yes(lock) => Ok(lock),
            Created::TimedOut(err) => Err(err),
        }
    }

    /// One check (overriding a dead or stale lock as [`acquire`](Self::acquire) would,
    /// but never waiting): `Ok(None)` when the lock is held.
    pub fn try_acquire(path: &Path, set: &DotLockSettings) -> FsResult<Option<DotLock>> {
        match create(path, set, true, None, None, &mut |_| true)? {
            Created::Yes(lock) => Ok(Some(lock)),
            Created::TimedOut(_) => Ok(None),
        }
    }

    /// Replace mode: gets the lock (empty, kept open, mode and group from `perms`) so that
    /// the new content of `path` can be written into it ([`file`](Self::file)) and then
    /// put in place with [`replace`](Self::replace).
    pub fn acquire_for_replace(
        path: &Path,
        set: &DotLockSettings,
        perms: &CreatePerms,
    ) -> FsResult<DotLock> {
        let deadline = deadline_after(set.timeout);
        match create(path, set, false, Some(perms), Some(deadline), &mut |_| true)? {
            Created::Yes(lock) => Ok(lock),
            Created::TimedOut(err) => Err(err),
        }
    }

    /// The protected file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Replace mode: the open lock file, to write the new content into.
    pub fn file(&self) -> Option<&FsFile> {
        self.file.as_ref()
    }

    /// Refreshes the lock's mtime so that waiters don't consider it stale (the uidlist lock
    /// is touched every 10 s while held). The time is the server's (`utime(NULL)`), which is
    /// what other hosts compare against. Does nothing twice in the same second.
    pub fn touch(&mut self) -> FsResult<()> {
        let now = unix_secs(SystemTime::now());
        if self.mtime == now {
            return Ok(());
        }
        ops::utime(&self.lock_path, None)?;
        self.mtime = ops::lstat(&self.lock_path)?.mtime();
        Ok(())
    }

    /// Whether the lock file is still ours (the same inode as when we created it).
    pub fn is_ours(&self) -> FsResult<bool> {
        match ops::lstat_if_exists(&self.lock_path)? {
            Some(st) => Ok(st.ino() == self.ino && st.dev() == self.dev),
            None => Ok(false),
        }
    }

    /// Removes the lock, reporting (and logging, with Dovecot's texts) one that someone
    /// deleted or overrode meanwhile.
    pub fn release(mut self) -> FsResult<ReleaseOutcome> {
        self.done = true;
        self.file = None;
        self.delete()
    }

    /// [`release`](Self::release) with a lost lock as [`FsError::LockLost`].
    pub fn release_checked(self) -> FsResult<()> {
        let path = self.lock_path.clone();
        match self.release()? {
            ReleaseOutcome::Released => Ok(()),
            ReleaseOutcome::Deleted => Err(FsError::LockLost {
                path,
                overridden: false,
            }),
            ReleaseOutcome::Overridden => Err(FsError::LockLost {
                path,
                overridden: true,
            }),
        }
    }

    fn delete(&mut self) -> FsResult<ReleaseOutcome> {
        let Some(st) = ops::lstat_if_exists(&self.lock_path)? else {
            self.replaced_warning(true);
            return Ok(ReleaseOutcome::Deleted);
        };
        if st.ino() != self.ino || st.dev() != self.dev {
            self.replaced_warning(false);
            return Ok(ReleaseOutcome::Overridden);
        }
        if self.mtime != 0 && (self.mtime - st.mtime()).abs() > MAX_STAT_MTIME_DIFF {
            log::warn!(
                "Our dotlock file {} was modified ({} vs {}), assuming it wasn't overridden (kept it {} secs)",
                self.lock_path.display(),
                self.mtime,
                st.mtime(),
                unix_secs(SystemTime::now()) - self.lock_time
            );
        }
        if ops::unlink_if_exists(&self.lock_path)? {
            Ok(ReleaseOutcome::Released)
        } else {
            self.replaced_warning(true);
            Ok(ReleaseOutcome::Deleted)
        }
    }

    fn replaced_warning(&self, deleted: bool) {
        let now = unix_secs(SystemTime::now());
        let what = if deleted { "deleted" } else { "overridden" };
        if self.mtime == self.lock_time {
            log::warn!(
                "Our dotlock file {} was {what} (locked {} secs ago, touched {} secs ago)",
                self.lock_path.display(),
                now - self.lock_time,
                now - self.mtime
            );
        } else {
            log::warn!(
                "Our dotlock file {} was {what} (kept it {} secs)",
                self.lock_path.display(),
                now - self.lock_time
            );
        }
    }

    /// Replace mode: syncs the new content (per `policy`), checks that the lock is still ours
    /// when `verify_owner` (else logs "overridden" and fails with [`FsError::LockLost`]),
    /// closes it and renames it over the protected file.
    pub fn replace(mut self, policy: &FsPolicy, verify_owner: bool) -> FsResult<()> {
        self.done = true;
        let Some(file) = self.file.take() else {
            return Err(FsError::Invalid {
                path: self.lock_path.clone(),
                reason: "dotlock was not acquired for replacing".into(),
            });
        };
        file.sync(policy, SyncPoint::Durable)?;
        if verify_owner {
            let ours = file.metadata()?;
            let now = ops::lstat_if_exists(&self.lock_path)?;
            if now.is_none_or(|st| st.ino() != ours.ino() || st.dev() != ours.dev()) {
                self.replaced_warning(false);
                return Err(FsError::LockLost {
                    path: self.lock_path.clone(),
                    overridden: true,
                });
            }
        }
        // Closed before the rename: CIFS refuses to rename files that are open.
        drop(file);
        match ops::rename(&self.lock_path, &self.path) {
            Ok(()) => {
                if let Some(dir) = self.path.parent() {
                    ops::fsync_dir(policy, dir, SyncPoint::Durable)?;
                }
                Ok(())
            }
            Err(e) => {
                if e.is_not_found() {
                    self.replaced_warning(true);
                }
                Err(e)
            }
        }
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            self.file = None;
            if let Err(e) = self.delete() {
                log::error!("{e}");
            }
        }
    }
}

enum Created {
    Yes(DotLock),
    TimedOut(FsError),
}

/// Dovecot's `dotlock_create` + the after-creation checks. `deadline = None`: one check.
fn create(
    path: &Path,
    set: &DotLockSettings,
    write_pid: bool,
    perms: Option<&CreatePerms>,
    deadline: Option<Instant>,
    progress: &mut dyn FnMut(LockProgress) -> bool,
) -> FsResult<Created> {
    let start = Instant::now();
    let mut attempt = Attempt::new(path, set, perms);
    let stale_notify_threshold = set.stale_timeout.as_secs() as i64 / 2;
    let mut backoff = Backoff::new(
        Duration::from_millis(100),
        Duration::from_millis(200),
        MAX_WAIT,
    );
    let mut prev_last_change = 0i64;
    let mut prev_wait_update = 0i64;
    let mut last_notify = 0i64;
    let mut first = true;
    let mut got = false;
    let mut create_started = SystemTime::now();
    loop {
        // "Now" on the server's clock. The first look uses what is known (local time if
        // nothing is): a free lock needs no probe, and a creation measures the skew anyway.
        // Once we wait, the skew is measured (a probe file) if still unknown.
        let mut now = if first {
            unix_secs(
                clock::known_skew(&attempt.dir)
                    .unwrap_or_default()
                    .to_server(SystemTime::now()),
            )
        } else {
            unix_secs(clock::server_now(&attempt.dir))
        };
        if !first {
            let Some(deadline) = deadline else { break };
            if prev_last_change != attempt.last_change {
                // The lock changed: it may be free soon.
                backoff.reset();
                prev_last_change = attempt.last_change;
                prev_wait_update = now;
            } else if prev_wait_update != now {
                prev_wait_update = now;
                backoff.grow();
            }
            let interval = backoff.next_sleep(deadline);
            attempt.wait(interval);
            now = unix_secs(clock::server_now(&attempt.dir));
        }
        first = false;
        create_started = SystemTime::now();
        if attempt.check(now)? == Presence::Absent && attempt.try_create(write_pid, now)? {
            got = true;
            break;
        }
        let Some(deadline) = deadline else { break };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if last_notify != now {
            last_notify = now;
            let change_secs = now - attempt.last_change;
            let wait_left = left.as_secs() as i64;
            let stale = set.stale_timeout.as_secs() as i64;
            if stale > 0 && change_secs >= stale_notify_threshold && change_secs <= wait_left {
                let secs_left = (stale - change_secs).max(0) as u64;
                if !progress(LockProgress::Stale {
                    override_in: Duration::from_secs(secs_left),
                }) {
                    attempt.last_change = now;
                }
            } else if wait_left > 0 {
                progress(LockProgress::Locked {
                    abort_in: Duration::from_secs(wait_left as u64),
                });
            }
        }
    }
    if !got {
        return Ok(Created::TimedOut(timeout_error(
            &attempt.lock_path,
            attempt.holder(),
            start,
        )));
    }
    let Some(file) = attempt.fd.take() else {
        return Err(FsError::Invalid {
            path: attempt.lock_path.clone(),
            reason: "dotlock created without a file".into(),
        });
    };
    let st = file.metadata()?;
    let local_now = unix_secs(SystemTime::now());
    // The server stamped the lock while we created it: its ctime is the server's clock.
    let stamped = SystemTime::UNIX_EPOCH
        + Duration::from_secs(st.ctime().max(0) as u64)
        + Duration::from_nanos(st.ctime_nsec().max(0) as u64);
    clock::note_server_time(&attempt.dir, stamped, create_started, SystemTime::now());
    if st.ctime() + MAX_TIME_DIFF < local_now || st.ctime() - MAX_TIME_DIFF > local_now {
        log::warn!(
            "Created dotlock file's timestamp is different than current time ({} vs {}): {}",
            st.ctime(),
            local_now,
            path.display()
        );
    }
    let mut lock = DotLock {
        path: path.to_path_buf(),
        lock_path: attempt.lock_path.clone(),
        dev: st.dev(),
        ino: st.ino(),
        mtime: 0,
        lock_time: local_now,
        file: None,
        _live: attempt.live.take(),
        done: false,
    };
    if !write_pid {
        lock.file = Some(file);
        return Ok(Created::Yes(lock));
    }
    // NFS may apply the write only on close: the mtime to remember is the one after it.
    drop(file);
    match ops::lstat_if_exists(&lock.lock_path)? {
        None => {
            lock.done = true;
            Err(FsError::Invalid {
                path: lock.lock_path.clone(),
                reason: "dotlock was immediately deleted under us".into(),
            })
        }
        Some(st2) if st2.dev() != lock.dev || st2.ino() != lock.ino => {
            lock.done = true;
            Err(FsError::Invalid {
                path: lock.lock_path.clone(),
                reason: "dotlock was immediately recreated under us".into(),
            })
        }
        Some(st2) => {
            lock.mtime = st2.mtime();
            Ok(Created::Yes(lock))
        }
    }
}
