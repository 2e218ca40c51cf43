//! Atomic replacement of a whole file: write a temp file in the same directory, sync it per
//! `mail_fsync`, rename it over the target, sync the directory. Readers see the old file or
//! the new one, never a mix. Temp names never contain `:` (CIFS), and nothing we hold a lock
//! on is ever renamed (see [`ops::rename`]). The Maildir info separator does not matter here:
//! these temp files are never in `cur/` or `new/`, and Maildir's own `tmp/` names come from
//! `BaseNameGenerator`, which refuses a host name holding `:` or the separator.

use std::ffi::OsString;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

use super::error::{FsError, FsResult};
use super::file::FsFile;
use super::perms::CreatePerms;
use super::policy::{FsPolicy, SyncPoint};
use super::{ops, random};

/// How the temp file is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TempName {
    /// `<target name>.<host>.<pid>.<16 hex>.tmp`, created with O_EXCL.
    Unique,
    /// A name the format dictates (`dovecot-uidlist.tmp`), created or truncated: the caller
    /// must hold the lock that makes it the only writer.
    Fixed(OsString),
}

/// A replacement in progress. Dropping it without [`commit`](Self::commit) removes the
/// temp file.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<FsFile>,
    temp: PathBuf,
    target: PathBuf,
    policy: FsPolicy,
    written: u64,
}

impl AtomicFile {
    /// Starts replacing `target`: creates the temp file beside it with `perms`.
    pub fn create(
        target: &Path,
        temp: TempName,
        perms: &CreatePerms,
        policy: &FsPolicy,
    ) -> FsResult<AtomicFile> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let Some(base) = target.file_name() else {
            return Err(FsError::Invalid {
                path: target.to_path_buf(),
                reason: "atomic replace needs a file name".into(),
            });
        };
        let (temp, file) = match temp {
            TempName::Unique => {
                let name = format!(
                    "{}.{}.{}.{}.tmp",
                    base.to_string_lossy(),
                    super::hostname()?,
                    std::process::id(),
                    random::hex(16)
                )
                .replace([':', '/'], "_");
                let temp = dir.join(name);
                let file = FsFile::create_excl(&temp, perms)?;
                (temp, file)
            }
            TempName::Fixed(name) => {
                if name.as_encoded_bytes().contains(&b':')
                    || name.as_encoded_bytes().contains(&b'/')
                {
                    return Err(FsError::Invalid {
                        path: dir.join(&name),
                        reason: "temp file names must not contain ':' or '/'".into(),
                    });
                }
                let temp = dir.join(name);
                let file = FsFile::create_trunc(&temp, perms)?;
                (temp, file)
            }
        };
        Ok(AtomicFile {
            file: Some(file),
            temp,
            target: target.to_path_buf(),
            policy: policy.clone(),
            written: 0,
        })
    }

    /// The temp file's path.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The file being written (for positioned writes; [`write_all`](Self::write_all)
    /// appends).
    pub fn file(&self) -> FsResult<&FsFile> {
        self.file.as_ref().ok_or_else(|| FsError::Invalid {
            path: self.temp.clone(),
            reason: "atomic file already committed".into(),
        })
    }

    /// Appends `data` after what was written so far.
    pub fn write_all(&mut self, data: &[u8]) -> FsResult<()> {
        self.file()?.write_all_at(data, self.written)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Syncs the temp file (unless `mail_fsync = never`), renames it over the target and
    /// syncs the directory. Returns the new file's `fstat()` taken before the rename, so a
    /// caller can verify later that the target is still what it wrote (Dovecot's uidlist
    /// size check).
    pub fn commit(mut self) -> FsResult<Metadata> {
        let file = self.file.take().ok_or_else(|| FsError::Invalid {
            path: self.temp.clone(),
            reason: "atomic file already committed".into(),
        })?;
        file.sync(&self.policy, SyncPoint::Durable)?;
        let meta = file.metadata()?;
        // Closed before the rename: CIFS refuses to rename open files.
        drop(file);
        ops::rename(&self.temp, &self.target)?;
        self.temp = PathBuf::new();
        if let Some(dir) = self.target.parent() {
            ops::fsync_dir(&self.policy, dir, SyncPoint::Durable)?;
        }
        Ok(meta)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.temp.as_os_str().is_empty() {
            if let Err(e) = ops::unlink_if_exists(&self.temp) {
                log::error!("{e}");
            }
        }
    }
}

/// Replaces `target` with `data` in one go.
pub fn replace_file(
    target: &Path,
    data: &[u8],
    perms: &CreatePerms,
    policy: &FsPolicy,
) -> FsResult<()> {
    let mut file = AtomicFile::create(target, TempName::Unique, perms, policy)?;
    file.write_all(data)?;
    file.commit().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_and_abort() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("subscriptions");
        let policy = FsPolicy::dovecot_defaults();
        replace_file(&target, b"V\t2\n\n", &CreatePerms::default(), &policy).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"V\t2\n\n");
        let mut f = AtomicFile::create(&target, TempName::Unique, &CreatePerms::default(), &policy)
            .unwrap();
        let name = f
            .temp_path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(name.starts_with("subscriptions.") && name.ends_with(".tmp"));
        assert!(!name.contains(':'));
        f.write_all(b"partial").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&target).unwrap(), b"V\t2\n\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn fixed_name_is_truncated_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dovecot-uidlist");
        let policy = FsPolicy::dovecot_defaults();
        std::fs::write(dir.path().join("dovecot-uidlist.tmp"), b"old leftover").unwrap();
        let mut f = AtomicFile::create(
            &target,
            TempName::Fixed("dovecot-uidlist.tmp".into()),
            &CreatePerms::default(),
            &policy,
        )
        .unwrap();
        f.write_all(b"3 V1 N2\n").unwrap();
        let meta = f.commit().unwrap();
        assert_eq!(meta.len(), 8);
        assert_eq!(std::fs::read(&target).unwrap(), b"3 V1 N2\n");
        assert!(AtomicFile::create(
            &target,
            TempName::Fixed("a:b".into()),
            &CreatePerms::default(),
            &policy
        )
        .is_err());
    }
}
