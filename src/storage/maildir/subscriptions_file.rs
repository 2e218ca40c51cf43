//! The subscriptions file on disk: read without a lock; changed by writing the new content
//! into `subscriptions.lock` and renaming it over the file (Dovecot's
//! `subsfile_set_subscribed`: lock timeout 120 s, stale after 30 s, owner verified).

use std::path::Path;
use std::time::Duration;

use super::subscriptions::Subscriptions;
use super::MaildirError;
use crate::fs::{ops, CreatePerms, DotLock, DotLockSettings, FileKind, FsPolicy};

const LOCK_TIMEOUT: Duration = Duration::from_secs(120);
const LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(30);

/// The subscriptions at `path` (none when the file does not exist).
pub fn read(path: &Path) -> Result<Subscriptions, MaildirError> {
    match ops::read_file_if_exists(path)? {
        None => Ok(Subscriptions::new()),
        Some(data) => {
            Subscriptions::parse(&data).map_err(|error| MaildirError::BrokenSubscriptions {
                path: path.to_path_buf(),
                error,
            })
        }
    }
}

/// Subscribes or unsubscribes a storage name; returns whether the file changed. `perms` are
/// the mail root's; a missing directory is created with them. Names that `auto = subscribe`
/// covers must not be passed: Dovecot never writes them.
pub fn set_subscribed(
    path: &Path,
    perms: &CreatePerms,
    policy: &FsPolicy,
    storage_name: &[u8],
    list_sep: u8,
    subscribed: bool,
) -> Result<bool, MaildirError> {
    let set = DotLockSettings::new(policy, FileKind::Storage, LOCK_TIMEOUT, LOCK_STALE_TIMEOUT);
    let lock = match DotLock::acquire_for_replace(path, &set, perms) {
        Err(e) if e.is_not_found() => {
            if let Some(dir) = path.parent() {
                ops::mkdir_parents(dir, perms)?;
            }
            DotLock::acquire_for_replace(path, &set, perms)?
        }
        other => other?,
    };
    let mut subs = match read(path) {
        Ok(subs) => subs,
        Err(e) => {
            lock.release()?;
            return Err(e);
        }
    };
    if !subs.set(storage_name, list_sep, subscribed) {
        lock.release()?;
        return Ok(false);
    }
    let Some(file) = lock.file() else {
        return Err(MaildirError::LockOverridden(path.to_path_buf()));
    };
    file.write_all_at(&subs.to_bytes(), 0)?;
    lock.replace(policy, true)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_and_unsubscribe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/subscriptions");
        let policy = FsPolicy::dovecot_defaults();
        let perms = CreatePerms::default();
        assert!(read(&path).unwrap().names(b'.').is_empty());
        assert!(set_subscribed(&path, &perms, &policy, b"a.b", b'.', true).unwrap());
        assert!(!set_subscribed(&path, &perms, &policy, b"a.b", b'.', true).unwrap());
        assert!(set_subscribed(&path, &perms, &policy, b"inbox", b'.', true).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"V\t2\n\na\tb\nINBOX\n");
        assert!(set_subscribed(&path, &perms, &policy, b"a.b", b'.', false).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"V\t2\n\nINBOX\n");
        assert!(!path.with_file_name("subscriptions.lock").exists());
    }
}
