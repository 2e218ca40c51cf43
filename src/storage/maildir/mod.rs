//! Maildir in Dovecot 2.3's formats: file names, `dovecot-uidlist`, `dovecot-keywords`,
//! `dovecot-uidvalidity`, the subscriptions file, folder layout and permissions.
//!
//! The format modules (`filename`, `uidlist`, `keywords`, `subscriptions`, `sync_state`) turn
//! bytes into typed values and back; the `*_file` modules, `uidvalidity`, `layout`, `save` and
//! `scan` do the file work, all of it through `crate::fs`; [`mailbox`] puts them together
//! with cote's index into the storage API's mailbox.

pub mod filename;
pub mod keywords;
pub mod keywords_file;
pub mod layout;
pub mod mailbox;
pub mod save;
pub mod scan;
pub mod subscriptions;
pub mod subscriptions_file;
pub mod sync_state;
pub mod uidlist;
pub mod uidlist_file;
pub mod uidvalidity;

use std::fmt;
use std::path::PathBuf;

use crate::fs::FsError;

/// A Maildir operation that failed; each names the file or directory involved.
#[derive(Debug)]
pub enum MaildirError {
    Fs(FsError),
    /// `dovecot-uidlist` is broken as Dovecot would judge it (the file has been removed, as
    /// Dovecot does, so that it is rebuilt).
    BrokenUidList {
        path: PathBuf,
        error: uidlist::UidListError,
    },
    /// The subscriptions file has a line Dovecot cannot read.
    BrokenSubscriptions {
        path: PathBuf,
        error: subscriptions::LineTooLong,
    },
    /// The mailbox directory disappeared (deleted by another session) while we worked on it.
    MailboxDeleted(PathBuf),
    /// No UIDs left under this UIDVALIDITY.
    UidsExhausted(PathBuf),
    /// The file changed under a lock we held: someone overrode the lock.
    LockOverridden(PathBuf),
}

impl fmt::Display for MaildirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaildirError::Fs(e) => e.fmt(f),
            MaildirError::BrokenUidList { path, error } => {
                write!(f, "Broken file {} {error}", path.display())
            }
            MaildirError::BrokenSubscriptions { path, error } => {
                write!(f, "{}: {error}", path.display())
            }
            MaildirError::MailboxDeleted(path) => {
                write!(f, "Mailbox was deleted: {}", path.display())
            }
            MaildirError::UidsExhausted(path) => {
                write!(f, "{}: {}", path.display(), uidlist::UidsExhausted)
            }
            MaildirError::LockOverridden(path) => {
                write!(f, "Maildir uidlist dotlock overridden: {}", path.display())
            }
        }
    }
}

impl std::error::Error for MaildirError {}

impl From<FsError> for MaildirError {
    fn from(e: FsError) -> MaildirError {
        MaildirError::Fs(e)
    }
}
