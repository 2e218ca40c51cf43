//! Modes and group for new files and directories, derived from an existing directory as
//! Dovecot does (`mailbox_list_get_permissions`): files get the directory's read/write bits
//! (plus 0600), directories its bits (plus 0700); the group is set explicitly only when the
//! directory's group differs from ours, is not inherited through setgid, and matters (group
//! bits differ from world bits).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::OnceLock;

use super::error::{FsError, FsOp, FsResult};
use super::estale;

/// How to create files and directories below some directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePerms {
    /// Mode of new files (exact: the process umask does not apply).
    pub file_mode: u32,
    /// Mode of new directories (exact; may include setgid).
    pub dir_mode: u32,
    /// Group to give new files and directories; `None`: leave the kernel's choice.
    pub gid: Option<u32>,
}

impl Default for CreatePerms {
    /// Dovecot's safe defaults: 0600 files, 0700 directories, default group.
    fn default() -> CreatePerms {
        CreatePerms {
            file_mode: 0o600,
            dir_mode: 0o700,
            gid: None,
        }
    }
}

impl CreatePerms {
    /// The permissions new entries below `path` (a mailbox or root directory, or a file such
    /// as `dovecot-shared`) should get; `Ok(None)` when `path` does not exist.
    pub fn from_path(path: &Path) -> FsResult<Option<CreatePerms>> {
        let meta = match estale::retry(path, FsOp::Stat, || fs::metadata(path)) {
            Ok(meta) => meta,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode();
        let is_dir = meta.is_dir();
        let mut dir_mode = (mode & 0o777) | 0o700;
        if !is_dir {
            // From a file: directories get x wherever r or w is given.
            for (rw, x) in [(0o600, 0o100), (0o060, 0o010), (0o006, 0o001)] {
                if dir_mode & rw != 0 {
                    dir_mode |= x;
                }
            }
        }
        let setgid_dir = |m: u32| m & libc::S_ISGID != 0;
        // The group is left to the kernel when a setgid directory passes it on, when group
        // and world have the same rights (not worth changing), or when it is ours anyway.
        let inherited = if is_dir {
            setgid_dir(mode)
        } else {
            path.parent()
                .and_then(|p| fs::metadata(p).ok())
                .is_some_and(|parent| setgid_dir(parent.permissions().mode()))
        };
        let keep_default = inherited
            || (mode & 0o070) >> 3 == mode & 0o007
            || nix::unistd::getegid().as_raw() == meta.gid();
        let gid = (!keep_default).then(|| meta.gid());
        if is_dir && setgid_dir(mode) {
            dir_mode |= libc::S_ISGID;
        }
        Ok(Some(CreatePerms {
            file_mode: (mode & 0o666) | 0o600,
            dir_mode,
            gid,
        }))
    }

    /// Gives a just-created entry (open as `fd`) its exact mode and group.
    pub(crate) fn apply(&self, fd: &fs::File, path: &Path, mode: u32) -> FsResult<()> {
        if let Some(gid) = self.gid {
            std::os::unix::fs::fchown(fd, None, Some(gid))
                .map_err(|e| FsError::io(FsOp::Chown, path, e))?;
        }
        // fchown may clear setgid; the umask may have cut bits: set the mode exactly when
        // either could have changed it.
        if self.gid.is_some() || mode & process_umask() != 0 {
            fd.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(|e| FsError::io(FsOp::Chmod, path, e))?;
        }
        Ok(())
    }
}

/// The process umask, read once (from /proc/self/status; 0o777 when unknown, which makes
/// every create set its mode explicitly).
pub(crate) fn process_umask() -> u32 {
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o777)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
        let p = CreatePerms::from_path(dir.path()).unwrap().unwrap();
        assert_eq!(p.file_mode, 0o640);
        assert_eq!(p.dir_mode, 0o750);
        assert_eq!(p.gid, None); // our own group
        assert!(CreatePerms::from_path(&dir.path().join("none"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn modes_from_a_file_get_x_for_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dovecot-shared");
        fs::write(&f, b"").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o660)).unwrap();
        let p = CreatePerms::from_path(&f).unwrap().unwrap();
        assert_eq!(p.file_mode, 0o660);
        assert_eq!(p.dir_mode, 0o770);
    }
}
