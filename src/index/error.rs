//! Errors of the index layer.

use std::fmt;
use std::path::PathBuf;

use crate::fs::FsError;

/// Why an index operation failed.
#[derive(Debug)]
pub enum IndexError {
    /// An index file is missing, foreign, or damaged: the caller rebuilds the index from the
    /// truth (uidlist + message files). Already logged once, with path and offset.
    NeedsRebuild { path: PathBuf, reason: String },
    /// The storage's UIDVALIDITY differs from the index's: the mailbox was recreated.
    UidValidityChanged { index: u32, storage: u32 },
    /// An append below the index's next UID: appends must be committed in UID order.
    UidOrder { uid: u32, next_uid: u32 },
    /// A request the index cannot hold (bad keyword name, too many keywords, oversized key).
    Invalid(String),
    /// A file operation failed (the error names the call and the path).
    Fs(FsError),
}

impl From<FsError> for IndexError {
    fn from(e: FsError) -> IndexError {
        IndexError::Fs(e)
    }
}

impl IndexError {
    pub(crate) fn invalid(reason: impl Into<String>) -> IndexError {
        IndexError::Invalid(reason.into())
    }

    /// A file was replaced under an open handle (ESTALE), or a shared mount's caches kept
    /// another host's data from us.
    pub fn is_stale(&self) -> bool {
        matches!(self, IndexError::Fs(e) if e.is_stale())
    }
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexError::NeedsRebuild { path, reason } => {
                write!(f, "Index file {} must be rebuilt: {reason}", path.display())
            }
            IndexError::UidValidityChanged { index, storage } => write!(
                f,
                "UIDVALIDITY changed from {index} (index) to {storage} (storage)"
            ),
            IndexError::UidOrder { uid, next_uid } => write!(
                f,
                "append of UID {uid} below the index's next UID {next_uid}"
            ),
            IndexError::Invalid(reason) => write!(f, "Invalid index change: {reason}"),
            IndexError::Fs(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for IndexError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IndexError::Fs(e) => Some(e),
            _ => None,
        }
    }
}
