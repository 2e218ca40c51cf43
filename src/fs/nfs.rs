//! NFS (and FUSE) cache flushes, as Dovecot does them on Linux (`nfs-workarounds.c`):
//!
//! | flush | how |
//! |---|---|
//! | attribute cache, unlocked | `open(O_RDONLY)` + `close()`; ENOENT (a negative cache entry): flush the parent directory's handles instead |
//! | attribute cache, "maybe locked"; directory handles | `stat()` + `chmod()` to the same mode; EPERM counts as flushed |
//! | data (read) cache, unlocked | take a whole-file fcntl read lock and drop it (Linux revalidates cached pages on lock); after ENOLCK never again |
//! | data cache, locked | nothing: taking the lock revalidated it |
//! | data cache, both (FUSE) | `posix_fadvise(DONTNEED)`: FUSE keeps pages across locks |
//! | write cache | `fdatasync()` |
//!
//! Each is a no-op unless the `mail_nfs_*` flag of the file's kind is set
//! ([`FsPolicy::nfs`](super::FsPolicy::nfs)). A flush that fails is logged and otherwise
//! ignored, as in Dovecot: it only makes a later check less fresh.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::errtext::os_error_text;

use super::error::{FsError, FsResult};
use super::file::FsFile;
use super::lock::fcntl::RecordLock;
use super::lock::LockKind;

/// Set once the kernel answered ENOLCK to a read-cache flush lock: never tried again.
static READ_LOCKS_DISABLED: AtomicBool = AtomicBool::new(false);

/// How long the data-cache flush waits for its read lock (Dovecot: a 60 s alarm).
const READ_FLUSH_LOCK_WAIT: Duration = Duration::from_secs(60);

/// The cache flushes for one kind of file; every method is a no-op when disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfsCache {
    enabled: bool,
}

impl NfsCache {
    /// A flusher that flushes (`enabled`) or does nothing.
    pub fn new(enabled: bool) -> NfsCache {
        NfsCache { enabled }
    }

    /// Whether this flusher does anything.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Flushes `path`'s attribute cache while no lock is held on it (open + close).
    pub fn flush_attr(&self, path: &Path) {
        if self.enabled {
            flush_attr_unlocked(path);
        }
    }

    /// Flushes `path`'s attribute cache when it may be locked (stat + chmod same mode).
    pub fn flush_attr_maybe_locked(&self, path: &Path) {
        if self.enabled {
            flush_by_chmod(path);
        }
    }

    /// Flushes the file-handle cache of `path`'s parent directory.
    pub fn flush_dir_handles(&self, path: &Path) {
        if self.enabled {
            flush_parent_dir_handles(path);
        }
    }

    /// Flushes the cached data of an open file. `locked`: we hold an fcntl/flock lock on it,
    /// which revalidated the pages on NFS. FUSE revalidates on neither lock (a same-size
    /// rewrite by another host stays invisible through a file open before it), so the clean
    /// cached pages are dropped too.
    pub fn flush_read_cache(&self, file: &FsFile, locked: bool) {
        if !self.enabled {
            return;
        }
        if !locked {
            flush_read_cache_by_lock(file);
        }
        file.drop_cached_pages();
    }

    /// Pushes our writes to the server (`fdatasync`), so other clients see them.
    pub fn flush_write_cache(&self, file: &FsFile) -> FsResult<()> {
        if self.enabled {
            file.sync_data_now()?;
        }
        Ok(())
    }
}

/// Flushes the handle cache of `path`'s parent directory (unconditionally: ESTALE retries
/// need it whatever the policy says).
pub(crate) fn flush_parent_dir_handles(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    flush_by_chmod(parent);
}

fn flush_attr_unlocked(path: &Path) {
    match fs::File::open(path) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::ESTALE) => {} // that flushed it already
        Err(_) => flush_parent_dir_handles(path),
    }
}

/// stat() + chmod() to the same mode: the chmod makes the client revalidate the attributes.
fn flush_by_chmod(path: &Path) {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.raw_os_error() == Some(libc::ESTALE) => return,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if path.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
                flush_parent_dir_handles(path);
            }
            return;
        }
        Err(e) => {
            log::error!(
                "nfs_flush_chown_uid: stat({}) failed: {}",
                path.display(),
                os_error_text(&e)
            );
            return;
        }
    };
    let mode = meta.permissions().mode() & 0o7777;
    if let Err(e) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        match e.raw_os_error() {
            Some(libc::EPERM) => {} // not ours, but the attempt flushed the cache
            Some(libc::ENOENT) => flush_parent_dir_handles(path),
            _ => log::error!(
                "nfs_flush_chown_uid: chmod({}, {mode:04o}) failed: {}",
                path.display(),
                os_error_text(&e)
            ),
        }
    }
}

fn flush_read_cache_by_lock(file: &FsFile) {
    if READ_LOCKS_DISABLED.load(Ordering::Relaxed) {
        return;
    }
    let deadline = Instant::now() + READ_FLUSH_LOCK_WAIT;
    match RecordLock::wait(file, LockKind::Shared, deadline) {
        Ok(lock) => drop(lock),
        Err(FsError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOLCK) => {
            READ_LOCKS_DISABLED.store(true, Ordering::Relaxed);
        }
        Err(e) => log::error!("nfs_flush_fcntl: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_keep_modes_and_tolerate_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"x").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        let nfs = NfsCache::new(true);
        nfs.flush_attr(&f);
        nfs.flush_attr_maybe_locked(&f);
        nfs.flush_dir_handles(&f);
        nfs.flush_attr(&dir.path().join("missing"));
        nfs.flush_attr_maybe_locked(&dir.path().join("missing"));
        let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        let file = FsFile::open_read(&f).unwrap();
        nfs.flush_read_cache(&file, false);
        nfs.flush_write_cache(&file).unwrap();
    }
}
