//! The only code in cote that opens, locks, renames, links, unlinks or maps shared files
//! (DESIGN.md §2, §4). Everything above it (Maildir, index files) goes through here, so the
//! shared-disk rules are applied in one place:
//!
//! - [`FsPolicy`]: `mail_fsync`, `mail_nfs_storage`/`mail_nfs_index`, `lock_method`,
//!   `dotlock_use_excl`, `mail_max_lock_timeout`, `mmap_disable`, from the configuration.
//! - [`ops`] and [`FsFile`]: path operations and positioned I/O, each retrying ESTALE
//!   ([`estale`]) and failing with an [`FsError`] that names the call and the path.
//! - [`nfs`]: attribute, directory-handle, data and write cache flushes (no-ops unless the
//!   file kind's `mail_nfs_*` flag is set).
//! - [`atomic`]: temp file + fsync + rename (+ directory fsync).
//! - [`lock`]: fcntl (OFD), flock and dotlocks, with deadlines and no `alarm()`.
//! - [`clock`]: the file server's time, skew logging, a wall clock that never goes back.
//! - [`view`]: index files as bytes, mapped or read per `mmap_disable`.
//! - [`sharedfs`]: which filesystems other hosts may share (statfs), where the cross-host
//!   flushes apply whatever `mail_nfs_*` says.
//! - [`probe`]: what a file system really does (locks, mmap, caches), for `coteadm fs-check`.
//! - [`watch`]: inotify on directories, to wake IDLE on this host's changes.

pub mod atomic;
pub mod clock;
pub mod error;
pub mod estale;
pub mod file;
pub mod lock;
pub mod nfs;
pub mod ops;
pub mod perms;
pub mod policy;
pub mod privileged;
pub mod probe;
mod random;
pub mod sharedfs;
pub mod view;
pub mod watch;

pub use atomic::{replace_file, AtomicFile, TempName};
pub use error::{FsError, FsOp, FsResult, LockHolder};
pub use file::FsFile;
pub use lock::dotlock::{DotLock, DotLockSettings, LockProgress, ReleaseOutcome};
pub use lock::fcntl::RecordLock;
pub use lock::flock::FlockLock;
pub use lock::lockfile::LockFile;
pub use lock::{FileLock, LockKind, LockRequest};
pub use nfs::{NfsCache, STALE_DATA_WAIT};
pub use perms::CreatePerms;
pub use policy::{FileKind, FsPolicy, FsyncMode, LockMethod, SyncPoint};
pub use view::{FileIdentity, FileView, Refresh, ViewMode};
pub use watch::DirWatch;

/// This host's name (`crate::hostname`), as an fs error when the system's name is unusable.
pub(crate) fn hostname() -> FsResult<&'static str> {
    crate::hostname::hostname().map_err(FsError::InvalidHostname)
}
