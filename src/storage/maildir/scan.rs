//! Reading `new/` and `cur/` as Dovecot's `maildir_scan_dir()` does: every file by base name,
//! files in `new/` moved to `cur/` when the session may (a read-write SELECT or
//! `maildir_empty_new`), `new/` read again when many files were moved (readdir may skip
//! entries while a directory changes, notably on NFS), duplicate base names and empty base
//! names given fresh names.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::filename::{self, BaseNameGenerator, InfoSeparator};
use super::sync_state::{DirStamp, DirTimes};
use super::MaildirError;
use crate::fs::{clock, ops, FsError};

/// Dovecot's `MAILDIR_RENAME_RESCAN_COUNT`: more moves than this in one read of `new/` make
/// us read it again.
const RENAME_RESCAN_COUNT: usize = 5;
/// Dovecot's `MAILDIR_SCAN_DIR_MAX_COUNT`: reads of `new/` per sync at most.
const SCAN_DIR_MAX_COUNT: usize = 5;
/// Dovecot's `DUPE_LINKS_DELETE_SECS`.
const DUPE_LINKS_DELETE_SECS: i64 = 30;
/// Dovecot's `MAILDIR_SYNC_TIME_WARN_SECS`.
const SYNC_TIME_WARN_SECS: u64 = 60;

/// `new/` or `cur/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subdir {
    New,
    Cur,
}

impl Subdir {
    pub fn name(self) -> &'static str {
        match self {
            Subdir::New => "new",
            Subdir::Cur => "cur",
        }
    }
}

/// Where a message file is: its directory and full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLoc {
    pub subdir: Subdir,
    pub name: Vec<u8>,
}

impl FileLoc {
    pub fn path(&self, mailbox_dir: &Path) -> PathBuf {
        mailbox_dir
            .join(self.subdir.name())
            .join(std::ffi::OsStr::from_bytes(&self.name))
    }
}

/// What one sync read.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every message file seen, by base name.
    pub files: HashMap<Vec<u8>, FileLoc>,
    /// `new/` was read (always, when anything is read).
    pub new_read: bool,
    /// `cur/` was read too: a file not seen is gone.
    pub cur_read: bool,
    /// Files were left in `new/`.
    pub new_left: bool,
    /// Files moved from `new/` to `cur/`.
    pub moved: usize,
    /// `new/` and `cur/` as they were when (last) read; changes we made while reading
    /// (moves) came after.
    pub new_stamp: Option<DirStamp>,
    pub cur_stamp: Option<DirStamp>,
}

/// How to read.
pub struct ScanOptions<'a> {
    pub mailbox_dir: &'a Path,
    /// Move files from `new/` to `cur/`.
    pub move_new: bool,
    /// Read `cur/` too.
    pub read_cur: bool,
    pub names: &'a mut BaseNameGenerator,
}

/// The stamp of a directory now: its mtime and the file server's time.
pub fn dir_stamp(dir: &Path, server_now: i64) -> Result<DirStamp, FsError> {
    let st = ops::stat(dir)?;
    Ok(DirStamp {
        mtime: st.mtime(),
        mtime_nsec: st.mtime_nsec(),
        check_time: server_now.max(st.mtime()),
    })
}

impl DirTimes {
    /// The current mtimes of the mailbox's `new/` and `cur/`.
    pub fn read(mailbox_dir: &Path) -> Result<DirTimes, FsError> {
        let times =
            |sub: &str| ops::stat(&mailbox_dir.join(sub)).map(|st| (st.mtime(), st.mtime_nsec()));
        Ok(DirTimes {
            new: times("new")?,
            cur: times("cur")?,
        })
    }
}

/// The file server's current time for this mailbox, in seconds.
pub fn server_now(mailbox_dir: &Path) -> i64 {
    clock::unix_secs(clock::server_now(&mailbox_dir.join("tmp")))
}

/// Reads `new/` (again while many files move) and, if asked, `cur/`.
pub fn scan(opts: ScanOptions<'_>) -> Result<Scan, MaildirError> {
    let started = Instant::now();
    let mut scan = Scan::default();
    let mut reads = 0;
    loop {
        reads += 1;
        let final_read = reads >= SCAN_DIR_MAX_COUNT;
        let moved = read_dir(
            &mut scan,
            Subdir::New,
            opts.mailbox_dir,
            opts.move_new,
            opts.names,
        )?;
        if moved <= RENAME_RESCAN_COUNT || final_read {
            break;
        }
    }
    scan.new_read = true;
    if opts.read_cur {
        read_dir(&mut scan, Subdir::Cur, opts.mailbox_dir, false, opts.names)?;
        scan.cur_read = true;
    }
    let took = started.elapsed();
    if took.as_secs() >= SYNC_TIME_WARN_SECS {
        log::warn!(
            "Maildir: Scanning {} took {} seconds ({} files, {} rename()s to cur/)",
            opts.mailbox_dir.display(),
            took.as_secs(),
            scan.files.len(),
            scan.moved
        );
    }
    Ok(scan)
}

/// One read of a directory; returns how many files were moved to `cur/`.
fn read_dir(
    scan: &mut Scan,
    subdir: Subdir,
    mailbox_dir: &Path,
    mut move_new: bool,
    names: &mut BaseNameGenerator,
) -> Result<usize, MaildirError> {
    let dir = mailbox_dir.join(subdir.name());
    let now = server_now(mailbox_dir);
    let stamp = match dir_stamp(&dir, now) {
        Ok(s) => s,
        Err(e) if e.is_not_found() => {
            return Err(MaildirError::MailboxDeleted(mailbox_dir.to_path_buf()))
        }
        Err(e) => return Err(e.into()),
    };
    let entries = match ops::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.is_not_found() => {
            return Err(MaildirError::MailboxDeleted(mailbox_dir.to_path_buf()))
        }
        Err(e) => return Err(e.into()),
    };
    let sep = names.separator();
    let mut moved = 0;
    let mut left = false;
    for entry in entries {
        let name = entry.name.as_bytes();
        if name.first() == Some(&b'.') {
            continue;
        }
        if name.first() == Some(&sep.byte()) {
            rename_empty_basename(mailbox_dir, &dir, name, names)?;
            continue;
        }
        let mut loc = FileLoc {
            subdir,
            name: name.to_vec(),
        };
        if subdir == Subdir::New && move_new {
            let mut dest = name.to_vec();
            if !dest.contains(&sep.byte()) {
                dest.extend_from_slice(sep.flags_prefix());
            }
            let from = dir.join(&entry.name);
            let to = mailbox_dir
                .join("cur")
                .join(std::ffi::OsStr::from_bytes(&dest));
            match ops::rename(&from, &to) {
                Ok(()) => {
                    moved += 1;
                    loc = FileLoc {
                        subdir: Subdir::Cur,
                        name: dest,
                    };
                }
                // Someone else moved it already: it is in cur/ under a name we'll see when
                // reading cur/ (or with the flags it had).
                Err(e) if e.is_not_found() => {
                    moved += 1;
                    loc = FileLoc {
                        subdir: Subdir::Cur,
                        name: dest,
                    };
                }
                Err(e) if e.is_no_space() || e.is_permission() => {
                    move_new = false;
                    left = true;
                }
                Err(e) => {
                    log::error!("Maildir {}: {e}", mailbox_dir.display());
                    left = true;
                }
            }
        } else if subdir == Subdir::New {
            left = true;
        }
        let base = sep.base(&loc.name).to_vec();
        match scan.files.get(&base) {
            Some(prev) if prev.name == loc.name && prev.subdir == loc.subdir => {}
            Some(prev) => {
                let prev = prev.clone();
                if ops::stat_if_exists(&prev.path(mailbox_dir))?.is_none() {
                    // What we knew is outdated (someone else moved or renamed it).
                    scan.files.insert(base, loc);
                } else {
                    fix_duplicate(mailbox_dir, &prev, &loc, names)?;
                }
            }
            None => {
                scan.files.insert(base, loc);
            }
        }
    }
    scan.moved += moved;
    match subdir {
        Subdir::New => {
            scan.new_left = left;
            scan.new_stamp = Some(stamp);
        }
        Subdir::Cur => scan.cur_stamp = Some(stamp),
    }
    Ok(moved)
}

/// A name starting with `:` has no base: give it one (Dovecot's
/// `maildir_rename_empty_basename`).
fn rename_empty_basename(
    mailbox_dir: &Path,
    dir: &Path,
    name: &[u8],
    names: &mut BaseNameGenerator,
) -> Result<(), MaildirError> {
    let old = dir.join(std::ffi::OsStr::from_bytes(name));
    let fresh = names.next(clock::wall_now());
    let new = mailbox_dir.join("new").join(&fresh);
    match ops::rename(&old, &new) {
        Ok(()) => {
            log::warn!("Fixed broken filename: {} -> {fresh}", old.display());
            Ok(())
        }
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Two files with one base name (Dovecot's `maildir_fix_duplicate`): hard links of one file
/// that have not changed for a while lose the second link; otherwise the second file gets a
/// fresh base name in `new/` (keeping its sizes), so that both messages are kept.
fn fix_duplicate(
    mailbox_dir: &Path,
    first: &FileLoc,
    second: &FileLoc,
    names: &mut BaseNameGenerator,
) -> Result<(), MaildirError> {
    let path1 = first.path(mailbox_dir);
    let path2 = second.path(mailbox_dir);
    let (Some(st1), Some(st2)) = (ops::stat_if_exists(&path1)?, ops::stat_if_exists(&path2)?)
    else {
        // One of them was just renamed or removed: readdir showed it twice.
        return Ok(());
    };
    if st1.ino() == st2.ino() && st1.dev() == st2.dev() {
        let now = clock::unix_secs(clock::wall_now());
        if st1.nlink() > 1
            && st2.nlink() == st1.nlink()
            && st1.ctime() == st2.ctime()
            && st1.ctime() < now - DUPE_LINKS_DELETE_SECS
            && ops::unlink_if_exists(&path2)?
        {
            log::warn!("Unlinked a duplicate: {}", path2.display());
        }
        return Ok(());
    }
    let sep = names.separator();
    let size = sep.size_field(&second.name, filename::FIELD_SIZE);
    let vsize = sep.size_field(&second.name, filename::FIELD_VSIZE);
    let fresh = filename::with_sizes(&names.next(clock::wall_now()), size, vsize);
    let new = mailbox_dir.join("new").join(&fresh);
    match ops::rename(&path2, &new) {
        Ok(()) => {
            log::warn!("Fixed a duplicate: {} -> {fresh}", path2.display());
            Ok(())
        }
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Looks for the file of `base` by reading `cur/` and `new/` (after the names we knew
/// failed): `None` when it is gone.
pub fn find_file(
    mailbox_dir: &Path,
    base: &[u8],
    sep: InfoSeparator,
) -> Result<Option<FileLoc>, MaildirError> {
    // new/ first: files only ever move from new/ to cur/, so one moving between the two
    // reads is found in cur/ (read second), never missed in both.
    for subdir in [Subdir::New, Subdir::Cur] {
        let dir = mailbox_dir.join(subdir.name());
        let entries = match ops::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.is_not_found() => {
                return Err(MaildirError::MailboxDeleted(mailbox_dir.to_path_buf()))
            }
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let name = entry.name.as_bytes();
            if name.first() != Some(&b'.') && sep.base(name) == base {
                return Ok(Some(FileLoc {
                    subdir,
                    name: name.to_vec(),
                }));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maildir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        dir
    }

    #[test]
    fn reads_and_moves() {
        let dir = maildir();
        let d = dir.path();
        std::fs::write(d.join("new/1.M1P1.h,S=1"), b"a").unwrap();
        std::fs::write(d.join("new/2.M1P1.h:2,S"), b"b").unwrap();
        std::fs::write(d.join("cur/3.M1P1.h:2,F"), b"c").unwrap();
        std::fs::write(d.join("cur/.hidden"), b"c").unwrap();
        let mut names = BaseNameGenerator::new(1, "h", InfoSeparator::DOVECOT).unwrap();
        let s = scan(ScanOptions {
            mailbox_dir: d,
            move_new: false,
            read_cur: true,
            names: &mut names,
        })
        .unwrap();
        assert_eq!(s.files.len(), 3);
        assert!(s.new_left && s.cur_read && s.moved == 0);
        assert_eq!(s.files[&b"1.M1P1.h,S=1"[..]].subdir, Subdir::New);
        let s = scan(ScanOptions {
            mailbox_dir: d,
            move_new: true,
            read_cur: false,
            names: &mut names,
        })
        .unwrap();
        assert_eq!(s.moved, 2);
        assert!(!s.new_left && !s.cur_read);
        assert_eq!(s.files[&b"1.M1P1.h,S=1"[..]].name, b"1.M1P1.h,S=1:2,");
        assert!(d.join("cur/1.M1P1.h,S=1:2,").exists());
        assert!(d.join("cur/2.M1P1.h:2,S").exists());
        assert_eq!(
            find_file(d, b"3.M1P1.h", InfoSeparator::DOVECOT)
                .unwrap()
                .unwrap()
                .name,
            b"3.M1P1.h:2,F"
        );
        assert!(find_file(d, b"9.M1P1.h", InfoSeparator::DOVECOT)
            .unwrap()
            .is_none());
    }

    #[test]
    fn duplicates_and_broken_names_get_fresh_names() {
        let dir = maildir();
        let d = dir.path();
        std::fs::write(d.join("cur/5.M1P1.h,S=1,W=2:2,S"), b"one").unwrap();
        std::fs::write(d.join("cur/5.M1P1.h,S=1,W=2:2,F"), b"two").unwrap();
        std::fs::write(d.join("cur/:2,S"), b"x").unwrap();
        let mut names = BaseNameGenerator::new(1, "h", InfoSeparator::DOVECOT).unwrap();
        let s = scan(ScanOptions {
            mailbox_dir: d,
            move_new: false,
            read_cur: true,
            names: &mut names,
        })
        .unwrap();
        assert_eq!(s.files.len(), 1);
        let cur: Vec<_> = std::fs::read_dir(d.join("cur")).unwrap().collect();
        assert_eq!(cur.len(), 1);
        let new: Vec<String> = std::fs::read_dir(d.join("new"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(new.len(), 2, "{new:?}");
        assert!(new.iter().any(|n| n.ends_with(",S=1,W=2")), "{new:?}");
        assert!(scan(ScanOptions {
            mailbox_dir: &d.join("gone"),
            move_new: false,
            read_cur: true,
            names: &mut names,
        })
        .is_err());
    }
}
