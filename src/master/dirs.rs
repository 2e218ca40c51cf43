//! The directories under base_dir that the master prepares at startup, before binding
//! listeners (Dovecot's master_settings_do_fixes): base_dir itself (world-readable),
//! `login/` and `token-login/` (the login processes' sockets live there and they are chrooted
//! to them: root-owned, mode 0750, group of the login user) and `empty/` (0755).
//!
//! Not started as root, ownership is left as it is (DESIGN.md §1): the directories belong to
//! the running user, with the same modes.

use std::fs::{DirBuilder, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};

use super::settings::MasterSettings;
use crate::errtext::os_error_text;

/// What the directory must look like: its mode, and its owner and group where they are
/// enforced.
struct DirSpec {
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
}

/// Creates and corrects the directories; returns the warnings to log (corrections of
/// directories that existed with other permissions). `Err` is a fatal error.
pub fn prepare(settings: &MasterSettings) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let base_dir = &settings.base_dir;
    if let Err(e) = DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(base_dir)
    {
        return Err(format!("mkdir({}) failed: {e}", base_dir.display()));
    }
    // base_dir may be a symlink: follow it.
    let meta = std::fs::metadata(base_dir)
        .map_err(|e| format!("stat({}) failed: {}", base_dir.display(), os_error_text(&e)))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", base_dir.display()));
    }
    if meta.mode() & 0o755 != 0o755 {
        warnings.push(format!(
            "Fixing permissions of {} to be world-readable",
            base_dir.display()
        ));
        let mode = std::fs::Permissions::from_mode(meta.mode() & 0o7777 | 0o755);
        if let Err(e) = std::fs::set_permissions(base_dir, mode) {
            warnings.push(format!(
                "chmod({}) failed: {}",
                base_dir.display(),
                os_error_text(&e)
            ));
        }
    }

    let privileged = Uid::effective().is_root();
    let master_uid = privileged.then(|| Uid::effective().as_raw());
    let login_gid = if privileged {
        login_gid(settings)
    } else {
        None
    };
    for name in ["login", "token-login"] {
        let dir = base_dir.join(name);
        if has_listeners_in(settings, &dir) {
            let spec = DirSpec {
                mode: 0o750,
                uid: master_uid,
                gid: login_gid,
            };
            if safe_mkdir(&dir, &spec)? {
                warnings.push(format!(
                    "Corrected permissions for login directory {}",
                    dir.display()
                ));
            }
        } else {
            match DirBuilder::new().mode(0o755).create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(format!(
                        "mkdir({}) failed: {}",
                        dir.display(),
                        os_error_text(&e)
                    ))
                }
            }
        }
    }
    let empty = base_dir.join("empty");
    let spec = DirSpec {
        mode: 0o755,
        uid: master_uid,
        gid: privileged.then(|| Gid::effective().as_raw()),
    };
    if safe_mkdir(&empty, &spec)? {
        warnings.push(format!(
            "Corrected permissions for empty directory {}",
            empty.display()
        ));
    }
    Ok(warnings)
}

/// Whether a service of an enabled protocol has a unix listener inside `dir`.
/// `base_dir/dovecot.conf`, a symlink to the configuration the master runs with, as
/// Dovecot's master leaves it for tools that look there.
pub fn link_config(base_dir: &Path, config_path: &Path) {
    let link = base_dir.join("dovecot.conf");
    if let Err(e) = std::fs::remove_file(&link) {
        if e.kind() != std::io::ErrorKind::NotFound {
            log::error!("unlink({}) failed: {}", link.display(), os_error_text(&e));
        }
    }
    if let Err(e) = std::os::unix::fs::symlink(config_path, &link) {
        log::error!(
            "symlink({}, {}) failed: {}",
            config_path.display(),
            link.display(),
            os_error_text(&e)
        );
    }
}

fn has_listeners_in(settings: &MasterSettings, dir: &Path) -> bool {
    settings
        .services
        .iter()
        .filter(|s| settings.protocol_enabled(s))
        .flat_map(|s| &s.unix_listeners)
        .any(|l| {
            let path: PathBuf = settings.base_dir.join(&l.path);
            path.starts_with(dir) && path != dir
        })
}

/// The group of the login processes: their service's `group`, else their user's primary
/// group. A name that does not resolve leaves the group as it is (as Dovecot does).
fn login_gid(settings: &MasterSettings) -> Option<u32> {
    if !settings.login_group.is_empty() {
        return Group::from_name(&settings.login_group)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw());
    }
    if settings.login_user.is_empty() {
        return None;
    }
    User::from_name(&settings.login_user)
        .ok()
        .flatten()
        .map(|u| u.gid.as_raw())
}

/// Dovecot's safe_mkdir: creates `dir` if missing, then makes its owner, group and mode what
/// `spec` says, through a descriptor (no symlink is followed). `Ok(true)` when a directory
/// that already existed had to be corrected.
fn safe_mkdir(dir: &Path, spec: &DirSpec) -> Result<bool, String> {
    let created = match DirBuilder::new().mode(spec.mode).create(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            return Err(format!(
                "Can't create directory {}: {}",
                dir.display(),
                os_error_text(&e)
            ))
        }
    };
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .map_err(|e| format!("open() failed for {}: {}", dir.display(), os_error_text(&e)))?;
    let meta = file.metadata().map_err(|e| {
        format!(
            "fstat() failed for {}: {}",
            dir.display(),
            os_error_text(&e)
        )
    })?;
    let mut changed = false;
    // The owner first: only the owner can change the mode afterwards.
    let wrong_uid = spec.uid.is_some_and(|u| u != meta.uid());
    let wrong_gid = spec.gid.is_some_and(|g| g != meta.gid());
    if wrong_uid || wrong_gid {
        std::os::unix::fs::fchown(&file, spec.uid, spec.gid).map_err(|e| {
            format!(
                "fchown() failed for {}: {}",
                dir.display(),
                os_error_text(&e)
            )
        })?;
        changed = true;
    }
    // The umask may have narrowed a new directory's mode.
    if meta.mode() & 0o7777 != spec.mode {
        file.set_permissions(std::fs::Permissions::from_mode(spec.mode))
            .map_err(|e| {
                format!(
                    "chmod() failed for {}: {}",
                    dir.display(),
                    os_error_text(&e)
                )
            })?;
        changed = true;
    }
    Ok(changed && !created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_mkdir_creates_and_corrects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login");
        let me = (Uid::effective().as_raw(), Gid::effective().as_raw());
        let spec = DirSpec {
            mode: 0o750,
            uid: Some(me.0),
            gid: Some(me.1),
        };
        assert!(!safe_mkdir(&path, &spec).unwrap(), "created, not corrected");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&path), 0o750);
        assert!(!safe_mkdir(&path, &spec).unwrap(), "already right");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(safe_mkdir(&path, &spec).unwrap(), "corrected");
        assert_eq!(mode(&path), 0o750);
        // A symlink is not followed.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(safe_mkdir(&link, &spec).is_err());
        // A file is not a directory.
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(safe_mkdir(&file, &spec).is_err());
    }
}
