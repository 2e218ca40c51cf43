//! A test hook: with `COTE_STORAGE_CRASH_AT=<point>` in its environment, a process kills
//! itself (SIGKILL, as a crash or `kill -9` would) when it reaches that named point of a
//! Maildir or mbox write. The crash tests use it to stop a writer exactly between two steps. The
//! variable is read once; each point then costs one comparison.

use std::sync::OnceLock;

/// The environment variable naming the point.
pub const CRASH_AT_ENV: &str = "COTE_STORAGE_CRASH_AT";

/// The named points, in the order a save, an expunge, a flag change, a uidlist rewrite and
/// a sync reach them.
pub const POINTS: &[&str] = &[
    "save-tmp-written",
    "save-moved",
    "save-uid-assigned",
    "expunge-unlinked",
    "expunge-uidlist-written",
    "flags-renamed",
    "uidlist-rewrite-written",
    "sync-uids-assigned",
    "mbox-headers-in-place",
    "mbox-rewrite-data-written",
    "mbox-rewrite-journal-start",
    "mbox-rewrite-prepared",
    "mbox-rewrite-journal-copy",
    "mbox-rewrite-copied",
    "mbox-rewrite-truncated",
    "mbox-expunge-written",
    "mbox-save-appended",
];

/// Kills this process when `name` is the configured crash point.
pub fn point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var(CRASH_AT_ENV).ok());
    if at.as_deref() == Some(name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
