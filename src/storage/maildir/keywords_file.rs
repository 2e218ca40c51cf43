//! `dovecot-keywords` on disk: read without a lock when its mtime changes, replaced through
//! `dovecot-keywords.lock` (write the lock, rename it over the file) only while the uidlist
//! lock is held, with an mtime that always grows so readers notice.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::keywords::{self, Keywords};
use super::uidlist_file::UidListLock;
use super::MaildirError;
use crate::fs::{ops, CreatePerms, DotLock, DotLockSettings, FileKind, FsPolicy};

/// Dovecot's `KEYWORDS_LOCK_STALE_TIMEOUT`.
const LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(120);

/// One mailbox's keyword table and the mtime it was read at.
#[derive(Debug)]
pub struct KeywordsFile {
    path: PathBuf,
    policy: FsPolicy,
    keywords: Keywords,
    synced_mtime: Option<i64>,
    /// Inode, size and nanosecond mtime of the version read or written: two hosts can write
    /// versions within one second, and each replaces the file, so whole seconds alone can
    /// take another version for the one we have.
    synced_version: Option<(u64, u64, i64)>,
}

impl KeywordsFile {
    pub fn new(control_dir: &Path, policy: &FsPolicy) -> KeywordsFile {
        KeywordsFile {
            path: control_dir.join(keywords::FILE_NAME),
            policy: policy.clone(),
            keywords: Keywords::new(),
            synced_mtime: None,
            synced_version: None,
        }
    }

    pub fn keywords(&self) -> &Keywords {
        &self.keywords
    }

    /// For adding keywords (with the uidlist lock held, then [`commit`](Self::commit)).
    pub fn keywords_mut(&mut self) -> &mut Keywords {
        &mut self.keywords
    }

    /// Re-reads the file when its mtime changed (the file is only ever replaced whole).
    pub fn refresh(&mut self) -> Result<(), MaildirError> {
        self.policy
            .nfs(FileKind::Storage)
            .flush_dir_handles(&self.path);
        let Some(st) = ops::stat_if_exists(&self.path)? else {
            self.keywords = Keywords::new();
            self.synced_mtime = None;
            self.synced_version = None;
            return Ok(());
        };
        if self.synced_version == Some(version_of(&st)) && !self.keywords.changed() {
            return Ok(());
        }
        match ops::read_file_if_exists(&self.path)? {
            Some(data) => {
                self.keywords = Keywords::parse(&data);
                self.synced_mtime = Some(st.mtime());
                self.synced_version = Some(version_of(&st));
            }
            None => {
                self.keywords = Keywords::new();
                self.synced_mtime = None;
                self.synced_version = None;
            }
        }
        Ok(())
    }

    /// Writes the table if it changed. The uidlist lock is what makes this safe (Dovecot
    /// relies on it too): any `dovecot-keywords.lock` left now is stale and is removed.
    /// `perms` are the mailbox's (`CreatePerms::from_path` of its directory).
    pub fn commit(
        &mut self,
        _uidlist_lock: &UidListLock,
        perms: &CreatePerms,
    ) -> Result<(), MaildirError> {
        if !self.keywords.changed() {
            return Ok(());
        }
        let set = DotLockSettings::new(
            &self.policy,
            FileKind::Storage,
            Duration::ZERO,
            LOCK_STALE_TIMEOUT,
        );
        ops::unlink_if_exists(&set.lock_path(&self.path))?;
        let lock = DotLock::acquire_for_replace(&self.path, &set, perms)?;
        let Some(file) = lock.file() else {
            return Err(MaildirError::LockOverridden(self.path.clone()));
        };
        file.write_all_at(&self.keywords.to_bytes(), 0)?;
        // Readers compare whole-second mtimes: each version must have a later one.
        let written = file.metadata()?.mtime();
        let mtime = match self.synced_mtime {
            Some(prev) if written <= prev => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs() as i64;
                let t = if now <= prev { prev + 1 } else { now };
                file.set_mtime(Some(UNIX_EPOCH + Duration::from_secs(t.max(0) as u64)))?;
                t
            }
            _ => written,
        };
        let st = file.metadata()?;
        lock.replace(&self.policy, false)?;
        self.synced_mtime = Some(mtime);
        self.synced_version = Some(version_of(&st));
        self.keywords.mark_written();
        Ok(())
    }
}

/// What tells one version of the file from another (see `synced_version`).
fn version_of(st: &std::fs::Metadata) -> (u64, u64, i64) {
    (
        st.ino(),
        st.size(),
        st.mtime().saturating_mul(1_000_000_000) + st.mtime_nsec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::maildir::uidlist_file::UidListFile;

    #[test]
    fn commit_under_the_uidlist_lock() {
        let dir = tempfile::tempdir().unwrap();
        let policy = FsPolicy::dovecot_defaults();
        let mut uidlist = UidListFile::new(
            dir.path(),
            dir.path(),
            &policy,
            crate::storage::maildir::filename::InfoSeparator::DOVECOT,
        );
        let (lock, _) = uidlist.lock().unwrap();
        // a stale keywords lock from a crashed writer does not block us
        std::fs::write(dir.path().join("dovecot-keywords.lock"), b"1:gone").unwrap();
        let mut kw = KeywordsFile::new(dir.path(), &policy);
        kw.refresh().unwrap();
        assert_eq!(kw.keywords_mut().letter_or_add("$Junk"), Some(b'a'));
        kw.commit(&lock, &CreatePerms::default()).unwrap();
        let first = std::fs::metadata(dir.path().join("dovecot-keywords"))
            .unwrap()
            .mtime();
        kw.keywords_mut().letter_or_add("NonJunk");
        kw.commit(&lock, &CreatePerms::default()).unwrap();
        let path = dir.path().join("dovecot-keywords");
        assert_eq!(std::fs::read(&path).unwrap(), b"0 $Junk\n1 NonJunk\n");
        // every version has a later mtime, even within one second
        assert!(std::fs::metadata(&path).unwrap().mtime() > first);
        assert!(!dir.path().join("dovecot-keywords.lock").exists());
        let mut other = KeywordsFile::new(dir.path(), &policy);
        other.refresh().unwrap();
        assert_eq!(other.keywords().letter_of("nonjunk"), Some(b'b'));
    }
}
