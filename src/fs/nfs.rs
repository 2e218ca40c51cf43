//! NFS (and FUSE) cache flushes, as Dovecot does them on Linux (`nfs-workarounds.c`):
//!
//! | flush | how |
//! |---|---|
//! | attribute cache, unlocked | `open(O_RDONLY)` + `close()`; ENOENT (a negative cache entry): flush the parent directory's handles instead |
//! | attribute cache, "maybe locked"; directory handles | `stat()` + `chmod()` to the same mode; EPERM counts as flushed |
//! | directory handles (FUSE) | the chmod, then list the directory: FUSE keeps a name's cached entry (the inode it named before another host renamed a file over it) until it expires or the directory is read |
//! | attribute cache of an open, locked file | `fchmod()` to the same mode: the reply carries the server's attributes (FUSE with an attribute cache answers `fstat` and even `statx(AT_STATX_FORCE_SYNC)` from it) |
//! | data of a locked file (FUSE) | read up to the server's length, dropping pages and waiting until the client's caches show it all (GlusterFS's client keeps stale data for its cache timeout, measured 4 s with 5 s) |
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

/// How long a locked read waits for the client's caches to show data another host wrote:
/// longer than any attribute/data cache timeout a shared mount should have (NFS `acregmax`
/// defaults to 60 s but NFS revalidates on lock; GlusterFS's md-cache is 1 s by default).
pub const STALE_DATA_WAIT: Duration = Duration::from_secs(20);

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

    /// The length of an open `file` as the server has it now. The caller holds a lock that
    /// keeps writers out, so the answer stays true until it unlocks.
    pub fn fresh_len(&self, file: &FsFile) -> FsResult<u64> {
        Ok(self.fresh_metadata(file)?.len())
    }

    /// The attributes of an open `file` as the server has them now ([`NfsCache::fresh_len`]);
    /// a link count of 0 says another host replaced or removed the name we opened it by.
    pub fn fresh_metadata(&self, file: &FsFile) -> FsResult<std::fs::Metadata> {
        if self.enabled {
            flush_attr_fd(file);
        }
        file.metadata()
    }

    /// Whether the server says an open `file` was replaced or removed by another host: the
    /// fstat of a held file after flushing its attributes fails (ESTALE) or finds no link
    /// (Dovecot's check of its held uidlist and index fds). Without the flag: `false` —
    /// locally a held file keeps its inode number from going to another file, so the name's
    /// (dev, inode) alone tells whether it is still the held file; over NFS the server may
    /// give the number of a file removed elsewhere to a new one.
    pub fn held_file_gone(&self, file: &FsFile) -> bool {
        if !self.enabled {
            return false;
        }
        match self.fresh_metadata(file) {
            Ok(st) => std::os::unix::fs::MetadataExt::nlink(&st) == 0,
            Err(_) => true,
        }
    }

    /// Reads `file` from `offset` to `len` (the caller's [`NfsCache::fresh_len`], under its
    /// lock). A client cache that returns less (stale pages of a file another host appended
    /// to) is dropped and read again until [`STALE_DATA_WAIT`]; then the read fails as
    /// [`FsError::StaleData`] rather than return a short file as the whole. Without the
    /// flag it is a plain read to the end.
    pub fn read_to(&self, file: &FsFile, offset: u64, len: u64) -> FsResult<Vec<u8>> {
        let want = len.saturating_sub(offset);
        let started = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            let bytes = file.read_from(offset)?;
            if !self.enabled || bytes.len() as u64 >= want {
                return Ok(bytes);
            }
            if started.elapsed() >= STALE_DATA_WAIT {
                return Err(FsError::StaleData {
                    path: file.path().to_path_buf(),
                    got: offset + bytes.len() as u64,
                    expected: len,
                    waited: started.elapsed(),
                });
            }
            file.drop_cached_pages();
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
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
/// need it whatever the policy says): the chmod for NFS, then a listing for FUSE, whose
/// READDIRPLUS replaces cached entries that name another inode than the server's.
pub(crate) fn flush_parent_dir_handles(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    flush_by_chmod(parent);
    if let Ok(entries) = fs::read_dir(parent) {
        entries.for_each(drop);
    }
}

/// fchmod() to the same mode: the SETATTR reply refreshes the attributes (EPERM: not ours,
/// the attempt is all NFS needs).
fn flush_attr_fd(file: &FsFile) {
    let mode = match file.metadata() {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(e) => {
            log::error!("nfs_flush_fchown: {e}");
            return;
        }
    };
    if let Err(e) = file
        .file()
        .set_permissions(fs::Permissions::from_mode(mode))
    {
        if e.raw_os_error() != Some(libc::EPERM) {
            log::error!(
                "nfs_flush_fchown: fchmod({}, {mode:04o}) failed: {}",
                file.path().display(),
                os_error_text(&e)
            );
        }
    }
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

    #[test]
    fn a_held_file_replaced_under_its_name_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (f, g) = (dir.path().join("f"), dir.path().join("g"));
        fs::write(&f, b"old").unwrap();
        let held = FsFile::open_read(&f).unwrap();
        assert!(!NfsCache::new(true).held_file_gone(&held));
        fs::write(&g, b"new").unwrap();
        fs::rename(&g, &f).unwrap();
        assert!(NfsCache::new(true).held_file_gone(&held));
        // Without mail_nfs_*: the name check alone decides.
        assert!(!NfsCache::new(false).held_file_gone(&held));
    }
}
