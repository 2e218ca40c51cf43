//! Filesystems that other hosts may share (NFS, CIFS/SMB, cluster filesystems, FUSE network
//! filesystems such as GlusterFS), recognised by `statfs()`, so that the cross-host cache
//! flushes apply there even when the configuration leaves `mail_nfs_*` off: Dovecot then
//! "may not fully work"; cote flushes (see [`FsPolicy::for_shared_fs`](super::FsPolicy::for_shared_fs)).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use super::probe::fs_type;

/// `statfs()` magic numbers of filesystems whose files other hosts may change.
const SHARED_MAGICS: &[(i64, &str)] = &[
    (0x6969, "nfs"),
    (0x6573_5546, "fuse"),
    (0xFF53_4D42, "cifs"),
    (0xFE53_4D42, "smb2"),
    (0x517B, "smb"),
    (0x00C3_6400, "ceph"),
    (0x0116_1970, "gfs2"),
    (0x7461_636F, "ocfs2"),
    (0x5346_414F, "afs"),
    (0x6B41_4653, "afs"),
    (0x0102_1997, "9p"),
    (0x0BD0_0BD0, "lustre"),
    (0x4750_4653, "gpfs"),
    (0x1983_0326, "beegfs"),
    (0x7375_7245, "coda"),
];

/// FUSE filesystems on a local block device (ntfs-3g, exfat): not shared.
const LOCAL_FUSE_TYPES: &[&str] = &["fuseblk"];

/// The type of the filesystem holding `path` (or its nearest existing ancestor, for a mail
/// root not created yet) when other hosts may share it: `fuse.glusterfs`, `nfs4`, `cifs`…;
/// `None` for local filesystems or when it cannot be told.
pub fn shared_fs_type(path: &Path) -> Option<String> {
    let existing = path
        .ancestors()
        .find(|p| !p.as_os_str().is_empty() && nix::sys::statfs::statfs(*p).is_ok())?;
    let stat = nix::sys::statfs::statfs(existing).ok()?;
    #[allow(clippy::unnecessary_cast)] // the field's type differs between targets
    let magic = stat.filesystem_type().0 as i64;
    let (_, family) = SHARED_MAGICS.iter().find(|(m, _)| *m == magic)?;
    let named = fs_type(existing);
    if LOCAL_FUSE_TYPES.contains(&named.as_str()) {
        return None;
    }
    Some(if named == "unknown" {
        (*family).to_string()
    } else {
        named
    })
}

/// Whether this process has not yet said `what` (a log line worth once per process, not once
/// per mailbox).
pub(crate) fn first_time(what: &str) -> bool {
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let Ok(mut said) = SAID.lock() else {
        return false;
    };
    said.get_or_insert_with(HashSet::new)
        .insert(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_directories_are_not_shared() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(shared_fs_type(dir.path()), None);
        // A path not created yet is judged by its nearest existing ancestor.
        assert_eq!(shared_fs_type(&dir.path().join("not/yet")), None);
    }

    #[test]
    fn says_things_once() {
        assert!(first_time("sharedfs test line"));
        assert!(!first_time("sharedfs test line"));
    }
}
