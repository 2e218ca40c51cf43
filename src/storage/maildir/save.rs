//! Delivering a message file the Maildir way: write `tmp/<base>`, sync it, rename it into
//! `new/<base>,S=<size>,W=<vsize>` (no flags) or `cur/<...>:2,<flags>`. The UID comes later,
//! under the uidlist lock.

use std::path::Path;
use std::time::SystemTime;

use super::filename::{self, BaseNameGenerator, InfoSeparator};
use super::MaildirError;
use crate::fs::{ops, CreatePerms, FsFile, FsPolicy, SyncPoint};
use crate::storage::flags::MailFlags;

/// How many fresh base names to try when `tmp/` already has the name.
const CREATE_TRIES: usize = 10;

/// A delivered file: its directory (`new` or `cur`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub subdir: &'static str,
    pub name: String,
}

/// The RFC822.SIZE of `data`: its size with every bare LF counted as CRLF.
pub fn virtual_size(data: &[u8]) -> u64 {
    let bare_lf = data
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'\n' && (i == 0 || data[i - 1] != b'\r'))
        .count();
    (data.len() + bare_lf) as u64
}

/// A message written into `tmp/`, not yet visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpFile {
    /// The base name it was created with (`<secs>.M<usecs>P<pid>.<host>`).
    pub base: String,
    pub path: std::path::PathBuf,
}

/// Writes `data` into `tmp/<base>` of the Maildir at `dir` (a fresh base name, created with
/// O_EXCL), synced per `mail_fsync`, its mtime set to `mtime` when given (the INTERNALDATE).
pub fn write_tmp(
    dir: &Path,
    names: &mut BaseNameGenerator,
    data: &[u8],
    mtime: Option<SystemTime>,
    perms: &CreatePerms,
    policy: &FsPolicy,
) -> Result<TmpFile, MaildirError> {
    let mut attempt = 0;
    loop {
        let base = names.next(crate::fs::clock::wall_now());
        let path = dir.join("tmp").join(&base);
        match FsFile::create_excl(&path, perms) {
            Ok(file) => {
                let written = file
                    .write_all_at(data, 0)
                    .and_then(|()| match mtime {
                        Some(t) => file.set_mtime(Some(t)),
                        None => Ok(()),
                    })
                    .and_then(|()| file.sync(policy, SyncPoint::Durable));
                if let Err(e) = written {
                    drop(file);
                    let _ = ops::unlink_if_exists(&path);
                    return Err(e.into());
                }
                return Ok(TmpFile { base, path });
            }
            Err(e) if e.is_exists() && attempt + 1 < CREATE_TRIES => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The name a file gets in `new/` (no flags) or `cur/` (flags or keyword letters).
pub fn dest_name(
    sep: InfoSeparator,
    base_with_sizes: &str,
    flags: MailFlags,
    keywords: &[u8],
) -> (&'static str, String) {
    if flags.is_empty() && keywords.is_empty() {
        ("new", base_with_sizes.to_string())
    } else {
        let full = sep.with_flags(base_with_sizes.as_bytes(), flags, keywords);
        ("cur", String::from_utf8_lossy(&full).into_owned())
    }
}

/// Writes `data` as a new message of the Maildir at `dir`. `keywords` are file-name letters
/// (from `Keywords::letter_or_add`). The file is synced per `mail_fsync` before it becomes
/// visible, and the directory after.
pub fn deliver(
    dir: &Path,
    names: &mut BaseNameGenerator,
    data: &[u8],
    flags: MailFlags,
    keywords: &[u8],
    perms: &CreatePerms,
    policy: &FsPolicy,
) -> Result<Delivered, MaildirError> {
    let tmp = write_tmp(dir, names, data, None, perms, policy)?;
    let name = filename::with_sizes(&tmp.base, Some(data.len() as u64), Some(virtual_size(data)));
    let (subdir, name) = dest_name(names.separator(), &name, flags, keywords);
    let dest_dir = dir.join(subdir);
    if let Err(e) = ops::rename(&tmp.path, &dest_dir.join(&name)) {
        let _ = ops::unlink_if_exists(&tmp.path);
        return Err(e.into());
    }
    ops::fsync_dir(policy, &dest_dir, SyncPoint::Durable)?;
    Ok(Delivered { subdir, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(virtual_size(b"a\nb\r\nc\n"), 9);
        assert_eq!(virtual_size(b"\n"), 2);
        assert_eq!(virtual_size(b""), 0);
    }

    #[test]
    fn delivers_into_new_and_cur() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let mut names = BaseNameGenerator::new(7, "host", InfoSeparator::DOVECOT).unwrap();
        let policy = FsPolicy::dovecot_defaults();
        let perms = CreatePerms::default();
        let a = deliver(
            dir.path(),
            &mut names,
            b"x\n",
            MailFlags::empty(),
            b"",
            &perms,
            &policy,
        )
        .unwrap();
        assert_eq!(a.subdir, "new");
        assert!(a.name.ends_with(".host,S=2,W=3"), "{}", a.name);
        let b = deliver(
            dir.path(),
            &mut names,
            b"y\r\n",
            MailFlags::SEEN,
            b"b",
            &perms,
            &policy,
        )
        .unwrap();
        assert_eq!(b.subdir, "cur");
        assert!(b.name.ends_with(",S=3,W=3:2,Sb"), "{}", b.name);
        assert_eq!(
            std::fs::read(dir.path().join("cur").join(&b.name)).unwrap(),
            b"y\r\n"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
}
