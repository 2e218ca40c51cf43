//! Lock files that exist only while held (Dovecot's `mailbox_lock_file_create`, used for
//! e.g. `dovecot-vsize.lock`, `mailboxes.lock`): with `lock_method = fcntl`/`flock` the file
//! is created already locked (a locked temp file linked to the name), or an existing one is
//! opened and locked; it is deleted on release. With `dotlock` the name itself is the
//! dotlock (no suffix), stale after max(5 min, timeout).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dotlock::{DotLock, DotLockSettings};
use super::fcntl::RecordLock;
use super::flock::FlockLock;
use super::{deadline_after, timeout_error, LockKind};
use crate::fs::error::FsResult;
use crate::fs::file::FsFile;
use crate::fs::perms::CreatePerms;
use crate::fs::policy::{FileKind, FsPolicy, LockMethod};
use crate::fs::{ops, random};

/// Attempts before giving up when the file keeps being deleted and recreated under us.
const MAX_RETRY_COUNT: u32 = 1000;

/// A held lock file; dropping it releases it.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    held: Held,
}

#[derive(Debug)]
enum Held {
    Fcntl(RecordLock),
    Flock(FlockLock),
    Dot(DotLock),
    Released,
}

impl LockFile {
    /// Creates and locks `path` (mode and group from `perms`), waiting up to `timeout`
    /// (capped by `mail_max_lock_timeout`).
    pub fn acquire(
        policy: &FsPolicy,
        path: &Path,
        perms: &CreatePerms,
        timeout: Duration,
    ) -> FsResult<LockFile> {
        let timeout = policy.lock_timeout(timeout);
        if policy.lock_method == LockMethod::Dotlock {
            let set = DotLockSettings {
                stale_timeout: timeout.max(Duration::from_secs(300)),
                ..DotLockSettings::new(policy, FileKind::Storage, timeout, Duration::ZERO)
                    .with_suffix("")
            };
            return Ok(LockFile {
                path: path.to_path_buf(),
                held: Held::Dot(DotLock::acquire(path, &set)?),
            });
        }
        let deadline = deadline_after(timeout);
        let start = Instant::now();
        for _ in 0..MAX_RETRY_COUNT {
            let held = match FsFile::open_rw(path) {
                Ok(file) => lock_existing(policy, path, &file, deadline)?,
                Err(e) if e.is_not_found() => create_locked(policy, path, perms)?,
                Err(e) => return Err(e),
            };
            if let Some(held) = held {
                return Ok(LockFile {
                    path: path.to_path_buf(),
                    held,
                });
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        Err(timeout_error(path, None, start))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the file, then unlocks it (whoever was waiting on the deleted file notices
    /// and retries on a new one).
    pub fn release(mut self) -> FsResult<()> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> FsResult<()> {
        match std::mem::replace(&mut self.held, Held::Released) {
            Held::Released => Ok(()),
            Held::Dot(lock) => lock.release_checked(),
            Held::Fcntl(lock) => {
                let removed = ops::unlink_if_exists(&self.path);
                lock.unlock()?;
                removed.map(drop)
            }
            Held::Flock(lock) => {
                let removed = ops::unlink_if_exists(&self.path);
                lock.unlock()?;
                removed.map(drop)
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if let Err(e) = self.release_inner() {
            log::error!("{e}");
        }
    }
}

fn lock(policy: &FsPolicy, file: &FsFile, deadline: Option<Instant>) -> FsResult<Option<Held>> {
    let kind = LockKind::Exclusive;
    Ok(match (policy.lock_method, deadline) {
        (LockMethod::Flock, Some(d)) => Some(Held::Flock(FlockLock::wait(file, kind, d)?)),
        (LockMethod::Flock, None) => FlockLock::try_lock(file, kind)?.map(Held::Flock),
        (_, Some(d)) => Some(Held::Fcntl(RecordLock::wait(file, kind, d)?)),
        (_, None) => RecordLock::try_lock(file, kind)?.map(Held::Fcntl),
    })
}

/// Locks an existing lock file; `None` if it was deleted or replaced while we waited.
fn lock_existing(
    policy: &FsPolicy,
    path: &Path,
    file: &FsFile,
    deadline: Instant,
) -> FsResult<Option<Held>> {
    let before = file.metadata()?;
    let held = lock(policy, file, Some(deadline))?;
    match ops::stat_if_exists(path)? {
        Some(now) if now.ino() == before.ino() && now.dev() == before.dev() => Ok(held),
        _ => Ok(None),
    }
}

/// Creates the file already locked: a locked temp file linked to the name. `None` if
/// someone else created it first.
fn create_locked(policy: &FsPolicy, path: &Path, perms: &CreatePerms) -> FsResult<Option<Held>> {
    let mut temp = path.as_os_str().to_os_string();
    temp.push(random::hex(16));
    let temp = PathBuf::from(temp);
    let file = FsFile::create_excl(&temp, perms)?;
    let held = lock(policy, &file, None);
    let linked = match &held {
        Ok(Some(_)) => ops::link(&temp, path, false).map(|()| true),
        Ok(None) => Ok(false),
        Err(_) => Ok(false),
    };
    drop(file);
    ops::unlink_if_exists(&temp)?;
    let held = held?;
    match linked {
        Ok(true) => Ok(held),
        Ok(false) => Ok(None),
        Err(e) if e.is_exists() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_while_held_and_gone_after() {
        for method in [LockMethod::Fcntl, LockMethod::Flock, LockMethod::Dotlock] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("dovecot-vsize.lock");
            let policy = FsPolicy {
                lock_method: method,
                ..FsPolicy::dovecot_defaults()
            };
            let perms = CreatePerms::default();
            let lock = LockFile::acquire(&policy, &path, &perms, Duration::from_secs(5)).unwrap();
            assert!(path.exists());
            let other = std::thread::scope(|s| {
                s.spawn(|| LockFile::acquire(&policy, &path, &perms, Duration::from_millis(200)))
                    .join()
                    .unwrap()
            });
            assert!(other.unwrap_err().is_lock_timeout(), "{method:?}");
            lock.release().unwrap();
            assert!(!path.exists());
            // No temp files left behind.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
            LockFile::acquire(&policy, &path, &perms, Duration::ZERO)
                .unwrap()
                .release()
                .unwrap();
        }
    }
}
