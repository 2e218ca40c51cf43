//! Telling a dead holder from a live one on another host. A dotlock names its holder as
//! `pid:host`, and only the holder's own host can ask whether that pid lives: everywhere else
//! Dovecot waits for the stale timeout (two minutes for `dovecot-uidlist.lock`) after a node
//! crashed holding one, and every other node is kept off that mailbox meanwhile.
//!
//! cote's holders also keep an open-file-description `fcntl` lock on the lock file for as long
//! as they hold it, and say so on a second line of the content. Shared filesystems release
//! record locks when the holder dies (at once on GlusterFS when the process is killed; after
//! the lease or ping timeout when the whole client host is gone), so a waiter anywhere that
//! finds the mark but no record lock knows the holder is dead. The lock is taken before the
//! mark is written and dropped only after the lock file is unlinked, so a live holder is never
//! seen without it. Locks without the mark (Dovecot's) keep Dovecot's rules.

use crate::fs::file::FsFile;
use crate::fs::lock::fcntl::{self, RecordLock};
use crate::fs::lock::LockKind;

/// The content's second line when the holder keeps the record lock.
pub(super) const MARK: &str = "cote-fcntl-held";

/// Takes the record lock on a lock file we just created (not yet holding the mark): `None`
/// where this kernel or filesystem has no open-file-description locks, or the attempt fails
/// (the lock then simply carries no mark).
pub(super) fn hold(file: &FsFile) -> Option<RecordLock> {
    if !fcntl::ofd_locks_supported(file) {
        return None;
    }
    match RecordLock::try_lock_owned(file, LockKind::Exclusive, true) {
        Ok(lock) => lock,
        Err(e) => {
            log::debug!("{e}: dotlock without a liveness lock");
            None
        }
    }
}

/// The lock file's content: `pid:host`, plus the mark when `live` is held.
pub(super) fn content(pid: u32, host: &str, live: bool) -> String {
    if live {
        format!("{pid}:{host}\n{MARK}\n")
    } else {
        format!("{pid}:{host}")
    }
}

/// Whether anyone holds a record lock on the (marked) lock file at `file`: `Some(false)`
/// means its holder is dead. `None` when the filesystem cannot tell.
pub(super) fn holder_alive(file: &FsFile) -> Option<bool> {
    if !fcntl::ofd_locks_supported(file) {
        return None;
    }
    fcntl::is_locked(file, LockKind::Exclusive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::perms::CreatePerms;

    #[test]
    fn a_held_lock_is_alive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let file = FsFile::create_excl(&path, &CreatePerms::default()).unwrap();
        let live = hold(&file).expect("OFD locks on a local filesystem");
        // Another open of the same file (as a waiter on another host would have) sees it.
        let other = FsFile::open_read(&path).unwrap();
        assert_eq!(holder_alive(&other), Some(true));
        drop(live);
        assert_eq!(holder_alive(&other), Some(false));
        assert_eq!(content(7, "h", true), "7:h\ncote-fcntl-held\n");
        assert_eq!(content(7, "h", false), "7:h");
    }
}
