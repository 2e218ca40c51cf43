//! Path operations on shared files and directories. Each retries ESTALE (see
//! [`estale`](super::estale)) and fails with an [`FsError`] naming the call and path(s).

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;
use std::time::SystemTime;

use super::error::{FsError, FsOp, FsResult};
use super::estale;
use super::perms::CreatePerms;
use super::policy::{FsPolicy, SyncPoint};

/// `stat()` (follows symlinks).
pub fn stat(path: &Path) -> FsResult<Metadata> {
    estale::retry(path, FsOp::Stat, || fs::metadata(path))
}

/// `lstat()`.
pub fn lstat(path: &Path) -> FsResult<Metadata> {
    estale::retry(path, FsOp::Lstat, || fs::symlink_metadata(path))
}

/// `stat()`, with a missing file as `None`.
pub fn stat_if_exists(path: &Path) -> FsResult<Option<Metadata>> {
    not_found_as_none(stat(path))
}

/// `lstat()`, with a missing file as `None`.
pub fn lstat_if_exists(path: &Path) -> FsResult<Option<Metadata>> {
    not_found_as_none(lstat(path))
}

/// The whole file.
pub fn read_file(path: &Path) -> FsResult<Vec<u8>> {
    estale::retry(path, FsOp::Read, || fs::read(path))
}

/// The whole file, with a missing file as `None`.
pub fn read_file_if_exists(path: &Path) -> FsResult<Option<Vec<u8>>> {
    not_found_as_none(read_file(path))
}

/// What readdir's `d_type` says an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One directory entry: its name and, when the file system reports it, its type. Nothing
/// is stat()ed, so entries that vanish while we list are simply listed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: OsString,
    /// `None` when the file system gives no `d_type` (DT_UNKNOWN): lstat it if it matters.
    pub kind: Option<EntryKind>,
}

/// The entries of `dir` except `.` and `..`, in the order readdir returns them.
pub fn read_dir(dir: &Path) -> FsResult<Vec<DirEntry>> {
    use nix::dir::{Dir, Type};
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    estale::retry(dir, FsOp::Readdir, || {
        let mut handle = Dir::open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)?;
        let mut out = Vec::new();
        for entry in handle.iter() {
            let entry = entry.map_err(io::Error::from)?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let kind = entry.file_type().map(|t| match t {
                Type::File => EntryKind::File,
                Type::Directory => EntryKind::Dir,
                Type::Symlink => EntryKind::Symlink,
                _ => EntryKind::Other,
            });
            out.push(DirEntry {
                name: std::ffi::OsStr::from_bytes(name).to_os_string(),
                kind,
            });
        }
        Ok(out)
    })
}

/// `rename()`: atomically replaces `to`. Never rename a file, nor rename over one, that we
/// hold open with an fcntl/flock lock: CIFS refuses ("Text file is busy").
///
/// Every rename cote makes, checked against that rule:
/// - [`AtomicFile::commit`](super::AtomicFile::commit) (snapshot `cote.index`, cache purge,
///   `dovecot-uidlist` rewrite) and [`DotLock::replace`](super::DotLock::replace)
///   (`dovecot-keywords`, `subscriptions`, a new `cote.index.log`): the temp or lock file is
///   closed first; locks are dotlocks or on other files. The targets may be open (a mapped
///   snapshot, the old log and cache) but none is locked by us: the index log lock is on
///   `cote.index.lock` (fcntl/flock) or is the dotlock `cote.index.log.lock`, never on the
///   log that a rotation or rebuild replaces; the cache lock is held only while appending,
///   never across a purge.
/// - Maildir message files (`tmp/` → `new/`/`cur/`, `new/` → `cur/`, flag changes, duplicate
///   and broken-name fixes): never locked, and closed before they are renamed.
/// - Mailbox rename and delete rename directories; no lock is held on a file inside them
///   while they are renamed.
pub fn rename(from: &Path, to: &Path) -> FsResult<()> {
    estale::retry2(from, to, FsOp::Rename, || fs::rename(from, to))
}

/// `link()`. With `nfs_safe`, an EEXIST is double-checked the way Dovecot does for NFS: if
/// `from`'s link count rose, our link was made and only the reply was lost (a retransmitted
/// request), so it counts as success. Any other EEXIST is returned ([`FsError::is_exists`]).
pub fn link(from: &Path, to: &Path, nfs_safe: bool) -> FsResult<()> {
    let before = if nfs_safe {
        Some(stat(from)?.nlink())
    } else {
        None
    };
    match estale::retry2(from, to, FsOp::Link, || fs::hard_link(from, to)) {
        Err(e) if e.is_exists() && before.is_some() => {
            let after = stat(from)?.nlink();
            if Some(after) > before {
                Ok(())
            } else {
                Err(e)
            }
        }
        other => other,
    }
}

/// `unlink()`.
pub fn unlink(path: &Path) -> FsResult<()> {
    estale::retry(path, FsOp::Unlink, || fs::remove_file(path))
}

/// `unlink()` that treats a missing file as done; returns whether it removed something.
pub fn unlink_if_exists(path: &Path) -> FsResult<bool> {
    match unlink(path) {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// `mkdir()` with `perms`' exact directory mode and group (Dovecot's `mkdir_chgrp`). An
/// existing directory is EEXIST ([`FsError::is_exists`]).
pub fn mkdir(path: &Path, perms: &CreatePerms) -> FsResult<()> {
    estale::retry(path, FsOp::Mkdir, || {
        fs::DirBuilder::new().mode(perms.dir_mode).create(path)
    })?;
    // Open it to fix mode and group; if someone rmdir()ed it meanwhile, that is their call.
    let dir = estale::retry(path, FsOp::Open, || fs::File::open(path))?;
    if let Err(e) = perms.apply(&dir, path, perms.dir_mode) {
        let _ = fs::remove_dir(path);
        return Err(e);
    }
    Ok(())
}

/// [`mkdir`] that also creates missing parents with the same permissions; an existing
/// `path` is not an error.
pub fn mkdir_parents(path: &Path, perms: &CreatePerms) -> FsResult<()> {
    match mkdir(path, perms) {
        Ok(()) => Ok(()),
        Err(e) if e.is_exists() => Ok(()),
        Err(e) if e.errno() == Some(libc::ENOENT) => {
            match path.parent() {
                Some(parent) if parent != path && !parent.as_os_str().is_empty() => {
                    mkdir_parents(parent, perms)?
                }
                _ => return Err(e),
            }
            match mkdir(path, perms) {
                Err(e) if e.is_exists() => Ok(()),
                other => other,
            }
        }
        Err(e) => Err(e),
    }
}

/// Removes a directory tree (or a single file); a missing one is fine.
pub fn remove_tree(path: &Path) -> FsResult<()> {
    let meta = match lstat_if_exists(path)? {
        Some(m) => m,
        None => return Ok(()),
    };
    if !meta.is_dir() {
        unlink_if_exists(path)?;
        return Ok(());
    }
    // Gone meanwhile (another process or host removing the same tree) is done too.
    let entries = match read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        remove_tree(&path.join(&entry.name))?;
    }
    match rmdir(path) {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// `rmdir()`.
pub fn rmdir(path: &Path) -> FsResult<()> {
    estale::retry(path, FsOp::Rmdir, || fs::remove_dir(path))
}

/// Sets `path`'s access and modification times (`utime`); `None` is now.
pub fn utime(path: &Path, time: Option<SystemTime>) -> FsResult<()> {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let spec = match time {
        None => TimeSpec::UTIME_NOW,
        Some(t) => {
            let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            TimeSpec::from_duration(d)
        }
    };
    estale::retry(path, FsOp::Utime, || {
        utimensat(
            nix::fcntl::AT_FDCWD,
            path,
            &spec,
            &spec,
            UtimensatFlags::FollowSymlink,
        )
        .map_err(io::Error::from)
    })
}

/// Creates `path` if missing (mode from `perms`), and sets its times to now.
pub fn touch(path: &Path, perms: &CreatePerms) -> FsResult<()> {
    match utime(path, None) {
        Err(e) if e.is_not_found() => {
            super::file::FsFile::open_or_create(path, perms)?;
            Ok(())
        }
        other => other,
    }
}

/// Makes entries created, renamed or removed in `dir` durable (`fsync` on the directory),
/// when `policy` syncs at `point`.
pub fn fsync_dir(policy: &FsPolicy, dir: &Path, point: SyncPoint) -> FsResult<()> {
    if !policy.should_sync(point) {
        return Ok(());
    }
    let handle = estale::retry(dir, FsOp::Open, || fs::File::open(dir))?;
    match handle.sync_all() {
        Ok(()) => Ok(()),
        // Some file systems (and FUSE mounts) cannot fsync a directory: nothing to do then.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOTSUP)) => Ok(()),
        Err(e) => Err(FsError::io(FsOp::Fsync, dir, e)),
    }
}

fn not_found_as_none<T>(result: FsResult<T>) -> FsResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn readdir_names_and_types() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"").unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        let mut entries = read_dir(dir.path()).unwrap();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<_> = entries.iter().map(|e| e.name.to_str().unwrap()).collect();
        assert_eq!(names, ["a", "d"]);
        // tmpfs/ext4 report d_type; accept DT_UNKNOWN on others.
        assert!(matches!(entries[0].kind, Some(EntryKind::File) | None));
        assert!(matches!(entries[1].kind, Some(EntryKind::Dir) | None));
        assert!(read_dir(&dir.path().join("none"))
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn link_rename_unlink() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"x").unwrap();
        link(&a, &b, true).unwrap();
        assert_eq!(stat(&a).unwrap().nlink(), 2);
        let err = link(&a, &b, true).unwrap_err();
        assert!(err.is_exists(), "{err}");
        assert!(link(&a, &b, false).unwrap_err().is_exists());
        rename(&a, &dir.path().join("c")).unwrap();
        assert!(stat_if_exists(&a).unwrap().is_none());
        assert!(unlink_if_exists(&b).unwrap());
        assert!(!unlink_if_exists(&b).unwrap());
        let err = rename(&a, &b).unwrap_err();
        assert!(err.to_string().starts_with("rename("), "{err}");
    }

    #[test]
    fn mkdir_exact_mode_and_parents() {
        let dir = tempfile::tempdir().unwrap();
        let perms = CreatePerms {
            dir_mode: 0o775,
            ..CreatePerms::default()
        };
        let deep = dir.path().join("x/y/z");
        mkdir_parents(&deep, &perms).unwrap();
        mkdir_parents(&deep, &perms).unwrap();
        for p in ["x", "x/y", "x/y/z"] {
            let mode = stat(&dir.path().join(p)).unwrap().permissions().mode();
            assert_eq!(mode & 0o7777, 0o775, "{p}");
        }
        assert!(mkdir(&deep, &perms).unwrap_err().is_exists());
        rmdir(&deep).unwrap();
    }

    #[test]
    fn utime_and_touch() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        touch(&f, &CreatePerms::default()).unwrap();
        let past = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        utime(&f, Some(past)).unwrap();
        assert_eq!(stat(&f).unwrap().mtime(), 1_000_000_000);
        touch(&f, &CreatePerms::default()).unwrap();
        assert!(stat(&f).unwrap().mtime() > 1_000_000_000);
        fsync_dir(
            &FsPolicy::dovecot_defaults(),
            dir.path(),
            SyncPoint::Durable,
        )
        .unwrap();
    }

    #[test]
    fn stat_retries_injected_estale() {
        let dir = tempfile::tempdir().unwrap();
        let guard = estale::inject_estale(9);
        stat(dir.path()).unwrap();
        assert_eq!(guard.attempts(), 10);
        drop(guard);
        let _guard = estale::inject_estale(10);
        let err = stat(dir.path()).unwrap_err();
        assert!(err.is_stale());
        assert!(err.to_string().starts_with("stat("), "{err}");
    }
}
