//! The POP3 session lock (`pop3_lock_session`, RFC 1939's exclusive maildrop access):
//! `dovecot-pop3-session.lock` in the INBOX namespace's index root (else its mail root), a
//! dotlock that Dovecot's pop3 processes take too, so cote and Dovecot exclude each other.

use std::path::PathBuf;
use std::time::Duration;

use crate::fs::{ops, CreatePerms, DotLock, DotLockSettings, FileKind};

use super::error::{StorageError, StorageResult};
use super::user::MailUser;

/// The lock file's name.
pub const LOCK_FILE: &str = "dovecot-pop3-session.lock";
/// How long a session waits for another one to end.
const WAIT: Duration = Duration::from_secs(10);
/// A lock not refreshed for this long is stale (Dovecot refreshes every this long too).
pub const STALE: Duration = Duration::from_secs(5 * 60);

/// A held session lock; dropping it removes the lock file.
#[derive(Debug)]
pub struct Pop3SessionLock {
    lock: DotLock,
}

impl Pop3SessionLock {
    /// Touches the lock so that it is not taken for stale while the session lives.
    pub fn refresh(&mut self) -> StorageResult<()> {
        self.lock
            .touch()
            .map_err(|e| StorageError::from_fs(Some("INBOX"), &e))
    }
}

impl MailUser {
    /// Takes the POP3 session lock, waiting up to 10 seconds for another session to end:
    /// `Ok(None)` when one still holds it.
    pub fn lock_pop3_session(&self) -> StorageResult<Option<Pop3SessionLock>> {
        let inbox = self
            .namespaces()
            .into_iter()
            .find(|ns| ns.config.inbox)
            .ok_or_else(|| StorageError::not_found("INBOX"))?;
        let dir: PathBuf = inbox
            .location
            .index_root()
            .or_else(|| inbox.location.root_dir())
            .ok_or_else(|| {
                StorageError::critical(
                    Some("INBOX"),
                    "pop3_lock_session: Storage has no root/index directory, \
                     can't create a POP3 session lock file",
                )
            })?
            .to_path_buf();
        ops::mkdir_parents(&dir, &CreatePerms::default()).map_err(|e| {
            StorageError::critical(
                Some("INBOX"),
                format!("pop3_lock_session: Couldn't create root directory: {e}"),
            )
        })?;
        let settings = self.settings_at(&inbox.location);
        let set =
            DotLockSettings::new(&settings.fs, FileKind::Storage, WAIT, STALE).with_suffix("");
        match DotLock::acquire(&dir.join(LOCK_FILE), &set) {
            Ok(lock) => Ok(Some(Pop3SessionLock { lock })),
            Err(e) if e.is_lock_timeout() => Ok(None),
            Err(e) => Err(StorageError::from_fs(Some("INBOX"), &e)),
        }
    }
}
