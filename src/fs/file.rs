//! [`FsFile`]: an open shared file that remembers its path, so every failure names it. Opens
//! retry ESTALE; reads and writes are positioned (`pread`/`pwrite`): the index log writes at
//! the offset it read, never through O_APPEND, which tears across hosts. The one exception
//! is [`FsFile::append`], for a format whose other writers (Dovecot) rely on O_APPEND.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::{FsError, FsOp, FsResult};
use super::estale;
use super::perms::CreatePerms;
use super::policy::{FsPolicy, SyncPoint};

/// [`FsFile::read_from`], [`FsFile::read_all`]: the growth step when the size is unknown, and the most it
/// allocates up front on fstat's word (more is read by growing as the data comes).
const READ_CHUNK: usize = 64 * 1024;
const READ_FIRST_MAX: usize = 64 * 1024 * 1024;

/// An open file and the path it was opened by.
#[derive(Debug)]
pub struct FsFile {
    file: File,
    path: PathBuf,
}

impl FsFile {
    /// Opens an existing file read-only.
    pub fn open_read(path: &Path) -> FsResult<FsFile> {
        open_with(path, FsOp::Open, OpenOptions::new().read(true))
    }

    /// Opens an existing file for reading and writing.
    pub fn open_rw(path: &Path) -> FsResult<FsFile> {
        open_with(path, FsOp::Open, OpenOptions::new().read(true).write(true))
    }

    /// Opens an existing file for appending (`O_APPEND`), for formats that other programs
    /// append to without a lock (Maildir++ `maildirsize`): O_APPEND is what keeps one
    /// host's writers from overwriting each other there; across hosts only a lock does.
    pub fn open_append(path: &Path) -> FsResult<FsFile> {
        open_with(path, FsOp::Open, OpenOptions::new().append(true))
    }

    /// Appends `data` in one `write()` on a file opened with [`FsFile::open_append`].
    pub fn append(&self, data: &[u8]) -> FsResult<()> {
        use std::io::Write;
        (&self.file)
            .write_all(data)
            .map_err(|e| FsError::io(FsOp::Write, &self.path, e))
    }

    /// Creates a new file, failing with EEXIST (see [`FsError::is_exists`]) if the name is
    /// taken (`O_CREAT|O_EXCL`), with `perms`' exact file mode and group.
    pub fn create_excl(path: &Path, perms: &CreatePerms) -> FsResult<FsFile> {
        let file = open_with(
            path,
            FsOp::Create,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(perms.file_mode),
        )?;
        file.apply_perms(perms)?;
        Ok(file)
    }

    /// Like [`FsFile::create_excl`], but the name appears already holding `content`: the file
    /// is made unnamed (`O_TMPFILE`), filled, then linked in, so a crash can never leave an
    /// empty file under `path` (an empty dotlock names no holder and blocks everyone until it
    /// is stale). Where the filesystem has no `O_TMPFILE` (NFS, most FUSE) it is created, then
    /// filled, as Dovecot does. The content is what `content` returns, asked once the file
    /// exists and before it is filled (a dotlock takes its record lock there). `sync`
    /// fdatasyncs the content before the name appears. Content that cannot be written (a
    /// full disk) is logged and the file is left empty rather than half-filled: the name is
    /// still created, as Dovecot creates a lock it could not fill, because refusing it would
    /// refuse the expunge that frees the disk.
    pub fn create_excl_filled(
        path: &Path,
        perms: &CreatePerms,
        content: &mut dyn FnMut(&FsFile) -> Vec<u8>,
        sync: bool,
    ) -> FsResult<FsFile> {
        if let Some(file) = create_linked_tmpfile(path, perms, content, sync)? {
            return Ok(file);
        }
        let file = FsFile::create_excl(path, perms)?;
        file.fill(&content(&file), sync)?;
        Ok(file)
    }

    /// [`FsFile::create_excl_filled`]'s write: all of `content` or, on failure, nothing.
    fn fill(&self, content: &[u8], sync: bool) -> FsResult<()> {
        let written = self.write_all_at(content, 0).and_then(|()| {
            if sync {
                self.sync_data_now()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            log::error!("{e}");
            self.set_len(0)?;
        }
        Ok(())
    }

    /// Opens `path` for reading and writing, creating it (mode and group from `perms`) if
    /// missing; an existing file keeps its contents.
    pub fn open_or_create(path: &Path, perms: &CreatePerms) -> FsResult<FsFile> {
        match FsFile::open_rw(path) {
            Err(e) if e.is_not_found() => {}
            other => return other,
        }
        match FsFile::create_excl(path, perms) {
            // Someone else created it between our two calls: use theirs.
            Err(e) if e.is_exists() => FsFile::open_rw(path),
            other => other,
        }
    }

    /// Creates or truncates `path` (`O_CREAT|O_TRUNC`): only for names that the caller
    /// alone writes while holding a lock (`dovecot-uidlist.tmp` under the uidlist lock).
    pub fn create_trunc(path: &Path, perms: &CreatePerms) -> FsResult<FsFile> {
        let file = open_with(
            path,
            FsOp::Create,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .mode(perms.file_mode),
        )?;
        file.apply_perms(perms)?;
        Ok(file)
    }

    fn apply_perms(&self, perms: &CreatePerms) -> FsResult<()> {
        perms.apply(&self.file, &self.path, perms.file_mode)
    }

    /// The path the file was opened by (it may since have been renamed or replaced).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, for `Read`/`Write`/`Seek` through `&File`.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// `fstat()`. ESTALE here means the file was replaced or deleted on the server (not
    /// retried: the handle itself is stale).
    pub fn metadata(&self) -> FsResult<Metadata> {
        self.file
            .metadata()
            .map_err(|e| FsError::io(FsOp::Fstat, &self.path, e))
    }

    /// One `pread` at `offset`; returns how many bytes were read (0 at end of file).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(|e| FsError::io(FsOp::Read, &self.path, e)),
            }
        }
    }

    /// Reads as much as fits in `buf` from `offset`; fewer bytes only at end of file.
    pub fn read_full_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(&mut buf[done..], offset + done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    /// Everything from `offset` to the current end of file.
    pub fn read_from(&self, offset: u64) -> FsResult<Vec<u8>> {
        let size = self.file.metadata().ok().map(|m| m.len());
        self.read_sized(offset, size)
    }

    /// The whole file and its metadata (one fstat for both).
    pub fn read_all(&self) -> FsResult<(Vec<u8>, Metadata)> {
        let meta = self.metadata()?;
        let data = self.read_sized(0, Some(meta.len()))?;
        Ok((data, meta))
    }

    /// Reads from `offset` to end of file into a buffer sized from `size` (fstat's word),
    /// one byte more so that the read which finds the end needs no growing; the file may
    /// change size meanwhile, so reading goes on until end of file whatever `size` said.
    fn read_sized(&self, offset: u64, size: Option<u64>) -> FsResult<Vec<u8>> {
        let expected = match size {
            Some(len) => usize::try_from(len.saturating_sub(offset)).unwrap_or(usize::MAX),
            None => READ_CHUNK,
        };
        let mut out = vec![0u8; expected.saturating_add(1).min(READ_FIRST_MAX)];
        let mut filled = 0;
        loop {
            if filled == out.len() {
                out.resize(out.len().saturating_mul(2).max(READ_CHUNK), 0);
            }
            let n = self.read_at(&mut out[filled..], offset + filled as u64)?;
            if n == 0 {
                out.truncate(filled);
                return Ok(out);
            }
            filled += n;
        }
    }

    /// Writes all of `data` at `offset` (`pwrite`, never O_APPEND).
    pub fn write_all_at(&self, data: &[u8], offset: u64) -> FsResult<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|e| FsError::io(FsOp::Write, &self.path, e))
    }

    /// `ftruncate()` to `len` bytes.
    pub fn set_len(&self, len: u64) -> FsResult<()> {
        self.file
            .set_len(len)
            .map_err(|e| FsError::io(FsOp::Truncate, &self.path, e))
    }

    /// Syncs the file if `policy`'s `mail_fsync` says so at `point`: `fsync` for
    /// [`SyncPoint::Durable`], `fdatasync` for [`SyncPoint::Transaction`].
    pub fn sync(&self, policy: &FsPolicy, point: SyncPoint) -> FsResult<()> {
        if !policy.should_sync(point) {
            return Ok(());
        }
        match point {
            SyncPoint::Durable => self.sync_all_now(),
            SyncPoint::Transaction => self.sync_data_now(),
        }
    }

    /// `fsync()` regardless of policy.
    pub fn sync_all_now(&self) -> FsResult<()> {
        self.file
            .sync_all()
            .map_err(|e| FsError::io(FsOp::Fsync, &self.path, e))
    }

    /// Drops the clean cached pages of the file (`posix_fadvise(DONTNEED)`), so the next read
    /// asks the file server. Advice only: a failure changes nothing but freshness.
    pub fn drop_cached_pages(&self) {
        use std::os::fd::AsFd;
        if let Err(e) = nix::fcntl::posix_fadvise(
            self.file.as_fd(),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        ) {
            log::debug!("posix_fadvise({}, DONTNEED): {e}", self.path.display());
        }
    }

    /// `fdatasync()` regardless of policy (also the NFS write-cache flush).
    pub fn sync_data_now(&self) -> FsResult<()> {
        self.file
            .sync_data()
            .map_err(|e| FsError::io(FsOp::Fdatasync, &self.path, e))
    }

    /// Sets the file's modification (and access) time (`futimens`); `None` is now.
    pub fn set_mtime(&self, time: Option<std::time::SystemTime>) -> FsResult<()> {
        let time = time.unwrap_or_else(std::time::SystemTime::now);
        let times = fs::FileTimes::new().set_accessed(time).set_modified(time);
        self.file
            .set_times(times)
            .map_err(|e| FsError::io(FsOp::Utime, &self.path, e))
    }

    /// Sets the file's modification time only (`futimens`, access time untouched: mbox
    /// readers compare the two to tell new mail).
    pub fn set_modified(&self, time: std::time::SystemTime) -> FsResult<()> {
        self.file
            .set_times(fs::FileTimes::new().set_modified(time))
            .map_err(|e| FsError::io(FsOp::Utime, &self.path, e))
    }

    /// A second handle on the same open file description (shares offset and OFD locks).
    pub fn try_clone(&self) -> FsResult<FsFile> {
        Ok(FsFile {
            file: self
                .file
                .try_clone()
                .map_err(|e| FsError::io(FsOp::Fcntl, &self.path, e))?,
            path: self.path.clone(),
        })
    }

    /// The file and path, for callers that need to own the `File`.
    pub fn into_parts(self) -> (File, PathBuf) {
        (self.file, self.path)
    }
}

/// [`FsFile::create_excl_filled`] through `O_TMPFILE` and `linkat()`; `None` where the
/// filesystem (or a missing `/proc`) does not allow it.
fn create_linked_tmpfile(
    path: &Path,
    perms: &CreatePerms,
    content: &mut dyn FnMut(&FsFile) -> Vec<u8>,
    sync: bool,
) -> FsResult<Option<FsFile>> {
    use std::os::fd::AsRawFd;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let unnamed = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(perms.file_mode)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(dir);
    let file = match unnamed {
        Ok(file) => FsFile {
            file,
            path: path.to_path_buf(),
        },
        Err(e) if tmpfile_unsupported(&e) => return Ok(None),
        Err(e) => return Err(FsError::io(FsOp::Create, path, e)),
    };
    file.fill(&content(&file), sync)?;
    file.apply_perms(perms)?;
    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link works for anyone.
    let proc_path = PathBuf::from(format!("/proc/self/fd/{}", file.file.as_raw_fd()));
    match nix::unistd::linkat(
        nix::fcntl::AT_FDCWD,
        &proc_path,
        nix::fcntl::AT_FDCWD,
        path,
        nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
    ) {
        Ok(()) => Ok(Some(file)),
        Err(nix::errno::Errno::ENOENT) if !Path::new("/proc/self/fd").exists() => Ok(None),
        Err(e) => Err(FsError::io2(
            FsOp::Link,
            &proc_path,
            path,
            io::Error::from_raw_os_error(e as i32),
        )),
    }
}

fn tmpfile_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL) | Some(libc::ENOSYS)
    )
}

fn open_with(path: &Path, op: FsOp, options: &OpenOptions) -> FsResult<FsFile> {
    let mut options = options.clone();
    options.custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY);
    let file = estale::retry(path, op, || options.open(path))?;
    Ok(FsFile {
        file,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn positioned_io_and_exact_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let perms = CreatePerms {
            file_mode: 0o664,
            ..CreatePerms::default()
        };
        let f = FsFile::create_excl(&path, &perms).unwrap();
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o664);
        f.write_all_at(b"hello", 0).unwrap();
        f.write_all_at(b" world", 5).unwrap();
        assert_eq!(f.read_from(0).unwrap(), b"hello world");
        assert_eq!(f.read_from(6).unwrap(), b"world");
        let mut buf = [0u8; 20];
        assert_eq!(f.read_full_at(&mut buf, 0).unwrap(), 11);
        f.set_len(5).unwrap();
        assert_eq!(f.read_from(0).unwrap(), b"hello");
        assert!(FsFile::create_excl(&path, &perms).unwrap_err().is_exists());
        let g = FsFile::open_or_create(&path, &perms).unwrap();
        assert_eq!(g.read_from(0).unwrap(), b"hello");
        assert_eq!(g.read_from(9).unwrap(), b"");
        // Larger than the growth step, and from inside it.
        let big: Vec<u8> = (0..3 * READ_CHUNK + 7).map(|i| (i % 251) as u8).collect();
        f.write_all_at(&big, 0).unwrap();
        assert_eq!(g.read_from(0).unwrap(), big);
        assert_eq!(g.read_from(100).unwrap(), &big[100..]);
        let (all, meta) = g.read_all().unwrap();
        assert_eq!((all, meta.len()), (big.clone(), big.len() as u64));
        f.sync(&FsPolicy::dovecot_defaults(), SyncPoint::Durable)
            .unwrap();
    }

    #[test]
    fn open_retries_injected_estale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"x").unwrap();
        let guard = estale::inject_estale(3);
        FsFile::open_read(&path).unwrap();
        assert_eq!(guard.attempts(), 4);
        drop(guard);
        let _guard = estale::inject_estale(100);
        let err = FsFile::open_read(&path).unwrap_err();
        assert!(err.is_stale(), "{err}");
    }

    #[test]
    fn created_filled_or_refused_when_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let perms = CreatePerms {
            file_mode: 0o640,
            ..CreatePerms::default()
        };
        let f =
            FsFile::create_excl_filled(&path, &perms, &mut |_| b"42:host".to_vec(), true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"42:host");
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(f.metadata().unwrap().nlink(), 1);
        let taken = FsFile::create_excl_filled(&path, &perms, &mut |_| b"43:host".to_vec(), false)
            .unwrap_err();
        assert!(taken.is_exists(), "{taken}");
        assert_eq!(fs::read(&path).unwrap(), b"42:host");
        // Nothing unnamed or temporary is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
