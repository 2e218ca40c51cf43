//! The fs layer's error type: every failure names the operation and the path(s), so one log
//! line says what went wrong where (`rename(/a, /b) failed: No such file or directory`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::errtext::os_error_text;

/// Result of an fs operation.
pub type FsResult<T> = Result<T, FsError>;

/// The system call (or fs-level operation) that failed; displays as the call's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsOp {
    Open,
    Create,
    Stat,
    Lstat,
    Fstat,
    Read,
    Write,
    Readdir,
    Rename,
    Link,
    Unlink,
    Mkdir,
    Rmdir,
    Utime,
    Truncate,
    Fsync,
    Fdatasync,
    Chmod,
    Chown,
    Fcntl,
    Flock,
    Mmap,
    Gethostname,
    /// inotify: starting to watch a directory, or reading its events.
    Watch,
}

impl FsOp {
    /// The call's name as Dovecot's messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            FsOp::Open | FsOp::Create => "open",
            FsOp::Stat => "stat",
            FsOp::Lstat => "lstat",
            FsOp::Fstat => "fstat",
            FsOp::Read => "read",
            FsOp::Write => "write",
            FsOp::Readdir => "readdir",
            FsOp::Rename => "rename",
            FsOp::Link => "link",
            FsOp::Unlink => "unlink",
            FsOp::Mkdir => "mkdir",
            FsOp::Rmdir => "rmdir",
            FsOp::Utime => "utime",
            FsOp::Truncate => "ftruncate",
            FsOp::Fsync => "fsync",
            FsOp::Fdatasync => "fdatasync",
            FsOp::Chmod => "chmod",
            FsOp::Chown => "chown",
            FsOp::Fcntl => "fcntl",
            FsOp::Flock => "flock",
            FsOp::Mmap => "mmap",
            FsOp::Gethostname => "gethostname",
            FsOp::Watch => "inotify_add_watch",
        }
    }
}

impl fmt::Display for FsOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who holds a lock we could not get, as far as we can tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockHolder {
    /// The holder's process id (from a dotlock's content, `F_GETLK` or `/proc/locks`).
    pub pid: Option<i32>,
    /// The holder's host name (from a dotlock's content; ours for a lock found in
    /// `/proc/locks`).
    pub host: Option<String>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.pid, &self.host) {
            (Some(pid), Some(host)) => write!(f, "{pid}:{host}"),
            (Some(pid), None) => write!(f, "pid {pid}"),
            (None, Some(host)) => write!(f, "a process on {host}"),
            (None, None) => f.write_str("unknown holder"),
        }
    }
}

/// An fs-layer failure.
#[derive(Debug)]
pub enum FsError {
    /// A system call on `path` failed (after ESTALE retries, where they apply).
    Io {
        op: FsOp,
        path: PathBuf,
        source: io::Error,
    },
    /// A two-path call (`rename`, `link`) failed.
    Io2 {
        op: FsOp,
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    /// A lock wait reached its deadline.
    LockTimeout {
        /// The lock file (dotlock) or the locked file (fcntl/flock).
        path: PathBuf,
        holder: Option<LockHolder>,
        waited: Duration,
    },
    /// A lock we held was deleted or replaced by someone else before we were done with it.
    LockLost { path: PathBuf, overridden: bool },
    /// The system host name (or `DOVECOT_HOSTNAME`) is empty or contains `/`, CR, LF or TAB.
    InvalidHostname(String),
    /// Data on disk that fs itself interprets (a read past the end of a snapshot, ...) is not
    /// what it must be.
    Invalid { path: PathBuf, reason: String },
    /// A code path that is not implemented yet: never a silent success.
    Unsupported { what: &'static str, path: PathBuf },
    /// A locked read still got less than the server's length after waiting: the client's
    /// caches keep data another host wrote from us (a shared mount with long cache timeouts).
    StaleData {
        path: PathBuf,
        got: u64,
        expected: u64,
        waited: Duration,
    },
}

impl FsError {
    pub(crate) fn io(op: FsOp, path: &Path, source: io::Error) -> FsError {
        FsError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn io2(op: FsOp, from: &Path, to: &Path, source: io::Error) -> FsError {
        FsError::Io2 {
            op,
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        }
    }

    /// The OS error number, when the failure was a system call.
    pub fn errno(&self) -> Option<i32> {
        self.io_error().and_then(io::Error::raw_os_error)
    }

    /// The underlying OS error, when the failure was a system call.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            FsError::Io { source, .. } | FsError::Io2 { source, .. } => Some(source),
            _ => None,
        }
    }

    /// ENOENT (or ENOTDIR on a path component, which Dovecot treats alike).
    pub fn is_not_found(&self) -> bool {
        matches!(self.errno(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
    }

    /// EEXIST (an exclusive create or a link lost the race; mkdir of an existing dir).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// ESTALE that survived the retries (or from `fstat` of an open file: it was replaced),
    /// or data the client's caches kept stale.
    pub fn is_stale(&self) -> bool {
        self.errno() == Some(libc::ESTALE) || matches!(self, FsError::StaleData { .. })
    }

    /// Out of space or quota (EDQUOT/ENOSPC): the caller reports "quota exceeded".
    pub fn is_no_space(&self) -> bool {
        matches!(self.errno(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
    }

    /// EACCES / EPERM.
    pub fn is_permission(&self) -> bool {
        matches!(self.errno(), Some(libc::EACCES) | Some(libc::EPERM))
    }

    /// A lock wait that timed out.
    pub fn is_lock_timeout(&self) -> bool {
        matches!(self, FsError::LockTimeout { .. })
    }

    /// The (first) path the error is about.
    pub fn path(&self) -> Option<&Path> {
        match self {
            FsError::Io { path, .. }
            | FsError::LockTimeout { path, .. }
            | FsError::LockLost { path, .. }
            | FsError::Invalid { path, .. }
            | FsError::Unsupported { path, .. }
            | FsError::StaleData { path, .. } => Some(path),
            FsError::Io2 { from, .. } => Some(from),
            FsError::InvalidHostname(_) => None,
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Io { op, path, source } => write!(
                f,
                "{op}({}) failed: {}",
                path.display(),
                os_error_text(source)
            ),
            FsError::Io2 {
                op,
                from,
                to,
                source,
            } => write!(
                f,
                "{op}({}, {}) failed: {}",
                from.display(),
                to.display(),
                os_error_text(source)
            ),
            FsError::LockTimeout {
                path,
                holder,
                waited,
            } => {
                write!(
                    f,
                    "Timeout ({:.1}s) while waiting for lock {}",
                    waited.as_secs_f64(),
                    path.display()
                )?;
                match holder {
                    Some(holder) => write!(f, " held by {holder}"),
                    None => Ok(()),
                }
            }
            FsError::LockLost { path, overridden } => write!(
                f,
                "Our lock {} was {} before we released it",
                path.display(),
                if *overridden { "overridden" } else { "deleted" }
            ),
            FsError::InvalidHostname(name) => write!(f, "Invalid system hostname: '{name}'"),
            FsError::Invalid { path, reason } => write!(f, "{}: {reason}", path.display()),
            FsError::Unsupported { what, path } => write!(
                f,
                "{what} is not implemented by cote yet (path {})",
                path.display()
            ),
            FsError::StaleData {
                path,
                got,
                expected,
                waited,
            } => write!(
                f,
                "read({}) failed: the file has {expected} bytes on the server but this host's \
                 caches still show {got} after {:.1}s (mount with shorter attribute/data cache \
                 timeouts, or serve each user from one host)",
                path.display(),
                waited.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for FsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FsError::Io { source, .. } | FsError::Io2 { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_call_path_and_os_text() {
        let e = FsError::io(
            FsOp::Open,
            Path::new("/x/y"),
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(
            e.to_string(),
            "open(/x/y) failed: No such file or directory"
        );
        assert!(e.is_not_found());
        let e = FsError::io2(
            FsOp::Rename,
            Path::new("/a"),
            Path::new("/b"),
            io::Error::from_raw_os_error(libc::EEXIST),
        );
        assert_eq!(e.to_string(), "rename(/a, /b) failed: File exists");
    }

    #[test]
    fn lock_timeout_names_holder_and_wait() {
        let e = FsError::LockTimeout {
            path: PathBuf::from("/m/dovecot-uidlist.lock"),
            holder: Some(LockHolder {
                pid: Some(42),
                host: Some("mx1".into()),
            }),
            waited: Duration::from_millis(2500),
        };
        assert_eq!(
            e.to_string(),
            "Timeout (2.5s) while waiting for lock /m/dovecot-uidlist.lock held by 42:mx1"
        );
        assert!(e.is_lock_timeout());
    }
}
