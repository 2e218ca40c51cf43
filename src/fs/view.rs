//! Reading index files as one byte slice: [`FileView`] maps the file (memmap2) when
//! `mmap_disable = no`, and reads it with `pread` into its own buffer when `yes` — same
//! interface for both.
//!
//! **The mapping invariant.** Touching mapped pages past the end of a file that shrank
//! kills the process with SIGBUS, so:
//! - [`FileView::refresh`] re-checks the file's size (`fstat`) and remaps before the
//!   slice is handed out; [`FileView::bytes`] never covers more than the size seen then;
//! - the files cote maps are never truncated in place by cote: snapshots are replaced by
//!   rename (the mapping keeps the old inode alive), logs only grow until they are rotated
//!   by rename. Only a foreign writer truncating a mapped file in place could invalidate a
//!   slice between a refresh and its use; with `mmap_disable = yes` nothing can.
//!
//! The buffer reader keeps what it read keyed by (inode, size, mtime): an unchanged file is
//! not read again, and a file in [`ViewMode::AppendOnly`] that grew has only its new tail
//! read.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};

use super::error::{FsError, FsOp, FsResult};
use super::file::FsFile;
use super::nfs::NfsCache;
use super::ops;
use super::policy::{FileKind, FsPolicy};

/// How the viewed file changes, which decides what a refresh re-reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Replaced whole (by rename) or rewritten: any change re-reads everything.
    Snapshot,
    /// Only ever appended to (a transaction log): growth re-reads only the new tail.
    AppendOnly,
}

/// What identifies one version of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }

    fn same_inode(&self, other: &FileIdentity) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// What [`FileView::refresh`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Same inode, size and mtime: the bytes are as before.
    Unchanged,
    /// (AppendOnly) the same file grew; bytes before `old_len` are as before.
    Appended { old_len: u64 },
    /// Another file took the name, or the content changed otherwise: re-read whole.
    Replaced,
}

enum Backing {
    Empty,
    /// The mapping and how much of it the last size check allows.
    Mapped(MmapRaw, usize),
    Buffer(Vec<u8>),
}

/// A read view of a whole file, mapped or buffered per `mmap_disable`.
pub struct FileView {
    path: PathBuf,
    file: FsFile,
    nfs: NfsCache,
    mode: ViewMode,
    use_mmap: bool,
    ident: FileIdentity,
    backing: Backing,
}

impl std::fmt::Debug for FileView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileView")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("mapped", &self.is_mapped())
            .field("ident", &self.ident)
            .finish()
    }
}

impl FileView {
    /// Opens and reads `path` (an index file of `kind`, NFS flushes per `policy`).
    pub fn open(
        path: &Path,
        policy: &FsPolicy,
        kind: FileKind,
        mode: ViewMode,
    ) -> FsResult<FileView> {
        let nfs = policy.nfs(kind);
        nfs.flush_attr(path);
        let file = FsFile::open_read(path)?;
        let mut view = FileView {
            path: path.to_path_buf(),
            file,
            nfs,
            mode,
            use_mmap: !policy.mmap_disable,
            ident: FileIdentity::default(),
            backing: Backing::Empty,
        };
        view.load_all()?;
        Ok(view)
    }

    /// Looks at the file again (by path: a rename over it is noticed) and brings the bytes up
    /// to date.
    pub fn refresh(&mut self) -> FsResult<Refresh> {
        self.nfs.flush_dir_handles(&self.path);
        self.nfs.flush_attr(&self.path);
        let by_path = FileIdentity::of(&ops::stat(&self.path)?);
        if !by_path.same_inode(&self.ident) {
            self.file = FsFile::open_read(&self.path)?;
            self.load_all()?;
            return Ok(Refresh::Replaced);
        }
        let now = match self.file.metadata() {
            Ok(meta) => FileIdentity::of(&meta),
            // The inode we hold is gone on the server although the name still points at the
            // same number: it was replaced.
            Err(e) if e.is_stale() => {
                self.file = FsFile::open_read(&self.path)?;
                self.load_all()?;
                return Ok(Refresh::Replaced);
            }
            Err(e) => return Err(e),
        };
        if now == self.ident {
            return Ok(Refresh::Unchanged);
        }
        if self.mode == ViewMode::AppendOnly && now.size > self.ident.size {
            let old_len = self.ident.size;
            self.load_tail(now)?;
            return Ok(Refresh::Appended { old_len });
        }
        self.load_all()?;
        Ok(Refresh::Replaced)
    }

    /// The file's bytes as of the last open/refresh.
    pub fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Empty => &[],
            Backing::Buffer(buf) => buf,
            // SAFETY: `len` never exceeds the mapping's length nor the file size checked by
            // the last refresh; see the module's invariant about truncation.
            Backing::Mapped(map, len) => unsafe { std::slice::from_raw_parts(map.as_ptr(), *len) },
        }
    }

    /// Length of [`bytes`](Self::bytes).
    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Whether the file is empty (as of the last refresh).
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// The version of the file the bytes are of.
    pub fn identity(&self) -> FileIdentity {
        self.ident
    }

    /// Whether the bytes are mapped (else in our own buffer).
    pub fn is_mapped(&self) -> bool {
        matches!(self.backing, Backing::Mapped(..))
    }

    /// The open file (for `fstat` or locking by the caller).
    pub fn file(&self) -> &FsFile {
        &self.file
    }

    fn load_all(&mut self) -> FsResult<()> {
        self.nfs.flush_read_cache(&self.file, false);
        let meta = self.file.metadata()?;
        let ident = FileIdentity::of(&meta);
        self.backing = Backing::Empty;
        if self.use_mmap {
            match self.map(ident.size) {
                Ok(backing) => {
                    self.backing = backing;
                    self.ident = ident;
                    return Ok(());
                }
                // FUSE mounts in direct-I/O mode refuse shared mappings.
                Err(e) if e.errno() == Some(libc::ENODEV) => {
                    log::warn!("{e}: reading the file instead (set mmap_disable = yes)");
                    self.use_mmap = false;
                }
                Err(e) => return Err(e),
            }
        }
        let bytes = self.file.read_from(0)?;
        // What we read is authoritative: the file may have grown since the fstat.
        self.ident = FileIdentity {
            size: bytes.len() as u64,
            ..ident
        };
        self.backing = Backing::Buffer(bytes);
        Ok(())
    }

    fn load_tail(&mut self, now: FileIdentity) -> FsResult<()> {
        self.nfs.flush_read_cache(&self.file, false);
        match &mut self.backing {
            Backing::Buffer(buf) => {
                let tail = self.file.read_from(buf.len() as u64)?;
                buf.extend_from_slice(&tail);
                self.ident = FileIdentity {
                    size: buf.len() as u64,
                    ..now
                };
                Ok(())
            }
            Backing::Mapped(..) | Backing::Empty if self.use_mmap => {
                self.backing = self.map(now.size)?;
                self.ident = now;
                Ok(())
            }
            Backing::Mapped(..) | Backing::Empty => self.load_all(),
        }
    }

    fn map(&self, size: u64) -> FsResult<Backing> {
        if size == 0 {
            return Ok(Backing::Empty);
        }
        let len = usize::try_from(size).map_err(|_| FsError::Invalid {
            path: self.path.clone(),
            reason: format!("file of {size} bytes is too large to map"),
        })?;
        let map = MmapOptions::new()
            .len(len)
            .map_raw_read_only(self.file.file())
            .map_err(|e| FsError::io(FsOp::Mmap, &self.path, e))?;
        Ok(Backing::Mapped(map, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn policy(mmap_disable: bool) -> FsPolicy {
        FsPolicy {
            mmap_disable,
            ..FsPolicy::dovecot_defaults()
        }
    }

    #[test]
    fn appends_and_replacements_are_seen_by_both_readers() {
        for mmap_disable in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("cote.index.log");
            std::fs::write(&path, b"").unwrap();
            let p = policy(mmap_disable);
            let mut view =
                FileView::open(&path, &p, FileKind::Index, ViewMode::AppendOnly).unwrap();
            assert!(view.is_empty());
            assert!(!view.is_mapped());
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"abc").unwrap();
            assert_eq!(view.refresh().unwrap(), Refresh::Appended { old_len: 0 });
            assert_eq!(view.bytes(), b"abc");
            assert_eq!(view.is_mapped(), !mmap_disable);
            assert_eq!(view.refresh().unwrap(), Refresh::Unchanged);
            f.write_all(b"def").unwrap();
            assert_eq!(view.refresh().unwrap(), Refresh::Appended { old_len: 3 });
            assert_eq!(view.bytes(), b"abcdef");
            let tmp = dir.path().join("new");
            std::fs::write(&tmp, b"XYZ").unwrap();
            std::fs::rename(&tmp, &path).unwrap();
            assert_eq!(view.refresh().unwrap(), Refresh::Replaced);
            assert_eq!(view.bytes(), b"XYZ");
        }
    }
}
