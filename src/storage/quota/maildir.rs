//! The Maildir++ quota backend: the usage and (unless the configuration forces its own) the
//! limits live in `maildirsize` at the root of the user's Maildir (its control directory),
//! shared with Dovecot, courier and other Maildir++ programs on every host.
//!
//! As Dovecot 2.3 does (`quota-maildir.c`): the file is kept open and re-read when its size
//! or inode changed; a missing, broken, too long (5120 bytes) or implausible file (over quota with
//! more than the summary line, or older than 15 minutes) is recalculated by summing `,S=`
//! (or the file size) of every message in `new/` and `cur/` of every counted mailbox, and
//! written with temp file + rename unless a directory changed meanwhile; deliveries and
//! expunges append a `<bytes> <count>` line with O_APPEND.
//!
//! Beyond Dovecot, cote's writers take the dotlock `maildirsize.lock` (Dovecot's own
//! settings for it: stale after 30 s), so that cote processes on several hosts never
//! append into a file that a recalculation is replacing, nor tear each other's lines on a
//! filesystem where O_APPEND is not atomic across clients. Dovecot ignores the lock; its
//! appends stay as safe as they are between Dovecot processes.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fs::{
    self, clock, ops, CreatePerms, DotLock, DotLockSettings, FileKind, FsFile, FsPolicy,
};
use crate::storage::error::{StorageError, StorageResult};

use super::maildirsize::{self, MaildirSize, Usage};

/// The file's name in the Maildir root.
pub const FILE_NAME: &str = "maildirsize";
/// How long a writer waits for `maildirsize.lock`; then an append is made without it (as
/// Dovecot always makes it) and a recalculation keeps its result in memory only.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// Dovecot's stale timeout for `maildirsize.lock`.
const LOCK_STALE: Duration = Duration::from_secs(30);

/// The `maildirsize` file of one quota root.
#[derive(Debug)]
pub struct MaildirSizeFile {
    path: PathBuf,
    policy: FsPolicy,
    perms: CreatePerms,
    /// What the file held when last read: the file itself, kept open as Dovecot keeps its
    /// fd (while open, its inode number cannot go to a recalculation's new file, so the same
    /// (dev, inode, size) means the same contents), its (dev, inode, size) then, what it
    /// said and its mtime.
    cached: Option<Cached>,
}

#[derive(Debug)]
struct Cached {
    _file: FsFile,
    identity: (u64, u64, u64),
    content: MaildirSize,
    mtime: i64,
}

/// What [`MaildirSizeFile::read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Missing,
    /// The file's limits, usage (`None`: to be recalculated) and mtime.
    Present(MaildirSize, i64),
}

impl MaildirSizeFile {
    /// The file in `control_root` (the Maildir root, or its `CONTROL=` directory).
    pub fn new(control_root: &Path, policy: FsPolicy) -> MaildirSizeFile {
        let perms = CreatePerms::from_path(control_root)
            .ok()
            .flatten()
            .unwrap_or_default();
        MaildirSizeFile {
            path: control_root.join(FILE_NAME),
            policy,
            perms,
            cached: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn storage_error(&self, e: &fs::FsError) -> StorageError {
        StorageError::critical(None, format!("quota-maildir: {e}")).at_path(&self.path)
    }

    /// The file as it is now (read again only when it changed).
    pub fn read(&mut self) -> StorageResult<FileState> {
        let nfs = self.policy.nfs(FileKind::Storage);
        nfs.flush_dir_handles(&self.path);
        nfs.flush_attr(&self.path);
        let meta = match ops::stat_if_exists(&self.path) {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.cached = None;
                return Ok(FileState::Missing);
            }
            Err(e) => return Err(self.storage_error(&e)),
        };
        let identity = (meta.dev(), meta.ino(), meta.len());
        if let Some(c) = &self.cached {
            if c.identity == identity {
                return Ok(FileState::Present(c.content, c.mtime));
            }
        }
        let file = match FsFile::open_read(&self.path) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(FileState::Missing),
            Err(e) => return Err(self.storage_error(&e)),
        };
        nfs.flush_read_cache(&file, false);
        let mut buf = vec![0u8; maildirsize::MAX_READ + 1];
        let n = file
            .read_full_at(&mut buf, 0)
            .map_err(|e| self.storage_error(&e))?;
        let meta = file.metadata().map_err(|e| self.storage_error(&e))?;
        let content = maildirsize::parse(&buf[..n], n <= maildirsize::MAX_READ);
        let mtime = meta.mtime();
        self.cached = Some(Cached {
            _file: file,
            identity: (meta.dev(), meta.ino(), n as u64),
            content,
            mtime,
        });
        Ok(FileState::Present(content, mtime))
    }

    fn lock_settings(&self) -> DotLockSettings {
        DotLockSettings::new(&self.policy, FileKind::Storage, LOCK_WAIT, LOCK_STALE)
    }

    fn lock(&self) -> Option<DotLock> {
        match DotLock::acquire(&self.path, &self.lock_settings()) {
            Ok(lock) => Some(lock),
            Err(e) => {
                log::warn!("quota-maildir: going on without the lock: {e}");
                None
            }
        }
    }

    /// Counts the messages of `mailbox_dirs` (each holding `new/` and `cur/`) and writes the
    /// file with `limits`, unless a directory changed while it was counted (then the counts
    /// are returned, and the file is left for the next writer). Returns (bytes, count).
    pub fn recalculate(
        &mut self,
        mailbox_dirs: &[PathBuf],
        limits: (u64, u64),
    ) -> StorageResult<(u64, u64)> {
        // The root may not exist before the user's first mailbox does (Dovecot creates it).
        if let Some(dir) = self.path.parent() {
            if let Err(e) = ops::mkdir_parents(dir, &self.perms) {
                return Err(self.storage_error(&e));
            }
        }
        let lock = self.lock();
        let mut dirs = Vec::new();
        for mailbox in mailbox_dirs {
            for sub in ["new", "cur"] {
                dirs.push(mailbox.join(sub));
            }
        }
        let (mut bytes, mut count, mut latest) = (0u64, 0u64, i64::MIN);
        for dir in &dirs {
            let Some(mtime) = self.dir_mtime(dir)? else {
                continue;
            };
            latest = latest.max(mtime);
            let (b, c) = sum_dir(dir).map_err(|e| self.storage_error(&e))?;
            bytes += b;
            count += c;
        }
        let mut changed = false;
        for dir in &dirs {
            if self.dir_mtime(dir)?.is_some_and(|m| m > latest) {
                changed = true;
                break;
            }
        }
        if !changed {
            let content = maildirsize::format(limits.0, limits.1, bytes, count);
            if let Err(e) =
                fs::replace_file(&self.path, content.as_bytes(), &self.perms, &self.policy)
            {
                log::error!("quota-maildir: {e}");
            }
        }
        self.cached = None;
        drop(lock);
        Ok((bytes, count))
    }

    fn dir_mtime(&self, dir: &Path) -> StorageResult<Option<i64>> {
        match ops::stat_if_exists(dir) {
            Ok(Some(m)) if m.is_dir() => Ok(Some(m.mtime())),
            Ok(_) => Ok(None),
            Err(e) if e.errno() == Some(libc::ENOTDIR) => Ok(None),
            Err(e) => Err(self.storage_error(&e)),
        }
    }

    /// Appends a change; `Ok(false)` when there is no file to append to (the caller
    /// recalculates).
    pub fn append(&mut self, bytes_diff: i64, count_diff: i64) -> StorageResult<bool> {
        if bytes_diff == 0 && count_diff == 0 {
            return Ok(true);
        }
        let lock = self.lock();
        let file = match FsFile::open_append(&self.path) {
            Ok(f) => f,
            Err(e) if e.is_not_found() || e.is_stale() => return Ok(false),
            Err(e) => return Err(self.storage_error(&e)),
        };
        let line = maildirsize::update_line(bytes_diff, count_diff);
        let written = file
            .append(line.as_bytes())
            .and_then(|()| self.policy.nfs(FileKind::Storage).flush_write_cache(&file));
        drop(file);
        drop(lock);
        self.cached = None;
        match written {
            Ok(()) => Ok(true),
            // Replaced meanwhile: its replacement was counted from the directories.
            Err(e) if e.is_stale() => Ok(true),
            Err(e) => Err(self.storage_error(&e)),
        }
    }

    /// Removes the file so that the next reader recalculates it (after a failed update,
    /// when the configuration's limits are the ones that count).
    pub fn remove(&mut self) {
        self.cached = None;
        if let Err(e) = ops::unlink_if_exists(&self.path) {
            log::error!("quota-maildir: {e}");
        }
    }
}

/// Whether a file's usage can be trusted against `limits`: a total over a limit is
/// believed only from a fresh file holding the summary line alone.
pub fn usage_is_plausible(usage: &Usage, limits: (u64, u64), mtime: i64) -> bool {
    let over =
        (limits.0 != 0 && usage.bytes > limits.0) || (limits.1 != 0 && usage.count > limits.1);
    if !over {
        return true;
    }
    let now = clock::unix_secs(clock::wall_now());
    usage.lines <= 1 && mtime >= now - maildirsize::STALE_SECS
}

/// The sizes and number of the message files in `dir`: `,S=<size>` from the name where it
/// is there (followed by `:`, `,` or the end), the file's size otherwise. Names starting
/// with `..` are not messages.
fn sum_dir(dir: &Path) -> fs::FsResult<(u64, u64)> {
    let entries = match ops::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.is_not_found() || e.is_stale() => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let (mut bytes, mut count) = (0u64, 0u64);
    for entry in entries {
        let name = entry.name.as_encoded_bytes();
        if name.starts_with(b"..") {
            continue;
        }
        if let Some(size) = size_from_name(name) {
            bytes += size;
            count += 1;
            continue;
        }
        match ops::stat_if_exists(&dir.join(&entry.name)) {
            Ok(Some(m)) => {
                bytes += m.len();
                count += 1;
            }
            Ok(None) => {}
            Err(e) if e.is_stale() => {}
            Err(e) => return Err(e),
        }
    }
    Ok((bytes, count))
}

/// `,S=<digits>` in a Maildir file name, as Dovecot's quota recalculation reads it.
fn size_from_name(name: &[u8]) -> Option<u64> {
    let at = name.windows(3).position(|w| w == b",S=")?;
    let rest = &name[at + 3..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    match rest.get(digits) {
        None | Some(b':' | b',') => {}
        Some(_) => return None,
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maildir(root: &Path, files: &[(&str, usize)]) {
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        for (name, size) in files {
            std::fs::write(root.join(name), vec![b'x'; *size]).unwrap();
        }
    }

    #[test]
    fn sizes_from_names_or_files() {
        assert_eq!(size_from_name(b"1.M1P2.host,S=300,W=310:2,S"), Some(300));
        assert_eq!(size_from_name(b"1.M1P2.host,S=300"), Some(300));
        assert_eq!(size_from_name(b"1.M1P2.host,S=30x0:2,"), None);
        assert_eq!(size_from_name(b"1.M1P2.host:2,S"), None);
        let dir = tempfile::tempdir().unwrap();
        maildir(
            dir.path(),
            &[("cur/a,S=1000:2,S", 5), ("new/b", 7), ("cur/..hidden", 3)],
        );
        assert_eq!(sum_dir(&dir.path().join("cur")).unwrap(), (1000, 1));
        assert_eq!(sum_dir(&dir.path().join("new")).unwrap(), (7, 1));
        assert_eq!(sum_dir(&dir.path().join("gone")).unwrap(), (0, 0));
    }

    #[test]
    fn recalculate_append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        maildir(root, &[("cur/a,S=100:2,", 1), ("new/b,S=20", 1)]);
        let trash = root.join(".Trash");
        maildir(&trash, &[("cur/c,S=3:2,", 1)]);
        let mut f = MaildirSizeFile::new(root, FsPolicy::dovecot_defaults());
        assert_eq!(f.read().unwrap(), FileState::Missing);
        let dirs = vec![root.to_path_buf(), trash.clone()];
        assert_eq!(f.recalculate(&dirs, (1000, 5)).unwrap(), (123, 3));
        assert_eq!(
            std::fs::read_to_string(root.join(FILE_NAME)).unwrap(),
            "1000S,5C\n123 3\n"
        );
        assert!(f.append(50, 1).unwrap());
        assert!(f.append(-20, -1).unwrap());
        let FileState::Present(content, _) = f.read().unwrap() else {
            panic!("missing")
        };
        assert_eq!(content.usage.unwrap().bytes, 153);
        assert_eq!(content.usage.unwrap().count, 3);
        assert!(!root.join("maildirsize.lock").exists());
        f.remove();
        assert!(!f.append(1, 1).unwrap());
    }

    #[test]
    fn plausibility() {
        let now = clock::unix_secs(clock::wall_now());
        let u = |bytes, lines| Usage {
            bytes,
            count: 1,
            lines,
        };
        assert!(usage_is_plausible(&u(10, 5), (100, 0), 0));
        assert!(usage_is_plausible(&u(200, 1), (100, 0), now));
        assert!(!usage_is_plausible(&u(200, 2), (100, 0), now));
        assert!(!usage_is_plausible(&u(200, 1), (100, 0), now - 3600));
        assert!(usage_is_plausible(&u(200, 3), (0, 0), 0));
    }
}
