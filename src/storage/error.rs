//! Errors of the storage API: Dovecot's `enum mail_error` kinds (which decide the IMAP
//! response code), the text a client may see, and the context (mailbox, UID, path) that goes
//! into the one log line an internal failure gets.
//!
//! Internal failures (a file operation that failed, a broken index) are logged once, with
//! their context, when they leave the storage API ([`StorageError::finish`]); the client
//! only sees Dovecot's `Internal error occurred. Refer to server log for more information.
//! [date]`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::fs::FsError;
use crate::index::error::IndexError;
use crate::storage::maildir::MaildirError;
use crate::storage::names::NameError;

/// Dovecot's `MAIL_ERRSTR_MAILBOX_NOT_FOUND`.
pub fn mailbox_not_found_text(vname: &str) -> String {
    format!("Mailbox doesn't exist: {vname}")
}

/// Dovecot's `MAIL_ERRSTR_CRITICAL_MSG`.
pub const CRITICAL_TEXT: &str =
    "Internal error occurred. Refer to server log for more information.";
/// Dovecot's `MAIL_ERRSTR_NO_QUOTA`.
pub const NO_QUOTA_TEXT: &str = "Not enough disk quota";
/// Dovecot's `MAIL_ERRSTR_LOCK_TIMEOUT`.
pub const LOCK_TIMEOUT_TEXT: &str = "Timeout while waiting for lock";
/// Dovecot's `MAIL_ERRSTR_NO_PERMISSION`.
pub const NO_PERMISSION_TEXT: &str = "Permission denied";

/// What kind of failure (Dovecot's `enum mail_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A temporary or internal failure (`[SERVERBUG]`, or `[UNAVAILABLE]`-like texts).
    Temp,
    /// Temporarily unavailable (`[UNAVAILABLE]`).
    Unavailable,
    /// Can't do this (`[CANNOT]`).
    NotPossible,
    /// Bad parameters from the client (`[CANNOT]`; IMAP may answer BAD).
    Params,
    /// No permission (`[NOPERM]`).
    Perm,
    /// Out of disk space or quota (`[OVERQUOTA]`).
    NoQuota,
    /// No such mailbox (`[NONEXISTENT]`).
    NotFound,
    /// Already exists (`[ALREADYEXISTS]`).
    Exists,
    /// The message was expunged (`[EXPUNGEISSUED]`).
    Expunged,
    /// In use by another session (`[INUSE]`).
    InUse,
    /// A limit was reached (`[LIMIT]`).
    Limit,
    /// Not implemented by cote (yet): the text names what.
    NotImplemented,
}

impl ErrorKind {
    /// The IMAP response code Dovecot sends for this kind.
    pub fn imap_code(self) -> Option<&'static str> {
        match self {
            ErrorKind::Temp => Some("SERVERBUG"),
            ErrorKind::Unavailable => Some("UNAVAILABLE"),
            ErrorKind::NotPossible | ErrorKind::Params | ErrorKind::NotImplemented => {
                Some("CANNOT")
            }
            ErrorKind::Perm => Some("NOPERM"),
            ErrorKind::NoQuota => Some("OVERQUOTA"),
            ErrorKind::NotFound => Some("NONEXISTENT"),
            ErrorKind::Exists => Some("ALREADYEXISTS"),
            ErrorKind::Expunged => Some("EXPUNGEISSUED"),
            ErrorKind::InUse => Some("INUSE"),
            ErrorKind::Limit => Some("LIMIT"),
        }
    }
}

/// A failed storage operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError {
    kind: ErrorKind,
    /// What the client may see.
    text: String,
    /// For internal errors: the detail that was logged.
    internal: Option<String>,
    mailbox: Option<String>,
    uid: Option<u32>,
    path: Option<PathBuf>,
    /// The mailbox was recreated under an open session (its UIDVALIDITY changed) or deleted:
    /// the session must close it.
    closes_mailbox: bool,
    /// The index must be rebuilt from the mailbox (the index layer logged why).
    index_rebuild: bool,
    /// The internal detail was logged already.
    logged: bool,
}

impl StorageError {
    /// An error the client may see as it is.
    pub fn new(kind: ErrorKind, text: impl Into<String>) -> StorageError {
        StorageError {
            kind,
            text: text.into(),
            internal: None,
            mailbox: None,
            uid: None,
            path: None,
            closes_mailbox: false,
            index_rebuild: false,
            logged: false,
        }
    }

    /// An internal failure: `detail` is logged (once, by [`finish`](Self::finish)), the
    /// client sees Dovecot's "Internal error occurred" text with the time.
    pub fn critical(mailbox: Option<&str>, detail: impl Into<String>) -> StorageError {
        let stamp = crate::log::format::timestamp("%Y-%m-%d %H:%M:%S");
        let mut e = StorageError::new(ErrorKind::Temp, format!("{CRITICAL_TEXT} [{stamp}]"));
        e.internal = Some(detail.into());
        e.mailbox = mailbox.map(str::to_string);
        e
    }

    /// Completes the error as it leaves the storage API: fills in the mailbox and logs an
    /// internal error's detail with its context (once).
    pub fn finish(mut self, vname: &str) -> StorageError {
        self.mailbox.get_or_insert_with(|| vname.to_string());
        self.log_once()
    }

    /// Logs an internal error's detail with the context known so far, unless that was done
    /// already (by [`finish`](Self::finish) or a lower layer). Every protocol calls this
    /// where it answers a storage error, so no internal error reaches a client unlogged.
    pub fn log_once(mut self) -> StorageError {
        if self.internal.is_some() && !self.logged {
            self.logged = true;
            log::error!("{self}");
        }
        self
    }

    /// This failure as an internal error of the operation, whatever its kind (Dovecot
    /// answers some operations' failures only with the internal-error text): an internal
    /// error stays as it is; another becomes one whose detail is its text and path.
    pub fn into_internal(self) -> StorageError {
        if self.internal.is_some() {
            return self;
        }
        let detail = match &self.path {
            Some(p) => format!("{} ({})", self.text, p.display()),
            None => self.text.clone(),
        };
        let mut e = StorageError::critical(self.mailbox.as_deref(), detail);
        e.uid = self.uid;
        e.path = self.path;
        e
    }

    /// Whether the index must be rebuilt (internal to the storage layer).
    pub(crate) fn needs_index_rebuild(&self) -> bool {
        self.index_rebuild
    }

    pub fn not_found(vname: &str) -> StorageError {
        StorageError::new(ErrorKind::NotFound, mailbox_not_found_text(vname)).in_mailbox(vname)
    }

    pub fn exists(text: &str) -> StorageError {
        StorageError::new(ErrorKind::Exists, text)
    }

    pub fn not_possible(text: impl Into<String>) -> StorageError {
        StorageError::new(ErrorKind::NotPossible, text)
    }

    pub fn params(text: impl Into<String>) -> StorageError {
        StorageError::new(ErrorKind::Params, text)
    }

    /// Something cote does not implement: a clear refusal, never a silent no-op.
    pub fn not_implemented(what: impl Into<String>) -> StorageError {
        StorageError::new(
            ErrorKind::NotImplemented,
            format!("{} is not implemented by cote", what.into()),
        )
    }

    pub fn read_only(vname: &str) -> StorageError {
        StorageError::new(ErrorKind::NotPossible, "Mailbox is read-only").in_mailbox(vname)
    }

    /// The mailbox was deleted or recreated while open: the session must close it.
    pub fn mailbox_gone(vname: &str, text: &str) -> StorageError {
        let mut e = StorageError::new(ErrorKind::NotFound, text).in_mailbox(vname);
        e.closes_mailbox = true;
        e
    }

    /// Fills in the mailbox, if not known yet.
    pub fn in_mailbox(mut self, vname: &str) -> StorageError {
        self.mailbox.get_or_insert_with(|| vname.to_string());
        self
    }

    /// Fills in the UID, if not known yet.
    pub fn for_uid(mut self, uid: u32) -> StorageError {
        self.uid.get_or_insert(uid);
        self
    }

    /// Fills in the path, if not known yet.
    pub fn at_path(mut self, path: &Path) -> StorageError {
        self.path.get_or_insert_with(|| path.to_path_buf());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The text for the client (`NO [CODE] text`).
    pub fn client_text(&self) -> &str {
        &self.text
    }

    /// The logged detail of an internal error.
    pub fn internal(&self) -> Option<&str> {
        self.internal.as_deref()
    }

    pub fn mailbox(&self) -> Option<&str> {
        self.mailbox.as_deref()
    }

    pub fn uid(&self) -> Option<u32> {
        self.uid
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether the session must close the mailbox (deleted, or recreated with a new
    /// UIDVALIDITY).
    pub fn closes_mailbox(&self) -> bool {
        self.closes_mailbox
    }

    /// From a file-layer failure in `mailbox`: out of space and permission problems are
    /// told to the client as such; anything else is an internal error (logged).
    pub fn from_fs(mailbox: Option<&str>, e: &FsError) -> StorageError {
        let err = if e.is_no_space() {
            StorageError::new(ErrorKind::NoQuota, NO_QUOTA_TEXT)
        } else if e.is_lock_timeout() {
            let mut err = StorageError::new(ErrorKind::Temp, LOCK_TIMEOUT_TEXT);
            err.internal = Some(e.to_string());
            err
        } else if e.is_permission() {
            let mut err = StorageError::new(ErrorKind::Perm, NO_PERMISSION_TEXT);
            err.internal = Some(e.to_string());
            err
        } else {
            StorageError::critical(mailbox, e.to_string())
        };
        let err = match e.path() {
            Some(p) => err.at_path(p),
            None => err,
        };
        match mailbox {
            Some(m) => err.in_mailbox(m),
            None => err,
        }
    }

    pub fn from_maildir(mailbox: Option<&str>, e: &MaildirError) -> StorageError {
        match e {
            MaildirError::Fs(fs) => StorageError::from_fs(mailbox, fs),
            MaildirError::MailboxDeleted(path) => {
                let vname = mailbox.unwrap_or("");
                StorageError::mailbox_gone(vname, "Mailbox was deleted under us").at_path(path)
            }
            other => StorageError::critical(mailbox, other.to_string()),
        }
    }

    pub fn from_index(mailbox: Option<&str>, e: &IndexError) -> StorageError {
        match e {
            IndexError::Fs(fs) => StorageError::from_fs(mailbox, fs),
            IndexError::Invalid(why) => StorageError::params(why.clone()),
            IndexError::NeedsRebuild { .. } => {
                let mut err = StorageError::critical(mailbox, e.to_string());
                err.index_rebuild = true;
                // The index layer logged the damage already.
                err.logged = true;
                err
            }
            other => StorageError::critical(mailbox, other.to_string()),
        }
    }

    pub fn from_name(vname: &str, e: &NameError) -> StorageError {
        let text = e.to_string();
        let kind = match e {
            NameError::TooLong => ErrorKind::Limit,
            _ => ErrorKind::Params,
        };
        // As Dovecot's mailbox_verify_name: the reason alone, the name not repeated (it
        // quotes the name only when the namespace prefix itself is wrong, which names
        // found by their namespace cannot be).
        StorageError::new(kind, text).in_mailbox(vname)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = &self.mailbox {
            write!(f, "Mailbox {m}: ")?;
        }
        if let Some(uid) = self.uid {
            write!(f, "UID={uid}: ")?;
        }
        match &self.internal {
            Some(detail) => f.write_str(detail)?,
            None => f.write_str(&self.text)?,
        }
        if let (Some(p), None) = (&self.path, &self.internal) {
            write!(f, " ({})", p.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for StorageError {}

impl From<FsError> for StorageError {
    fn from(e: FsError) -> StorageError {
        StorageError::from_fs(None, &e)
    }
}

impl From<MaildirError> for StorageError {
    fn from(e: MaildirError) -> StorageError {
        StorageError::from_maildir(None, &e)
    }
}

impl From<IndexError> for StorageError {
    fn from(e: IndexError) -> StorageError {
        StorageError::from_index(None, &e)
    }
}

/// Shorthand for storage results.
pub type StorageResult<T> = Result<T, StorageError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_codes() {
        let e = StorageError::not_found("Foo");
        assert_eq!(e.client_text(), "Mailbox doesn't exist: Foo");
        assert_eq!(e.kind().imap_code(), Some("NONEXISTENT"));
        assert_eq!(e.to_string(), "Mailbox Foo: Mailbox doesn't exist: Foo");
        let e = StorageError::critical(Some("INBOX"), "rename(a, b) failed: No space").for_uid(7);
        assert!(
            e.client_text().starts_with(CRITICAL_TEXT),
            "{}",
            e.client_text()
        );
        assert_eq!(e.kind().imap_code(), Some("SERVERBUG"));
        assert_eq!(
            e.to_string(),
            "Mailbox INBOX: UID=7: rename(a, b) failed: No space"
        );
        let fs = FsError::Io {
            op: crate::fs::FsOp::Rename,
            path: PathBuf::from("/m/cur/x"),
            source: std::io::Error::from_raw_os_error(libc::EDQUOT),
        };
        let e = StorageError::from_fs(Some("INBOX"), &fs);
        assert_eq!(e.kind(), ErrorKind::NoQuota);
        assert_eq!(e.client_text(), NO_QUOTA_TEXT);
        assert_eq!(e.path(), Some(Path::new("/m/cur/x")));
    }

    #[test]
    fn internal_errors_are_logged_once() {
        let e = StorageError::critical(Some("INBOX"), "read(/m/x) failed: Is a directory");
        assert!(!e.logged);
        let e = e.log_once();
        assert!(e.logged);
        // finish after a protocol's log_once (or the other way round) does not log again.
        let e = e.finish("INBOX");
        assert!(e.logged);
        // Errors for the client's eyes only are not logged.
        let e = StorageError::not_found("Foo").log_once();
        assert!(!e.logged);
    }

    #[test]
    fn into_internal_keeps_context() {
        let e = StorageError::new(ErrorKind::NotFound, "Mailbox doesn't exist: /m")
            .in_mailbox("INBOX")
            .at_path(Path::new("/m/dovecot-acl"));
        let e = e.into_internal();
        assert_eq!(e.kind(), ErrorKind::Temp);
        assert!(e.client_text().starts_with(CRITICAL_TEXT));
        assert_eq!(
            e.to_string(),
            "Mailbox INBOX: Mailbox doesn't exist: /m (/m/dovecot-acl)"
        );
        assert_eq!(e.path(), Some(Path::new("/m/dovecot-acl")));
        // An internal error stays as it is, logged state included.
        let e = StorageError::critical(None, "x").log_once().into_internal();
        assert_eq!(e.internal(), Some("x"));
        assert!(e.logged);
    }

    #[test]
    fn invalid_names_as_dovecot() {
        let e = StorageError::from_name("a..b", &NameError::DotDotPart);
        assert_eq!(e.client_text(), "Invalid mailbox name: Contains '..' part");
        assert_eq!(e.kind(), ErrorKind::Params);
        let e = StorageError::from_name("x", &NameError::TooLong);
        assert_eq!(e.kind(), ErrorKind::Limit);
    }
}
